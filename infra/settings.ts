import { ACCOUNT_DELETION_CALLERS, AUDIT_DELETION_MODES, HEX_COLOR, NOTIFICATION_SCOPES } from '../shared/config';
import type { PryvApiStackProps } from './stack';

/**
 * The deploy settings (`cdk synth|deploy -c name=value`), checked before anything is built:
 * a wrong one fails the synth with every problem listed, instead of a half-applied deploy
 * or a service that answers with the wrong URL. The README's "Deploying to AWS" has the table.
 */
export const SETTING_NAMES = [
  'publicUrl',
  'domain',
  'certificateArn',
  'trustedApps',
  'serviceName',
  'serviceHome',
  'serviceSupport',
  'serviceTerms',
  'servicePrivacy',
  'serviceLogo',
  'serviceAccentColor',
  'serviceBackgroundColor',
  'accountDeletion',
  'auditOnAccountDeletion',
  'auditRetentionDays',
  'notificationScope',
  'integrity',
  'eventsAnswerCache',
  'invitationTokens',
  'mailFrom',
  'memorySize',
  'kmsKey',
  'waf',
  'wafRateLimit',
  'backup',
  'backupRetentionDays',
  'sourceMaps',
  'logLevel',
  'logDebugSampleRate',
  'tracing',
  'alarmTopicArn',
] as const;
export type SettingName = (typeof SETTING_NAMES)[number];

/** Context keys CDK itself writes into cdk.json or passes (not ours, not typos). */
const CDK_KEYS = new Set(['acknowledged-issue-numbers']);

/** The settings that are not plain strings, once checked. */
export const DEFAULT_WAF_RATE_LIMIT = 3000; // requests per IP per 5 minutes (about 10 a second)
export const DEFAULT_BACKUP_RETENTION_DAYS = 35; // as long as the table's point-in-time window

export type StackSettings = Omit<PryvApiStackProps, keyof import('aws-cdk-lib').StackProps>;

