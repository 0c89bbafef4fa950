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
export const AUDIT_RETENTION_DAYS = 365; // a year of accountability, then DynamoDB's TTL removes records
export const EXPORT_LINK_TTL_S = 900; // export download links: long enough to start a large download
export const SOCKET_PING_INTERVAL_MS = 25_000; // Socket.IO's default; the stack sets 60 s, its sweep's period
export const SOCKET_PING_TIMEOUT_MS = 20_000; // Socket.IO's default
/**
 * One attempt of a request to DynamoDB or `@connections` (shared/aws-http.ts): past it the
 * attempt is given up and retried. 3 s is over a hundred times DynamoDB's usual answer and
 * keeps 4 attempts with their backoff (about 12.4 s) inside API Gateway's 29 s, so a hung
 * service is answered 503 before the gateway's own 504. The local runtime waits 10 s: DynamoDB
 * Local on a loaded laptop pauses longer, and a retried write that did land meets its own
 * condition.
 */
export const SERVICE_REQUEST_TIMEOUT_MS = 3_000;
export const LOCAL_SERVICE_REQUEST_TIMEOUT_MS = 10_000;
export const SOCKET_MESSAGE_MAX_BYTES = 128 * 1024; // API Gateway WebSocket message limit, both ways
export const ACCESS_REQUEST_POLL_RATE_MS = 1000; // Pryv's poll_rate_ms: how often apps poll an access request (spec §8)
export const PASSWORD_RESET_TTL_S = 3600; // spec §8: a reset token lives 1 h, single use
export const PASSWORD_RESET_MAX_REQUESTS_PER_HOUR = 5; // per account: the route is public, and each request sends a mail
export const MFA_SESSION_TTL_S = 1800; // spec §8: an mfaToken lives 30 min, single use
export const MFA_RECOVERY_CODES = 10; // spec §8
export const MFA_MAX_CODE_ATTEMPTS = 5; // wrong codes per mfaToken before it is voided (a 6-digit code is otherwise guessable)
/**
 * auth.login brute-force protection (beyond Pryv): failures counted per username and per
 * client IP over a sliding window; reaching a threshold refuses logins (429) for a cool-down.
 * 5 per user stops online guessing of one account (5 guesses / 15 min ≈ 480 a day) while a
 * user mistyping a few times is not locked; 20 per IP leaves room for several people behind
 * one NAT but stops one address trying passwords across many accounts.
 */
export const LOGIN_MAX_FAILURES_PER_USER = 5;
export const LOGIN_MAX_FAILURES_PER_IP = 20;
export const LOGIN_FAILURE_WINDOW_S = 15 * 60;
export const LOGIN_COOLDOWN_S = 15 * 60;

/** Static credentials for the local emulators (endpoint overrides only): they accept any pair. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

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

/** Who may delete an account (`ACCOUNT_DELETION`, comma-separated). */
export const ACCOUNT_DELETION_CALLERS = ['adminToken', 'personalToken'] as const;

