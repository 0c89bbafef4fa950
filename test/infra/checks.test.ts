import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { addDeployChecks } from '../../infra/checks';
import { WAF_COUNTED_BODY_RULES } from '../../infra/constructs/web-front';
import { DEFAULT_BACKUP_RETENTION_DAYS, DEFAULT_WAF_RATE_LIMIT, readSettings } from '../../infra/settings';
import { METHODS } from '../../shared/api/registry';
import { readConfig } from '../../shared/config';
import { type Synthesized, synthesize, testApp } from './synth';

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };

const CERTIFICATE = 'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012';
const KEY_ARN = 'arn:aws:kms:eu-central-1:123456789012:key/12345678-1234-1234-1234-1234567890ab';
const WEB_ACL_ARN = 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/pryv/12345678-1234-1234-1234-1234567890ab';

/** What the pages show and the account policy, as the functions' SERVICE_*, ACCOUNT_DELETION and AUDIT_* variables. */
const BRANDING_AND_POLICY = {
  serviceHome: 'https://example.com/',
  serviceSupport: 'help@example.com',
  serviceTerms: 'https://example.com/terms',
  servicePrivacy: 'https://example.com/privacy',
  serviceLogo: 'https://api.example.com/www/assets/logo.svg',
  serviceAccentColor: '#0a5c36',
  serviceBackgroundColor: '#fafafa',
  accountDeletion: 'adminToken, personalToken',
  auditOnAccountDeletion: 'pseudonymise',
  auditRetentionDays: '730',
  notificationScope: 'user',
  integrity: 'off',
};

/** Every option on, the stack in us-east-1 (where a CloudFront web ACL can be made). */
const ALL_ON = {
  domain: 'api.example.com',
  certificateArn: CERTIFICATE,
  mailFrom: 'noreply@example.com',
  memorySize: '512',
  kmsKey: 'create',
  waf: 'create',
  wafRateLimit: '2000',
  backup: 'daily',
  backupRetentionDays: '90',
  ...BRANDING_AND_POLICY,
};

const problemsOf = (context: Record<string, unknown>, region: string | undefined): string => {
  try {
    readSettings(context, region);
  } catch (error) {
    return (error as Error).message;
  }
  return '';
};