const ACCOUNT = String.raw`\d{12}`;
const PARTITION = 'aws(?:-cn|-us-gov)?';
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const REGION = /^[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d$/;
const CERTIFICATE_ARN = new RegExp(`^arn:${PARTITION}:acm:([a-z0-9-]+):${ACCOUNT}:certificate/${UUID}$`);
const KMS_KEY_ARN = new RegExp(`^arn:${PARTITION}:kms:([a-z0-9-]+):${ACCOUNT}:key/(?:${UUID}|mrk-[0-9a-f]{32})$`);
const WEB_ACL_ARN = new RegExp(`^arn:${PARTITION}:wafv2:([a-z0-9-]+):${ACCOUNT}:global/webacl/[\\w-]{1,128}/${UUID}$`);
const SNS_TOPIC_ARN = new RegExp(`^arn:${PARTITION}:sns:([a-z0-9-]+):${ACCOUNT}:[\\w-]{1,256}$`);
/** Levels of the functions' logs (shared/log.ts). */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
const HOSTNAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const EMAIL = /^[^\s@<>()",;:]+@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
/** A `data:` logo travels in every function's environment, which Lambda caps at 4 KB in all. */
const MAX_LOGO_CHARS = 2000;
/** Lambda's memory range, in MB. */
const MEMORY_MB = { min: 128, max: 10_240 };

/**
 * Reads the settings from a context getter (the app's `node.tryGetContext`), with the
 * stack's region when known (from the CLI's profile), and checks each and their
 * combinations. Throws one error listing every problem.
 */
export function readSettings(context: Record<string, unknown>, region: string | undefined): StackSettings {
  const problems: string[] = [];
  const text = (name: SettingName): string | undefined => {
    const value = context[name];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      problems.push(`${name}: expected a single value, got ${JSON.stringify(value)}`);
      return undefined;
    }
    return String(value).trim();
  };
  const integer = (name: SettingName, min: number, max: number): number | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      problems.push(`${name}: expected a whole number from ${min} to ${max}, got "${value}"`);
      return undefined;
    }
    return Number(value);
  };

  for (const key of Object.keys(context)) {
    if (/[:@/]/.test(key) || CDK_KEYS.has(key) || (SETTING_NAMES as readonly string[]).includes(key)) continue;
    const near = SETTING_NAMES.find((name) => name.toLowerCase() === key.toLowerCase());
    problems.push(`${key}: not a setting${near ? ` (did you mean ${near}?)` : ''}; the settings are ${SETTING_NAMES.join(', ')}`);
  }

  if (region !== undefined && !REGION.test(region)) problems.push(`region: "${region}" is not an AWS region name (e.g. eu-central-1)`);

  let publicUrl = text('publicUrl');
  if (publicUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(publicUrl);
    } catch {
      problems.push(`publicUrl: "${publicUrl}" is not a URL (e.g. https://api.example.com)`);
    }
    if (url) {
      if (url.protocol !== 'https:')
        problems.push(`publicUrl: must be an https:// address (CloudFront serves HTTPS only), got "${publicUrl}"`);
      if (url.search || url.hash || url.username || url.password)
        problems.push(`publicUrl: no query, fragment or credentials, got "${publicUrl}"`);
      publicUrl = publicUrl.replace(/\/+$/, '');
    }
  }

  const domain = text('domain')?.toLowerCase();
  const certificateArn = text('certificateArn');
  if (domain !== undefined && !HOSTNAME.test(domain)) problems.push(`domain: "${domain}" is not a host name (e.g. api.example.com)`);
  if (certificateArn !== undefined) {
    const match = CERTIFICATE_ARN.exec(certificateArn);
    if (!match)
      problems.push(`certificateArn: "${certificateArn}" is not an ACM certificate ARN (arn:aws:acm:us-east-1:123456789012:certificate/…)`);
    else if (match[1] !== 'us-east-1')
      problems.push(
        `certificateArn: the certificate is in ${match[1]}; CloudFront only uses ACM certificates from us-east-1 (request or import it there)`,
      );
  }
  if ((domain === undefined) !== (certificateArn === undefined))
    problems.push('domain and certificateArn go together: CloudFront answers for a domain only with a certificate covering it');
  if (domain !== undefined && publicUrl !== undefined && URL.canParse(publicUrl) && new URL(publicUrl).hostname !== domain)
    problems.push(
      `publicUrl: its host ${new URL(publicUrl).hostname} is not the domain ${domain}; leave publicUrl unset to use https://${domain}`,
    );

  const mailFrom = text('mailFrom');
  if (mailFrom !== undefined && !EMAIL.test(mailFrom))
    problems.push(`mailFrom: "${mailFrom}" is not an email address (a verified SES identity, e.g. noreply@example.com)`);

  const memorySize = integer('memorySize', MEMORY_MB.min, MEMORY_MB.max);

  // What the pages and service info show (shared/config.ts reads them in every function).
  const publicOrigin =
    publicUrl !== undefined && URL.canParse(publicUrl) ? new URL(publicUrl).origin : domain !== undefined ? `https://${domain}` : undefined;
  const isWebAddress = (value: string) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol);
  const webAddress = (name: SettingName): string | undefined => {
    const value = text(name);
    if (value !== undefined && !isWebAddress(value)) problems.push(`${name}: expected an http(s):// address, got "${value}"`);
    return value;
  };
  const serviceHome = webAddress('serviceHome');
  const serviceTerms = webAddress('serviceTerms');
  const servicePrivacy = webAddress('servicePrivacy');
  const serviceSupport = text('serviceSupport');
  if (serviceSupport !== undefined && !EMAIL.test(serviceSupport.replace(/^mailto:/, '')) && !isWebAddress(serviceSupport))
    problems.push(`serviceSupport: expected an http(s):// address or an email address, got "${serviceSupport}"`);
  const serviceLogo = text('serviceLogo');
  if (serviceLogo !== undefined && serviceLogo.length > MAX_LOGO_CHARS) {
    problems.push(
      `serviceLogo: ${serviceLogo.length} characters; a function's environment holds 4 KB in all, so keep it under ${MAX_LOGO_CHARS} (a larger logo goes in shared/web/www/assets/, named by its https:// address)`,
    );
  } else if (serviceLogo !== undefined) {
    // The pages' CSP loads images from their own origin and data: URLs only.
    if (/^data:image\/[a-z0-9.+-]+[;,]/i.test(serviceLogo)) {
      // an inline image: shown as it is
    } else if (!URL.canParse(serviceLogo) || new URL(serviceLogo).protocol !== 'https:') {
      problems.push(
        `serviceLogo: expected an https:// address on the service's own origin or a data:image/… URL, got "${serviceLogo.slice(0, 80)}"`,
      );
    } else if (publicOrigin !== undefined && new URL(serviceLogo).origin !== publicOrigin) {
      problems.push(`serviceLogo: the pages load images from their own origin (${publicOrigin}) or data: URLs only, got "${serviceLogo}"`);
    }
  }
  const colour = (name: SettingName): string | undefined => {
    const value = text(name);
    if (value !== undefined && !HEX_COLOR.test(value)) problems.push(`${name}: expected a #rgb or #rrggbb colour, got "${value}"`);
    return value;
  };
  const serviceAccentColor = colour('serviceAccentColor');
  const serviceBackgroundColor = colour('serviceBackgroundColor');

  // Who may erase an account, and what erasure and time do to the audit log.
  const accountDeletion = text('accountDeletion');
  if (accountDeletion !== undefined) {
    const callers = accountDeletion.split(',').map((c) => c.trim());
    const wrong = callers.filter((c) => !(ACCOUNT_DELETION_CALLERS as readonly string[]).includes(c));
    if (wrong.length > 0 || callers.length === 0)
      problems.push(`accountDeletion: expected ${ACCOUNT_DELETION_CALLERS.join(', ')} or both (comma-separated), got "${accountDeletion}"`);
  }
  const auditOnAccountDeletion = text('auditOnAccountDeletion');
  if (auditOnAccountDeletion !== undefined && !(AUDIT_DELETION_MODES as readonly string[]).includes(auditOnAccountDeletion))
    problems.push(`auditOnAccountDeletion: expected one of ${AUDIT_DELETION_MODES.join(', ')}, got "${auditOnAccountDeletion}"`);
  const auditRetentionDays = integer('auditRetentionDays', 1, 36_500);
  const notificationScope = text('notificationScope');
  if (notificationScope !== undefined && !(NOTIFICATION_SCOPES as readonly string[]).includes(notificationScope))
    problems.push(`notificationScope: expected one of ${NOTIFICATION_SCOPES.join(', ')}, got "${notificationScope}"`);
  const integrity = text('integrity');
  if (integrity !== undefined && integrity !== 'on' && integrity !== 'off')
    problems.push(`integrity: expected "on" or "off", got "${integrity}"`);
  const eventsAnswerCache = text('eventsAnswerCache');
  if (eventsAnswerCache !== undefined && eventsAnswerCache !== 'on' && eventsAnswerCache !== 'off')
    problems.push(`eventsAnswerCache: expected "on" or "off", got "${eventsAnswerCache}"`);

  const kmsKey = text('kmsKey');
  if (kmsKey !== undefined && kmsKey !== 'create') {
    const match = KMS_KEY_ARN.exec(kmsKey);
    if (!match)
      problems.push(`kmsKey: expected "create" or a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID, not an alias), got "${kmsKey}"`);
    else if (region !== undefined && match[1] !== region)
      problems.push(`kmsKey: the key is in ${match[1]}, the stack in ${region}; a key encrypts data in its own region only`);
  }

  const waf = text('waf');
  if (waf !== undefined && waf !== 'off' && waf !== 'create') {
    const match = WEB_ACL_ARN.exec(waf);
    if (!match)
      problems.push(
        `waf: expected "off", "create" or a CloudFront web ACL ARN (arn:aws:wafv2:us-east-1:ACCOUNT:global/webacl/NAME/ID), got "${waf}"`,
      );
    else if (match[1] !== 'us-east-1') problems.push(`waf: the web ACL is in ${match[1]}; CloudFront web ACLs live in us-east-1`);
  }
  if (waf === 'create' && region !== 'us-east-1')
    problems.push(
      `waf: "create" needs the stack in us-east-1, where CloudFront web ACLs live (stack region: ${region ?? 'unknown, set AWS_REGION'}); elsewhere create the web ACL in us-east-1 and pass its ARN`,
    );
  const wafRateLimit = integer('wafRateLimit', 100, 2_000_000_000);
  if (wafRateLimit !== undefined && waf !== 'create')
    problems.push('wafRateLimit: only applies with waf=create (the rule of a web ACL made by the stack)');

  const backup = text('backup');
  if (backup !== undefined && backup !== 'off' && backup !== 'daily') problems.push(`backup: expected "off" or "daily", got "${backup}"`);
  const backupRetentionDays = integer('backupRetentionDays', 1, 36_500);
  if (backupRetentionDays !== undefined && backup !== 'daily') problems.push('backupRetentionDays: only applies with backup=daily');

  const sourceMaps = text('sourceMaps');
  if (sourceMaps !== undefined && sourceMaps !== 'on' && sourceMaps !== 'off' && sourceMaps !== 'true' && sourceMaps !== 'false')
    problems.push(`sourceMaps: expected "on" or "off", got "${sourceMaps}"`);

  // Logs, tracing and alarms (README "Operating it: logs, metrics, alarms").
  const logLevel = text('logLevel')?.toLowerCase();
  if (logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(logLevel))
    problems.push(`logLevel: expected one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  const logDebugSampleRate = text('logDebugSampleRate');
  if (logDebugSampleRate !== undefined && !(/^(0(\.\d+)?|1(\.0+)?)$/.test(logDebugSampleRate) && Number(logDebugSampleRate) <= 1))
    problems.push(`logDebugSampleRate: expected a share of calls from 0 to 1 (e.g. 0.01), got "${logDebugSampleRate}"`);
  const tracing = text('tracing');
  if (tracing !== undefined && tracing !== 'on' && tracing !== 'off') problems.push(`tracing: expected "on" or "off", got "${tracing}"`);
  const alarmTopicArn = text('alarmTopicArn');
  if (alarmTopicArn !== undefined) {
    const match = SNS_TOPIC_ARN.exec(alarmTopicArn);
    if (!match) problems.push(`alarmTopicArn: expected an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME), got "${alarmTopicArn}"`);
    else if (region !== undefined && match[1] !== region)
      problems.push(
        `alarmTopicArn: the topic is in ${match[1]}, the stack in ${region}; CloudWatch alarms notify topics of their own region`,
      );
  }

  if (problems.length > 0) throw new Error(`Invalid deploy settings (cdk -c name=value):\n  - ${problems.join('\n  - ')}`);

  const settings: StackSettings = {
    publicUrl: publicUrl ?? (domain !== undefined ? `https://${domain}` : undefined),
    customDomain: domain !== undefined && certificateArn !== undefined ? { domain, certificateArn } : undefined,
    trustedApps: text('trustedApps'),
    serviceName: text('serviceName'),
    serviceHome,
    serviceSupport,
    serviceTerms,
    servicePrivacy,
    serviceLogo,
    serviceAccentColor,
    serviceBackgroundColor,
    accountDeletion: accountDeletion
      ?.split(',')
      .map((c) => c.trim())
      .join(','),
    auditOnAccountDeletion: auditOnAccountDeletion as StackSettings['auditOnAccountDeletion'],
    auditRetentionDays,
    notificationScope: notificationScope as StackSettings['notificationScope'],
    integrity: integrity === 'off' ? false : undefined,
    eventsAnswerCache: eventsAnswerCache === 'off' ? false : undefined,
    invitationTokens: text('invitationTokens'),
    mailFrom,
    memorySize,
    kmsKey: kmsKey === undefined ? undefined : kmsKey === 'create' ? { create: true } : { arn: kmsKey },
    waf:
      waf === undefined || waf === 'off'
        ? undefined
        : waf === 'create'
          ? { create: true, rateLimit: wafRateLimit ?? DEFAULT_WAF_RATE_LIMIT }
          : { arn: waf },
    backup: backup === 'daily' ? { retentionDays: backupRetentionDays ?? DEFAULT_BACKUP_RETENTION_DAYS } : undefined,
    sourceMaps: sourceMaps === 'on' || sourceMaps === 'true' ? true : undefined,
    logLevel,
    logDebugSampleRate: logDebugSampleRate === undefined ? undefined : Number(logDebugSampleRate),
    tracing: tracing === 'on' ? true : undefined,
    alarmTopicArn,
  };
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined)) as StackSettings;
}