export interface Config {
  publicUrl: string; // without trailing slash
  serviceName: string;
  serial: string;
  home: string;
  support: string;
  terms: string;
  /** Privacy policy link of the web pages (service info `privacy`, ours). */
  privacy: string;
  /** The pages' look (service info `branding`, ours): logo URL and two colours. */
  branding: { logo: string; accentColor: string; backgroundColor: string };
  eventTypesUrl: string;
  /** Service-info `assets.definitions`: the `pryv` library's login button loads its look from it. */
  assetsUrl: string;
  trustedApps: string;
  sessionMaxAgeS: number;
  /** `null` = any token accepted, `[]` = none, list = must match (Pryv `invitationTokens`). */
  invitationTokens: string[] | null;
  /** Who may call `DELETE /users/{username}`: Pryv's `user-account.delete`. */
  accountDeletion: Array<(typeof ACCOUNT_DELETION_CALLERS)[number]>;
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
  /**
   * Who hears of a change (README "Sockets"): `access` (default) tells a socket or webhook
   * only of changes its access may read; `user` tells every one of the user's, as Pryv.io does.
   */
  notificationScope: (typeof NOTIFICATION_SCOPES)[number];
  /**
   * Events and accesses carry `integrity` (Pryv API reference §3.8), computed when they are
   * written (INTEGRITY=off: written without; attachments keep their file hash either way).
   */
  integrity: boolean;
  /** Days an audit record is kept (DynamoDB TTL). */
  auditRetentionDays: number;
  /** What account deletion does to the user's audit records. */
  auditOnAccountDeletion: 'erase' | 'keep' | 'pseudonymise';
  /** Lifetime of an export's download link. */
  exportLinkTtlS: number;
  /**
   * Where change pushes and answers reach WebSocket clients: API Gateway's management API
   * (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`, or the local gateway). Unset
   * in a WebSocket handler: taken from the event.
   */
  socketManagementEndpoint?: string;
  /** Engine.IO `pingInterval` announced to clients: the server's ping sweep period. */
  socketPingIntervalMs: number;
  /** Engine.IO `pingTimeout`: how late a ping may be before the client gives up. */
  socketPingTimeoutMs: number;
  /** One attempt of a DynamoDB or `@connections` request (SERVICE_REQUEST_TIMEOUT_MS). */
  serviceRequestTimeoutMs: number;
  /** Consent page that access requests send the user to (Pryv `access.defaultAuthUrl`). */
  authUrl: string;
  /** Other consent pages a request's `authUrl` may name: URL prefixes (Pryv `access.trustedAuthUrls`). */
  trustedAuthUrls: string[];
  /** Lifetime of an access request, answered or not (Pryv: 3600 s, spec §2.14). */
  accessRequestTtlS: number;
  /** Sender address of mails (SES in AWS); unset = mails go to the local sink. */
  mailFrom?: string;
  /** Folder of the local mail sink (one JSON file per mail); used when mailFrom is unset. */
  mailSinkDir?: string;
  /** Where stream records the change fan-out or the export worker cannot process are set aside: an SQS queue (AWS)… */
  deadLetterQueueUrl?: string;
  /** … or a folder, one JSON file per record (local runtime with a data folder); neither = kept in memory. */
  deadLetterDir?: string;
  /**
   * Local runtime in bundle mode only: the BroadcastChannel on which a bundle's worker thread
   * posts its table writes (shared/store/clients.ts), so the runtime's stream consumer reads
   * them at once as it does the writes of its own thread.
   */
  localTableWritesChannel?: string;
  /** auth.login throttling thresholds (see LOGIN_* above). */
  loginMaxFailuresPerUser: number;
  loginMaxFailuresPerIp: number;
  loginFailureWindowS: number;
  loginCooldownS: number;
}

export const AUDIT_DELETION_MODES = ['erase', 'keep', 'pseudonymise'] as const;
export const NOTIFICATION_SCOPES = ['access', 'user'] as const;
function onOff(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  if (value === 'on' || value === 'true') return true;
  if (value === 'off' || value === 'false') return false;
  throw new Error(`${name} must be "on" or "off"`);
}

function auditDeletionMode(value: string | undefined): Config['auditOnAccountDeletion'] {
  if (value === undefined || value === '') return 'erase';
  if (!(AUDIT_DELETION_MODES as readonly string[]).includes(value)) {
    throw new Error(`AUDIT_ON_ACCOUNT_DELETION must be one of ${AUDIT_DELETION_MODES.join(', ')}`);
  }
  return value as Config['auditOnAccountDeletion'];
}