describe('deploy settings (cdk -c name=value)', () => {
  it('reads every setting into the stack properties, with defaults for the optional numbers', () => {
    expect(
      readSettings({ ...ALL_ON, trustedApps: '*@https://app.example.com*', serviceName: 'Pryv Lab', invitationTokens: '*' }, 'us-east-1'),
    ).toEqual({
      publicUrl: 'https://api.example.com',
      customDomain: { domain: 'api.example.com', certificateArn: CERTIFICATE },
      trustedApps: '*@https://app.example.com*',
      serviceName: 'Pryv Lab',
      invitationTokens: '*',
      mailFrom: 'noreply@example.com',
      memorySize: 512,
      kmsKey: { create: true },
      waf: { create: true, rateLimit: 2000 },
      backup: { retentionDays: 90 },
      ...BRANDING_AND_POLICY,
      accountDeletion: 'adminToken,personalToken',
      auditRetentionDays: 730,
      integrity: false,
    });
    expect(readSettings({}, undefined)).toEqual({});
    // On is the default: nothing to pass to the functions.
    expect(readSettings({ integrity: 'on' }, undefined)).toEqual({});
    expect(readSettings({ eventsAnswerCache: 'on' }, undefined)).toEqual({});
    expect(readSettings({ eventsAnswerCache: 'off' }, undefined)).toEqual({ eventsAnswerCache: false });
    // A logo inline (data:), as the pages' CSP allows; without a domain or publicUrl, any https:// logo is taken as given.
    expect(readSettings({ serviceLogo: 'data:image/svg+xml,%3Csvg%3E%3C/svg%3E' }, 'eu-central-1').serviceLogo).toBe(
      'data:image/svg+xml,%3Csvg%3E%3C/svg%3E',
    );
    expect(
      readSettings(
        { serviceLogo: 'https://d111.cloudfront.net/www/assets/logo.svg', serviceSupport: 'https://example.com/help' },
        'eu-central-1',
      ),
    ).toEqual({
      serviceLogo: 'https://d111.cloudfront.net/www/assets/logo.svg',
      serviceSupport: 'https://example.com/help',
    });
    expect(readSettings({ waf: 'create', backup: 'daily' }, 'us-east-1')).toEqual({
      waf: { create: true, rateLimit: DEFAULT_WAF_RATE_LIMIT },
      backup: { retentionDays: DEFAULT_BACKUP_RETENTION_DAYS },
    });
    expect(readSettings({ waf: WEB_ACL_ARN, kmsKey: KEY_ARN }, 'eu-central-1')).toMatchObject({
      waf: { arn: WEB_ACL_ARN },
      kmsKey: { arn: KEY_ARN },
    });
    // CDK's own context (feature flags, lookups) is not taken for a setting.
    expect(
      readSettings(
        { '@aws-cdk/core:stackRelativeExports': true, 'aws:cdk:bundling-stacks': [], 'acknowledged-issue-numbers': [1] },
        'eu-central-1',
      ),
    ).toEqual({});
    expect(readSettings({ publicUrl: 'https://pryv.example.org/' }, 'eu-central-1').publicUrl).toBe('https://pryv.example.org');
    expect(readSettings({ waf: 'off', backup: 'off' }, 'eu-central-1')).toEqual({});
  });

  it.each([
    [{ publicUrl: 'api.example.com' }, 'publicUrl: "api.example.com" is not a URL'],
    [{ publicUrl: 'http://api.example.com' }, 'publicUrl: must be an https:// address'],
    [{ publicUrl: 'https://api.example.com/?x=1' }, 'publicUrl: no query'],
    [{ domain: 'api.example.com' }, 'domain and certificateArn go together'],
    [{ domain: 'api_example', certificateArn: CERTIFICATE }, 'domain: "api_example" is not a host name'],
    [
      { domain: 'api.example.com', certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012' },
      'CloudFront only uses ACM certificates from us-east-1',
    ],
    [{ domain: 'api.example.com', certificateArn: 'arn:aws:iam::123456789012:server-certificate/x' }, 'is not an ACM certificate ARN'],
    [
      { domain: 'api.example.com', certificateArn: CERTIFICATE, publicUrl: 'https://other.example.com' },
      'its host other.example.com is not the domain api.example.com',
    ],
    [{ mailFrom: 'noreply' }, 'mailFrom: "noreply" is not an email address'],
    [{ memorySize: '64' }, 'memorySize: expected a whole number from 128 to 10240'],
    [{ memorySize: '512MB' }, 'memorySize: expected a whole number'],
    [{ kmsKey: 'alias/pryv' }, 'kmsKey: expected "create" or a KMS key ARN'],
    [{ kmsKey: KEY_ARN.replace('eu-central-1', 'us-west-2') }, 'the key is in us-west-2, the stack in eu-central-1'],
    [{ waf: 'on' }, 'waf: expected "off", "create" or a CloudFront web ACL ARN'],
    [{ waf: 'create' }, 'waf: "create" needs the stack in us-east-1'],
    [{ waf: WEB_ACL_ARN.replace(':us-east-1:', ':eu-west-1:') }, 'CloudFront web ACLs live in us-east-1'],
    [{ wafRateLimit: '500' }, 'wafRateLimit: only applies with waf=create'],
    [{ backup: 'weekly' }, 'backup: expected "off" or "daily"'],
    [{ backupRetentionDays: '30' }, 'backupRetentionDays: only applies with backup=daily'],
    [{ backup: 'daily', backupRetentionDays: '0' }, 'backupRetentionDays: expected a whole number from 1'],
    [{ mailfrom: 'noreply@example.com' }, 'mailfrom: not a setting (did you mean mailFrom?)'],
    [{ memorySize: ['512'] }, 'memorySize: expected a single value'],
    [{ serviceTerms: 'example.com/terms' }, 'serviceTerms: expected an http(s):// address'],
    [{ servicePrivacy: 'javascript:alert(1)' }, 'servicePrivacy: expected an http(s):// address'],
    [{ serviceHome: 'ftp://example.com' }, 'serviceHome: expected an http(s):// address'],
    [{ serviceSupport: 'call us' }, 'serviceSupport: expected an http(s):// address or an email address'],
    [{ serviceLogo: 'http://api.example.com/logo.svg' }, 'serviceLogo: expected an https:// address'],
    [
      { serviceLogo: 'https://cdn.example.net/logo.svg', publicUrl: 'https://api.example.com' },
      'the pages load images from their own origin (https://api.example.com)',
    ],
    [{ serviceLogo: `data:image/png;base64,${'A'.repeat(3000)}` }, "a function's environment holds 4 KB in all"],
    [{ serviceAccentColor: 'red' }, 'serviceAccentColor: expected a #rgb or #rrggbb colour'],
    [{ serviceBackgroundColor: '#fafafa; background: url(x)' }, 'serviceBackgroundColor: expected a #rgb or #rrggbb colour'],
    [{ accountDeletion: 'personal' }, 'accountDeletion: expected adminToken, personalToken or both'],
    [{ auditOnAccountDeletion: 'delete' }, 'auditOnAccountDeletion: expected one of erase, keep, pseudonymise'],
    [{ auditRetentionDays: '0' }, 'auditRetentionDays: expected a whole number from 1 to 36500'],
    [{ notificationScope: 'everyone' }, 'notificationScope: expected one of access, user'],
    [{ integrity: 'no' }, 'integrity: expected "on" or "off"'],
    [{ eventsAnswerCache: 'no' }, 'eventsAnswerCache: expected "on" or "off"'],
    [{ auditretentiondays: '30' }, 'did you mean auditRetentionDays?'],
  ])('refuses %j', (context, message) => {
    expect(problemsOf(context, 'eu-central-1')).toContain(message);
  });

  it('checks the region, and lists every problem at once', () => {
    expect(problemsOf({}, 'europe')).toContain('region: "europe" is not an AWS region name');
    expect(problemsOf({ waf: 'create' }, undefined)).toContain('stack region: unknown, set AWS_REGION');
    const message = problemsOf({ memorySize: '1', mailFrom: 'x', backup: 'hourly' }, 'eu-central-1');
    expect(message.startsWith('Invalid deploy settings')).toBe(true);
    for (const name of ['memorySize:', 'mailFrom:', 'backup:']) expect(message).toContain(name);
  });
});

describe('deploy checks', () => {
  it('fail the synth on a rule-pack finding nobody acknowledged, and pass it once acknowledged', () => {
    const findings = (acknowledged: boolean) => {
      const app = testApp({ '@aws-cdk/core:failSynthOnValidationErrors': true });
      addDeployChecks(app);
      const stack = new Stack(app, 'Probe', { env: { account: '123456789012', region: 'eu-central-1' } });
      const bucket = new s3.Bucket(stack, 'Bucket', {
        enforceSSL: true,
        versioned: true,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      });
      if (acknowledged) for (const id of NAGGED_BUCKET_RULES) Validations.of(bucket).acknowledge({ id, reason: 'probe' });
      try {
        app.synth();
        return '';
      } catch (error) {
        return String(error);
      }
    };
    const unacknowledged = findings(false);
    for (const rule of NAGGED_BUCKET_RULES) expect(unacknowledged).toContain(rule);
    expect(findings(true)).toBe('');
  });

  it('fail the synth on a template error (CloudFormation Validate)', () => {
    const app = testApp({ '@aws-cdk/core:failSynthOnValidationErrors': true });
    addDeployChecks(app);
    const stack = new Stack(app, 'Probe', { env: { account: '123456789012', region: 'eu-central-1' } });
    new CfnResource(stack, 'Queue', { type: 'AWS::SQS::Queue', properties: { MessageRetentionPeriods: 60 } });
    expect(() => app.synth()).toThrow(/MessageRetentionPeriods: Additional properties are not allowed/);
  });
});

/** What the packs say of a TLS-only, versioned, private bucket, with nothing else. */
const NAGGED_BUCKET_RULES = [
  'AwsSolutions-S1',
  'HIPAA.Security-S3BucketLoggingEnabled',
  'HIPAA.Security-S3BucketReplicationEnabled',
  'HIPAA.Security-S3DefaultEncryptionKMS',
];

/** The acknowledgments recorded under a construct: [construct path, rule, reason]. */
function acknowledgments(root: IConstruct): Array<[string, string, string]> {
  return root.node
    .findAll()
    .flatMap((c) =>
      c.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) =>
          Object.entries(m.data as Record<string, string>).map(([rule, reason]): [string, string, string] => [
            c.node.path,
            rule.replace(/^annotation::/i, ''),
            reason,
          ]),
        ),
    );
}

