/**
 * Settings, read from the environment once per process (a Lambda container or the local
 * runtime). Every setting has a documented default (README "Configuration").
 */
export const API_VERSION = '1.9.3'; // the Pryv v1 line our clients target (spec §0)
export const SESSION_MAX_AGE_S = 14 * 24 * 3600; // Pryv's auth.sessionMaxAge default: 14 days, sliding
export const PASSWORD_MIN_LENGTH = 6; // spec §8
export const PASSWORD_MAX_LENGTH = 100; // spec §8
export const WEBHOOK_RUNS_SIZE = 20; // Pryv `webhooks.runsSize`: runs kept per webhook, newest first (spec §3.6)
export const WEBHOOK_CALL_TIMEOUT_MS = 5000; // one call to a webhook URL (webhooks.test, delivery)

/** Origins that Pryv's own apps and the `pryv` library's test suite send, plus local development. */
export const DEFAULT_TRUSTED_APPS = [
  '*@http://127.0.0.1*',
  '*@http://localhost*',
  '*@https://localhost*',
  '*@https://*.rec.la*',
  '*@https://*.backloop.dev*',
  '*@https://pryv.github.io*',
  '*@https://*.pryv.me*',
  '*@https://*.pryv.io*',
  '*@https://*.pryv.li*',
].join(',');

export interface Config {
  publicUrl: string; // without trailing slash
  serviceName: string;
  serial: string;
  home: string;
  support: string;
  terms: string;
  eventTypesUrl: string;
  trustedApps: string;
  sessionMaxAgeS: number;
  /** `null` = any token accepted, `[]` = none, list = must match (Pryv `invitationTokens`). */
  invitationTokens: string[] | null;
  /** Who may call `DELETE /users/{username}`: Pryv's `user-account.delete`. */
  accountDeletion: Array<'adminToken' | 'personalToken'>;
  tableName: string;
  bucketName: string;
  region: string;
  dynamodbEndpoint?: string;
  s3Endpoint?: string;
  /** Admin key given directly (local runtime) … */
  adminKey?: string;
  /** … or the ARN of the Secrets Manager secret that holds it (AWS). */
  adminKeySecretArn?: string;
  /** Largest JSON body accepted (API Gateway itself caps at 10 MB). */
  maxJsonBodyBytes: number;
  /** Largest attachment file (Pryv `uploads.maxSizeMb`, 50 MB by default). */
  uploadMaxBytes: number;
  /**
   * Largest file that travels through API Gateway and Lambda (their 6 MB payload cap,
   * base64 included); bigger files go through presigned S3 URLs.
   */
  directTransferMaxBytes: number;
  /** Lifetime of presigned S3 URLs. */
  presignTtlS: number;
  /** Secret of attachment read tokens, given directly (local) … */
  filesReadTokenSecret?: string;
  /** … or from Secrets Manager (AWS). */
  filesReadTokenSecretArn?: string;
  /** `maxRetries` of new webhooks: consecutive failures before delivery makes one inactive (spec §6.2). */
  webhookMaxRetries: number;
  /** `minIntervalMs` of new webhooks: at most one call per this interval (spec §6.2). */
  webhookMinIntervalMs: number;
  /** Lets webhooks call private, loopback and link-local addresses (local development only). */
  webhooksAllowPrivateTargets: boolean;
}

function list(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = env.PORT ?? '3000';
  const publicUrl = (env.PUBLIC_URL ?? `http://127.0.0.1:${port}`).replace(/\/+$/, '');
  const invitation = env.INVITATION_TOKENS;
  return {
    publicUrl,
    serviceName: env.SERVICE_NAME ?? 'Pryv Lambda',
    serial: env.SERVICE_SERIAL ?? '2026112801',
    home: env.SERVICE_HOME ?? `${publicUrl}/`,
    support: env.SERVICE_SUPPORT ?? `${publicUrl}/`,
    terms: env.SERVICE_TERMS ?? `${publicUrl}/`,
    eventTypesUrl: env.EVENT_TYPES_URL ?? 'https://pryv.github.io/event-types/flat.json',
    trustedApps: env.TRUSTED_APPS ?? DEFAULT_TRUSTED_APPS,
    sessionMaxAgeS: Number(env.SESSION_MAX_AGE_S ?? SESSION_MAX_AGE_S),
    invitationTokens: invitation === undefined || invitation === '*' ? null : (list(invitation) ?? []),
    accountDeletion: (list(env.ACCOUNT_DELETION) ?? ['adminToken']).filter(
      (v): v is 'adminToken' | 'personalToken' => v === 'adminToken' || v === 'personalToken',
    ),
    tableName: env.TABLE_NAME ?? 'pryv-main',
    bucketName: env.BUCKET_NAME ?? 'pryv-attachments',
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    dynamodbEndpoint: env.DYNAMODB_ENDPOINT || undefined,
    s3Endpoint: env.S3_ENDPOINT || undefined,
    adminKey: env.ADMIN_KEY || undefined,
    adminKeySecretArn: env.ADMIN_KEY_SECRET_ARN || undefined,
    maxJsonBodyBytes: Number(env.MAX_JSON_BODY_BYTES ?? 10 * 1024 * 1024),
    uploadMaxBytes: Number(env.UPLOAD_MAX_BYTES ?? 50 * 1024 * 1024),
    directTransferMaxBytes: Number(env.DIRECT_TRANSFER_MAX_BYTES ?? 4 * 1024 * 1024),
    presignTtlS: Number(env.PRESIGN_TTL_S ?? 300),
    filesReadTokenSecret: env.FILES_READ_TOKEN_SECRET || undefined,
    filesReadTokenSecretArn: env.FILES_READ_TOKEN_SECRET_ARN || undefined,
    webhookMaxRetries: Number(env.WEBHOOK_MAX_RETRIES ?? 5),
    webhookMinIntervalMs: Number(env.WEBHOOK_MIN_INTERVAL_MS ?? 5000),
    webhooksAllowPrivateTargets: env.WEBHOOKS_ALLOW_PRIVATE_TARGETS === 'true',
  };
}

let cached: Config | undefined;
/** The process-wide configuration (read lazily so the local runtime can set env first). */
export function config(): Config {
  cached ??= readConfig();
  return cached;
}
/** For the local runtime and tests, which start several runtimes in one process. */
export function resetConfig(): void {
  cached = undefined;
}