export const HEX_COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;
function color(name: string, value: string | undefined, fallback: string): string {
  if (value === undefined || value === '') return fallback;
  // The pages apply it as a CSS custom property: only a plain colour may get there.
  if (!HEX_COLOR.test(value)) throw new Error(`${name} must be a #rgb or #rrggbb colour`);
  return value;
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
    privacy: env.SERVICE_PRIVACY ?? env.SERVICE_TERMS ?? `${publicUrl}/`,
    branding: {
      // The pages' CSP loads images from their own origin (or data: URLs) only.
      logo: env.SERVICE_LOGO ?? `${publicUrl}/www/assets/logo.svg`,
      accentColor: color('SERVICE_ACCENT_COLOR', env.SERVICE_ACCENT_COLOR, '#1f5fbf'),
      backgroundColor: color('SERVICE_BACKGROUND_COLOR', env.SERVICE_BACKGROUND_COLOR, '#f5f6f8'),
    },
    eventTypesUrl: env.EVENT_TYPES_URL ?? 'https://pryv.github.io/event-types/flat.json',
    assetsUrl: env.ASSETS_URL ?? `${publicUrl}/www/assets/index.json`,
    // The service's own pages (/www, /access) log in from the public URL's origin.
    trustedApps: env.TRUSTED_APPS ?? `${DEFAULT_TRUSTED_APPS},*@${publicUrl}*`,
    sessionMaxAgeS: Number(env.SESSION_MAX_AGE_S ?? SESSION_MAX_AGE_S),
    invitationTokens: invitation === undefined || invitation === '*' ? null : (list(invitation) ?? []),
    accountDeletion: (list(env.ACCOUNT_DELETION) ?? ['adminToken']).filter((v): v is Config['accountDeletion'][number] =>
      (ACCOUNT_DELETION_CALLERS as readonly string[]).includes(v),
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
    notificationScope: env.NOTIFICATION_SCOPE === 'user' ? 'user' : 'access',
    integrity: onOff('INTEGRITY', env.INTEGRITY, true),
    auditRetentionDays: Number(env.AUDIT_RETENTION_DAYS ?? AUDIT_RETENTION_DAYS),
    auditOnAccountDeletion: auditDeletionMode(env.AUDIT_ON_ACCOUNT_DELETION),
    exportLinkTtlS: Number(env.EXPORT_LINK_TTL_S ?? EXPORT_LINK_TTL_S),
    socketManagementEndpoint: env.SOCKET_MANAGEMENT_ENDPOINT || undefined,
    socketPingIntervalMs: Number(env.SOCKET_PING_INTERVAL_MS ?? SOCKET_PING_INTERVAL_MS),
    socketPingTimeoutMs: Number(env.SOCKET_PING_TIMEOUT_MS ?? SOCKET_PING_TIMEOUT_MS),
    serviceRequestTimeoutMs: Number(
      env.SERVICE_REQUEST_TIMEOUT_MS ?? (env.DYNAMODB_ENDPOINT ? LOCAL_SERVICE_REQUEST_TIMEOUT_MS : SERVICE_REQUEST_TIMEOUT_MS),
    ),
    authUrl: env.AUTH_URL ?? `${publicUrl}/access/access.html`,
    trustedAuthUrls: list(env.TRUSTED_AUTH_URLS) ?? [],
    accessRequestTtlS: Number(env.ACCESS_REQUEST_TTL_S ?? 3600),
    mailFrom: env.MAIL_FROM || undefined,
    mailSinkDir: env.MAIL_SINK_DIR || undefined,
    deadLetterQueueUrl: env.DEAD_LETTER_QUEUE_URL || undefined,
    deadLetterDir: env.DEAD_LETTER_DIR || undefined,
    localTableWritesChannel: env.LOCAL_TABLE_WRITES_CHANNEL || undefined,
    loginMaxFailuresPerUser: Number(env.LOGIN_MAX_FAILURES_PER_USER ?? LOGIN_MAX_FAILURES_PER_USER),
    loginMaxFailuresPerIp: Number(env.LOGIN_MAX_FAILURES_PER_IP ?? LOGIN_MAX_FAILURES_PER_IP),
    loginFailureWindowS: Number(env.LOGIN_FAILURE_WINDOW_S ?? LOGIN_FAILURE_WINDOW_S),
    loginCooldownS: Number(env.LOGIN_COOLDOWN_S ?? LOGIN_COOLDOWN_S),
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
