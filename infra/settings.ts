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
  'invitationTokens',
  'mailFrom',
  'memorySize',
  'kmsKey',
  'waf',
  'wafRateLimit',
  'backup',
  'backupRetentionDays',
  'sourceMaps',
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
const HOSTNAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const EMAIL = /^[^\s@<>()",;:]+@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
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
      if (url.protocol !== 'https:') problems.push(`publicUrl: must be an https:// address (CloudFront serves HTTPS only), got "${publicUrl}"`);
      if (url.search || url.hash || url.username || url.password) problems.push(`publicUrl: no query, fragment or credentials, got "${publicUrl}"`);
      publicUrl = publicUrl.replace(/\/+$/, '');
    }
  }

  const domain = text('domain')?.toLowerCase();
  const certificateArn = text('certificateArn');
  if (domain !== undefined && !HOSTNAME.test(domain)) problems.push(`domain: "${domain}" is not a host name (e.g. api.example.com)`);
  if (certificateArn !== undefined) {
    const match = CERTIFICATE_ARN.exec(certificateArn);
    if (!match) problems.push(`certificateArn: "${certificateArn}" is not an ACM certificate ARN (arn:aws:acm:us-east-1:123456789012:certificate/…)`);
    else if (match[1] !== 'us-east-1')
      problems.push(`certificateArn: the certificate is in ${match[1]}; CloudFront only uses ACM certificates from us-east-1 (request or import it there)`);
  }
  if ((domain === undefined) !== (certificateArn === undefined))
    problems.push('domain and certificateArn go together: CloudFront answers for a domain only with a certificate covering it');
  if (domain !== undefined && publicUrl !== undefined && URL.canParse(publicUrl) && new URL(publicUrl).hostname !== domain)
    problems.push(`publicUrl: its host ${new URL(publicUrl).hostname} is not the domain ${domain}; leave publicUrl unset to use https://${domain}`);

  const mailFrom = text('mailFrom');
  if (mailFrom !== undefined && !EMAIL.test(mailFrom)) problems.push(`mailFrom: "${mailFrom}" is not an email address (a verified SES identity, e.g. noreply@example.com)`);

  const memorySize = integer('memorySize', MEMORY_MB.min, MEMORY_MB.max);

  const kmsKey = text('kmsKey');
  if (kmsKey !== undefined && kmsKey !== 'create') {
    const match = KMS_KEY_ARN.exec(kmsKey);
    if (!match) problems.push(`kmsKey: expected "create" or a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID, not an alias), got "${kmsKey}"`);
    else if (region !== undefined && match[1] !== region) problems.push(`kmsKey: the key is in ${match[1]}, the stack in ${region}; a key encrypts data in its own region only`);
  }

  const waf = text('waf');
  if (waf !== undefined && waf !== 'off' && waf !== 'create') {
    const match = WEB_ACL_ARN.exec(waf);
    if (!match) problems.push(`waf: expected "off", "create" or a CloudFront web ACL ARN (arn:aws:wafv2:us-east-1:ACCOUNT:global/webacl/NAME/ID), got "${waf}"`);
    else if (match[1] !== 'us-east-1') problems.push(`waf: the web ACL is in ${match[1]}; CloudFront web ACLs live in us-east-1`);
  }
  if (waf === 'create' && region !== 'us-east-1')
    problems.push(
      `waf: "create" needs the stack in us-east-1, where CloudFront web ACLs live (stack region: ${region ?? 'unknown, set AWS_REGION'}); elsewhere create the web ACL in us-east-1 and pass its ARN`,
    );
  const wafRateLimit = integer('wafRateLimit', 100, 2_000_000_000);
  if (wafRateLimit !== undefined && waf !== 'create') problems.push('wafRateLimit: only applies with waf=create (the rule of a web ACL made by the stack)');

  const backup = text('backup');
  if (backup !== undefined && backup !== 'off' && backup !== 'daily') problems.push(`backup: expected "off" or "daily", got "${backup}"`);
  const backupRetentionDays = integer('backupRetentionDays', 1, 36_500);
  if (backupRetentionDays !== undefined && backup !== 'daily') problems.push('backupRetentionDays: only applies with backup=daily');

  const sourceMaps = text('sourceMaps');
  if (sourceMaps !== undefined && sourceMaps !== 'on' && sourceMaps !== 'off' && sourceMaps !== 'true' && sourceMaps !== 'false')
    problems.push(`sourceMaps: expected "on" or "off", got "${sourceMaps}"`);

  if (problems.length > 0) throw new Error(`Invalid deploy settings (cdk -c name=value):\n  - ${problems.join('\n  - ')}`);

  const settings: StackSettings = {
    publicUrl: publicUrl ?? (domain !== undefined ? `https://${domain}` : undefined),
    customDomain: domain !== undefined && certificateArn !== undefined ? { domain, certificateArn } : undefined,
    trustedApps: text('trustedApps'),
    serviceName: text('serviceName'),
    invitationTokens: text('invitationTokens'),
    mailFrom,
    memorySize,
    kmsKey: kmsKey === undefined ? undefined : kmsKey === 'create' ? { create: true } : { arn: kmsKey },
    waf: waf === undefined || waf === 'off' ? undefined : waf === 'create' ? { create: true, rateLimit: wafRateLimit ?? DEFAULT_WAF_RATE_LIMIT } : { arn: waf },
    backup: backup === 'daily' ? { retentionDays: backupRetentionDays ?? DEFAULT_BACKUP_RETENTION_DAYS } : undefined,
    sourceMaps: sourceMaps === 'on' || sourceMaps === 'true' ? true : undefined,
  };
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined)) as StackSettings;
}