describe('every option on (custom domain, KMS key, WAF, backups, mail), in us-east-1', () => {
  let all: Synthesized;
  let resources: Record<string, Resource>;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

  beforeAll(() => {
    all = synthesize(ALL_ON, 'us-east-1', 'AllOn');
    resources = all.template.toJSON().Resources;
  }, 600_000);

  it('passes the deploy checks', () => {
    expect(all.findings).toEqual([]);
  });

  it('acknowledges findings on the resources they concern, never stack-wide, each with a one-line reason', () => {
    const acks = acknowledgments(all.stack.node.root);
    expect(acks.length).toBeGreaterThan(100);
    for (const [path, rule, reason] of acks) {
      expect(path.split('/').length, `${rule} on ${path}`).toBeGreaterThan(1); // not the app nor the stack
      expect(rule, path).toMatch(/^(AwsSolutions|HIPAA\.Security)-[A-Za-z0-9]+(\[.+\])?$/);
      expect(reason.length, `${rule} on ${path}`).toBeGreaterThan(20);
      expect(reason.length, `${rule} on ${path}`).toBeLessThanOrEqual(160);
      expect(reason, `${rule} on ${path}`).not.toMatch(/\n/);
    }
    // With a customer-managed key, no encryption finding needs accepting.
    expect(acks.filter(([, rule]) => /KMS|Encrypted|UsingKMSKey/.test(rule)).map(([p, r]) => `${r} ${p}`)).toEqual([
      expect.stringMatching(/^HIPAA.Security-S3DefaultEncryptionKMS AllOn\/AccessLogs$/),
      expect.stringMatching(/^HIPAA.Security-S3DefaultEncryptionKMS AllOn\/WebPages$/),
    ]);
  });

  it('gives the branding and account policy settings to every function, which reads them as configured', () => {
    const functions = ofType('AWS::Lambda::Function').filter(([, r]) => String(r.Properties.Description ?? '').startsWith('Pryv '));
    expect(functions.length).toBeGreaterThan(METHODS.length);
    for (const [id, fn] of functions) {
      const variables = fn.Properties.Environment.Variables as Record<string, unknown>;
      expect(variables, id).toMatchObject({
        SERVICE_HOME: 'https://example.com/',
        SERVICE_SUPPORT: 'help@example.com',
        SERVICE_TERMS: 'https://example.com/terms',
        SERVICE_PRIVACY: 'https://example.com/privacy',
        SERVICE_LOGO: 'https://api.example.com/www/assets/logo.svg',
        SERVICE_ACCENT_COLOR: '#0a5c36',
        SERVICE_BACKGROUND_COLOR: '#fafafa',
        ACCOUNT_DELETION: 'adminToken,personalToken',
        AUDIT_ON_ACCOUNT_DELETION: 'pseudonymise',
        AUDIT_RETENTION_DAYS: '730',
        NOTIFICATION_SCOPE: 'user',
        INTEGRITY: 'off',
      });
      // What shared/config.ts makes of the function's environment (the values CloudFormation fills in left out).
      const config = readConfig(
        Object.fromEntries(Object.entries(variables).filter((e): e is [string, string] => typeof e[1] === 'string')),
      );
      expect(config, id).toMatchObject({
        home: 'https://example.com/',
        support: 'help@example.com',
        terms: 'https://example.com/terms',
        privacy: 'https://example.com/privacy',
        branding: { logo: 'https://api.example.com/www/assets/logo.svg', accentColor: '#0a5c36', backgroundColor: '#fafafa' },
        accountDeletion: ['adminToken', 'personalToken'],
        auditOnAccountDeletion: 'pseudonymise',
        auditRetentionDays: 730,
        notificationScope: 'user',
        integrity: false,
      });
    }
  });

  it('makes a rotated, retained KMS key and encrypts the table, bucket, secrets, log groups and vault with it', () => {
    const keys = ofType('AWS::KMS::Key');
    expect(keys).toHaveLength(1);
    const [keyId, key] = keys[0]!;
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.DeletionPolicy).toBe('Retain');
    const keyArn = { 'Fn::GetAtt': [keyId, 'Arn'] };
    const [, table] = ofType('AWS::DynamoDB::GlobalTable')[0]!;
    expect(table.Properties.SSESpecification).toMatchObject({ SSEEnabled: true, SSEType: 'KMS' });
    expect(table.Properties.Replicas[0].SSESpecification).toEqual({ KMSMasterKeyId: keyArn });
    const attachments = ofType('AWS::S3::Bucket').find(([id]) => id.startsWith('Attachments'))![1];
    expect(attachments.Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
      { BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn } },
    ]);
    for (const [id, secret] of ofType('AWS::SecretsManager::Secret')) expect(secret.Properties.KmsKeyId, id).toEqual(keyArn);
    for (const [id, group] of ofType('AWS::Logs::LogGroup')) expect(group.Properties.KmsKeyId, id).toEqual(keyArn);
    const nested = Object.entries(all.logGroups.toJSON().Resources as Record<string, Resource>).filter(
      ([, r]) => r.Type === 'AWS::Logs::LogGroup',
    );
    // The method functions, 9 others, and 3 of CDK's own (bucket deployment, auto-delete and trigger providers).
    expect(nested).toHaveLength(METHODS.length + 9 + 3);
    // The nested stack gets the key's ARN as a parameter.
    for (const [id, group] of nested) expect(JSON.stringify(group.Properties.KmsKeyId), id).toContain('DataKey');
    expect(ofType('AWS::Backup::BackupVault')[0]![1].Properties.EncryptionKeyArn).toEqual(keyArn);
    // CloudWatch Logs may use the key for this account's log groups only.
    expect(JSON.stringify(key.Properties.KeyPolicy)).toContain('kms:EncryptionContext:aws:logs:arn');
    // Functions may use it, by name, without wildcards.
    const policies = JSON.stringify(ofType('AWS::IAM::Policy').map(([, p]) => p.Properties.PolicyDocument));
    expect(policies).toContain('"kms:GenerateDataKey"');
  });

  it('backs up the table and the bucket daily into a retained vault, kept for the days asked', () => {
    const [, vault] = ofType('AWS::Backup::BackupVault')[0]!;
    expect(vault.DeletionPolicy).toBe('Retain');
    const [planId, plan] = ofType('AWS::Backup::BackupPlan')[0]!;
    const [rule] = plan.Properties.BackupPlan.BackupPlanRule;
    expect(rule).toMatchObject({ ScheduleExpression: 'cron(0 3 * * ? *)', Lifecycle: { DeleteAfterDays: 90 } });
    const [, selection] = ofType('AWS::Backup::BackupSelection')[0]!;
    expect(selection.Properties.BackupPlanId).toEqual({ 'Fn::GetAtt': [planId, 'BackupPlanId'] });
    const selected = JSON.stringify(selection.Properties.BackupSelection.Resources);
    expect(selected).toContain(ofType('AWS::DynamoDB::GlobalTable')[0]![0]);
    expect(selected).toContain(ofType('AWS::S3::Bucket').find(([id]) => id.startsWith('Attachments'))![0]);
    const role = resources[selection.Properties.BackupSelection.IamRoleArn['Fn::GetAtt'][0]]!;
    expect(JSON.stringify(role.Properties.ManagedPolicyArns)).toContain('AWSBackupServiceRolePolicyForS3Backup');
  });

  it('puts a web ACL with AWS managed rules (body rules counted) and a per-IP rate limit on the distribution, logging without tokens', () => {
    const [aclId, acl] = ofType('AWS::WAFv2::WebACL')[0]!;
    expect(acl.Properties.Scope).toBe('CLOUDFRONT');
    const rules = acl.Properties.Rules as Array<Record<string, any>>;
    expect(rules.find((r) => r.Statement.RateBasedStatement)).toMatchObject({
      Action: { Block: {} },
      Statement: { RateBasedStatement: { Limit: 2000, AggregateKeyType: 'IP', EvaluationWindowSec: 300 } },
    });
    const common = rules.find((r) => r.Statement.ManagedRuleGroupStatement?.Name === 'AWSManagedRulesCommonRuleSet')!;
    expect(common.Statement.ManagedRuleGroupStatement.RuleActionOverrides.map((o: { Name: string }) => o.Name)).toEqual(
      WAF_COUNTED_BODY_RULES,
    );
    expect(rules.some((r) => r.Statement.ManagedRuleGroupStatement?.Name === 'AWSManagedRulesKnownBadInputsRuleSet')).toBe(true);
    const [, distribution] = ofType('AWS::CloudFront::Distribution')[0]!;
    expect(distribution.Properties.DistributionConfig.WebACLId).toEqual({ 'Fn::GetAtt': [aclId, 'Arn'] });
    const [, logging] = ofType('AWS::WAFv2::LoggingConfiguration')[0]!;
    expect(logging.Properties.RedactedFields).toEqual([{ SingleHeader: { Name: 'authorization' } }, { QueryString: {} }]);
    const [groupId, group] = ofType('AWS::Logs::LogGroup').find(([id]) =>
      JSON.stringify(logging.Properties.LogDestinationConfigs).includes(`"${id}"`),
    )!;
    expect(JSON.stringify(group.Properties.LogGroupName), groupId).toContain('aws-waf-logs-'); // the only names WAF writes to
    expect(group.DeletionPolicy).toBe('Retain');
  });

  it('answers on the custom domain with its certificate and TLS 1.2 at least, which becomes the public URL', () => {
    const [, distribution] = ofType('AWS::CloudFront::Distribution')[0]!;
    expect(distribution.Properties.DistributionConfig).toMatchObject({
      Aliases: ['api.example.com'],
      ViewerCertificate: { AcmCertificateArn: CERTIFICATE, MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' },
    });
    for (const [id, fn] of ofType('AWS::Lambda::Function').filter(([, r]) => String(r.Properties.Description).startsWith('Pryv ')))
      expect(fn.Properties.Environment.Variables.PUBLIC_URL, id).toBe('https://api.example.com');
  });

  it('stays under 450 resources with everything on (CloudFormation allows 500 per stack)', () => {
    expect(Object.keys(resources).length).toBeLessThan(450);
    expect(Object.keys(all.logGroups.toJSON().Resources).length).toBeLessThan(450);
  });
});

describe('existing KMS key and web ACL, by ARN', () => {
  let arns: Synthesized;
  beforeAll(() => {
    arns = synthesize({ kmsKey: KEY_ARN, waf: WEB_ACL_ARN }, 'eu-central-1', 'ByArn');
  }, 600_000);

  it('passes the deploy checks, uses them without making any, and makes no backup plan unasked', () => {
    expect(arns.findings).toEqual([]);
    const resources = arns.template.toJSON().Resources as Record<string, Resource>;
    const types = Object.values(resources).map((r) => r.Type);
    for (const type of ['AWS::KMS::Key', 'AWS::WAFv2::WebACL', 'AWS::Backup::BackupPlan']) expect(types).not.toContain(type);
    const table = Object.values(resources).find((r) => r.Type === 'AWS::DynamoDB::GlobalTable')!;
    expect(table.Properties.Replicas[0].SSESpecification).toEqual({ KMSMasterKeyId: KEY_ARN });
    const distribution = Object.values(resources).find((r) => r.Type === 'AWS::CloudFront::Distribution')!;
    expect(distribution.Properties.DistributionConfig.WebACLId).toBe(WEB_ACL_ARN);
    expect(JSON.stringify(Object.values(resources).filter((r) => r.Type === 'AWS::IAM::Policy'))).toContain(KEY_ARN);
  });
});
