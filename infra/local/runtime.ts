import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { handler as fanout } from '../../functions/notify/fanout';
import { resetConnectionClients } from '../../shared/adapters/socket-connections-api';
import { config, resetConfig } from '../../shared/config';
import { log } from '../../shared/log';
import { fanoutActsOn } from '../../shared/notify/changes';
import { registerSink } from '../../shared/notify/dispatch';
import { announceServiceBoot } from '../../shared/notify/webhook-delivery';
import { onTableWrite, resetClients, type TableWrite } from '../../shared/store/clients';
import { BundledFunctions, type LocalEquivalents, readAssembly, resolveEnvironment } from './bundles';
import { ensureTable, type LocalDynamo, startDynamoDbLocal } from './dynamodb';
import { supervise } from './engine-supervisor';
import { exportWorkerMapping } from './export-worker';
import type { GatewayHandlers } from './gateway';
import { type ChangeLogEntry, type LocalGateway, startGateway } from './gateway';
import { assertPortFree, freePort } from './ports';
import { compileRoute } from './routes';
import { type LocalS3, startS3 } from './s3';
import { startSecretsManager } from './secrets-manager';
import { startSocketPinger } from './socket-pinger';
import { type StreamConsumer, type StreamHandler, startStreamReader } from './stream-consumer';
import { fanoutAccepts } from './stream-filters';
import { startBundledWebhookWorker, startWebhookWorker } from './webhook-worker';

export interface RuntimeOptions {
  /** Port of the API (0 = any free port). */
  port: number;
  host?: string;
  /** Public URL clients use; default http://{host}:{port}. */
  publicUrl?: string;
  /** Folder for DynamoDB and S3 data and the generated admin key; undefined = keep nothing on disk. */
  dataDir?: string;
  adminKey?: string;
  /** Ports of the engines (default: any free port). */
  dynamodbPort?: number;
  s3Port?: number;
  /** Extra settings for the handlers (see shared/config.ts); not given to bundles (see `bundles`). */
  env?: Record<string, string>;
  /**
   * Called when an engine is gone for good (README "Engines that stop"): the runtime has
   * printed why and is stopping itself. `npm start` exits with an error.
   */
  onFatal?: (message: string) => void;
  /**
   * A cdk.out folder synthesized with bundling: the gateway then runs each function's bundle
   * (one worker thread each) with exactly the environment the template gives it, resolved to
   * the local engines, and routes as the template's APIs do (infra/local/bundles.ts). Default:
   * the TypeScript entries of functions/, in this process.
   */
  bundles?: string;
  /** Told each step of the start as it begins (`npm start` prints them: a start takes a while). */
  onStep?: (step: string) => void;
  /** Told of each batch of stream records as it is handed to the change fan-out (`npm run bench:notify` times it). */
  onFanoutBatch?: (event: DynamoDBStreamEvent) => void;
}

export interface LocalRuntime {
  url: string;
  adminKey: string;
  adminKeyGenerated: boolean;
  /** The engines as they run now (a restart replaces them: read these again after one). */
  readonly dynamodb: LocalDynamo;
  readonly s3: LocalS3;
  gateway: LocalGateway;
  readonly streamConsumer: StreamConsumer;
  /** Engine restarts so far, per engine. */
  restarts(): { dynamodb: number; s3: number };
  /** Settles when no engine restart is in progress. */
  settled(): Promise<void>;
  /** Settles when the runtime stopped by itself (an engine gone for good), with the message. */
  stoppedByItself: Promise<string>;
  /** The local mail sink: one JSON file per mail (shared/mail). */
  mailDir: string;
  stop(): Promise<void>;
}

const TABLE_NAME = 'pryv-main';
const BUCKET_NAME = 'pryv-attachments';

/** A secret: given, or kept in `{dataDir}/{name}` (generated on first start). */
function resolveSecret(name: string, given: string | undefined, dataDir: string | undefined): { key: string; generated: boolean } {
  if (given) return { key: given, generated: false };
  const file = dataDir ? join(dataDir, name) : undefined;
  if (file && existsSync(file)) return { key: readFileSync(file, 'utf8').trim(), generated: true };
  const key = randomBytes(24).toString('base64url');
  if (file) writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return { key, generated: true };
}

/**
 * The whole API on this machine (README "Two commands"): DynamoDB Local, the S3 emulator and
 * the gateway in front of the real handlers. Handlers run in this process and read their
 * settings from process.env, so one runtime runs per process at a time.
 */
export async function startLocalRuntime(options: RuntimeOptions): Promise<LocalRuntime> {
  const host = options.host ?? '127.0.0.1';
  if (options.port !== 0) await assertPortFree(options.port, 'PORT');
  const apiPort = options.port === 0 ? await freePort() : options.port;
  const dataDir = options.dataDir ? resolve(options.dataDir) : undefined;
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const admin = resolveSecret('admin-key', options.adminKey, dataDir);
  const filesSecret = resolveSecret('files-read-token-secret', process.env.FILES_READ_TOKEN_SECRET, dataDir);
  // Mails (password reset, MFA codes) land here unless MAIL_FROM sends them through SES.
  const mailDir = options.env?.MAIL_SINK_DIR ?? (dataDir ? join(dataDir, 'mail') : mkdtempSync(join(tmpdir(), 'pryv-mail-')));

  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    stops.length = 0;
  };
  let stopped = false;
  let reportFatal: (message: string) => void = () => undefined;
  const stoppedByItself = new Promise<string>((resolve) => (reportFatal = resolve));
  /** An engine is gone for good: say so whatever LOG_LEVEL is, and stop everything. */
  const fatal = (message: string) => {
    if (stopped) return;
    stopped = true;
    console.error(`\nThe local runtime stops: ${message}\n`);
    void stopAll().finally(() => {
      resetClients();
      reportFatal(message);
      options.onFatal?.(message);
    });
  };
  // What reads the table in the background: paused while DynamoDB Local is restarted (their
  // polls would only fail), resumed after it, from the positions they delivered.
  let workers: { stop: () => Promise<void> } | undefined;
  let streamConsumer: StreamConsumer | undefined;
  let startWorkers: () => Promise<void> = async () => undefined;
  const step = options.onStep ?? (() => undefined);
  try {
    const dynamodbPort = options.dynamodbPort ?? (await freePort([apiPort]));
    step(`starting DynamoDB Local on port ${dynamodbPort} (a Java process; the first start takes a few seconds)…`);
    const dynamodb = await supervise({
      name: 'DynamoDB Local',
      start: () => startDynamoDbLocal({ port: dynamodbPort, dataDir: dataDir ? join(dataDir, 'dynamodb') : undefined }),
      // In memory, a new JVM would come back empty: every account gone while the API answers
      // as if nothing happened. Stopping says it.
      ...(dataDir
        ? {}
        : {
            cannotRestart:
              'it kept its data in memory, so the data is lost. Start the runtime again (with a data folder, DATA_DIR, data survives such a stop).',
          }),
      onDown: async () => {
        await workers?.stop();
        workers = undefined;
      },
      onUp: async (engine) => {
        await ensureTable(engine.endpoint, TABLE_NAME);
        await startWorkers();
      },
      onFatal: fatal,
    });
    stops.push(dynamodb.stop);
    // s3rver keeps its objects in a folder (a temporary one in memory mode): a restart finds them there.
    const s3Port = options.s3Port ?? (await freePort([apiPort, dynamodbPort]));
    const s3Directory = dataDir ? join(dataDir, 's3') : mkdtempSync(join(tmpdir(), 'pryv-s3-'));
    step(`starting the S3 emulator (s3rver) on port ${s3Port}…`);
    const s3 = await supervise({
      name: 'S3 emulator',
      start: () => startS3({ port: s3Port, directory: s3Directory, ...(dataDir ? { dataDir: s3Directory } : {}), bucket: BUCKET_NAME }),
      onFatal: fatal,
    });
    stops.push(s3.stop);
    step(`creating the table ${TABLE_NAME} if missing…`);
    await ensureTable(dynamodb.current().endpoint, TABLE_NAME);

    Object.assign(process.env, {
      PORT: String(apiPort),
      PUBLIC_URL: options.publicUrl ?? `http://${host}:${apiPort}`,
      TABLE_NAME,
      BUCKET_NAME,
      DYNAMODB_ENDPOINT: dynamodb.current().endpoint,
      S3_ENDPOINT: s3.current().endpoint,
      ADMIN_KEY: admin.key,
      FILES_READ_TOKEN_SECRET: filesSecret.key,
      MAIL_SINK_DIR: mailDir,
      // Stream records the fan-out or the export worker cannot process (shared/adapters/dead-letters.ts);
      // without a data folder they are kept in memory.
      ...(dataDir ? { DEAD_LETTER_DIR: join(dataDir, 'dead-letters') } : {}),
      AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
      WEBHOOKS_ALLOW_PRIVATE_TARGETS: process.env.WEBHOOKS_ALLOW_PRIVATE_TARGETS ?? 'true', // development: loopback receivers
      // The gateway serves API Gateway's `@connections` API for WebSocket pushes (websocket-api.ts).
      SOCKET_MANAGEMENT_ENDPOINT: `http://127.0.0.1:${apiPort}`,
      ...options.env,
    });
    resetConfig();
    resetClients();
    resetConnectionClients();

    // In bundle mode the functions run from their bundles, the background ones (fan-out,
    // export and webhook workers, the service boot message, the ping sweep) too.
    let handlers: GatewayHandlers | undefined;
    let bundledHandler: ((id: string) => (event: unknown) => Promise<unknown>) | undefined;
    // Where the bundles' worker threads post their table writes (shared/store/clients.ts).
    const writesChannel = options.bundles ? `pryv-table-writes-${randomBytes(8).toString('hex')}` : undefined;
    if (options.bundles) {
      step(`starting the function bundles of ${options.bundles}…`);
      const bundled = await startBundles(options.bundles, {
        tableName: TABLE_NAME,
        bucketName: BUCKET_NAME,
        publicUrl: process.env.PUBLIC_URL!,
        socketManagementEndpoint: process.env.SOCKET_MANAGEMENT_ENDPOINT!,
        dynamodbEndpoint: dynamodb.current().endpoint,
        s3Endpoint: s3.current().endpoint,
        secrets: { AdminKey: admin.key, FilesReadTokenSecret: filesSecret.key },
        writesChannel: writesChannel!,
      });
      stops.push(bundled.stop);
      handlers = bundled.handlers;
      bundledHandler = bundled.handler;
    }

    // The table's stream drives the change fan-out, as the event source mapping does in AWS;
    // with a data folder, delivered stream positions are kept there: a restart (of the
    // runtime after a kill, or of DynamoDB Local) resumes where the fan-out stopped.
    // Webhook delivery runs the due attempts, as the scheduled worker Lambda does in AWS;
    // export and import jobs run as the worker Lambda's own stream mapping runs them.
    const endpoint = dynamodb.current().endpoint;
    startWorkers = async () => {
      const observe = options.onFanoutBatch;
      const fanoutHandler: StreamHandler = bundledHandler ? (bundledHandler('Fn-notify-fanout') as StreamHandler) : fanout;
      // One reader of the stream for both mappings (the fan-out, the export worker): each record
      // is read and parsed once; each mapping keeps its filter, retries and checkpoint.
      const consumer = await startStreamReader({
        endpoint,
        tableName: TABLE_NAME,
        mappings: [
          {
            name: 'fan-out',
            handler: observe
              ? (event) => {
                  observe(event);
                  return fanoutHandler(event);
                }
              : fanoutHandler,
            ...(dataDir ? { checkpointFile: join(dataDir, 'fanout-stream-position.json') } : {}),
            filter: fanoutAccepts,
          },
          exportWorkerMapping({
            ...(bundledHandler ? { handler: bundledHandler('Fn-export-worker') as StreamHandler } : {}),
            ...(dataDir ? { checkpointFile: join(dataDir, 'export-stream-position.json') } : {}),
          }),
        ],
      });
      streamConsumer = consumer;
      // A write of the handlers in this process (or, in bundle mode, of their worker threads)
      // that the fan-out acts on is read from the stream at once, not at the next poll (in a
      // burst, within the reader's poke spacing): the notification delay of a single server
      // (README "Performance").
      const pokeFor = (writes: TableWrite[]) => {
        if (writes.some(fanoutActsOn)) consumer.poke();
      };
      const stopListening = onTableWrite(pokeFor);
      const fromBundles = writesChannel ? new BroadcastChannel(writesChannel) : undefined;
      if (fromBundles) fromBundles.onmessage = (message) => pokeFor((message as unknown as { data: TableWrite[] }).data);
      const stopPoking = () => {
        stopListening();
        fromBundles?.close();
      };
      const webhookWorker = bundledHandler
        ? startBundledWebhookWorker(() => bundledHandler('Fn-notify-webhook-worker')({}))
        : startWebhookWorker();
      workers = {
        stop: async () => {
          stopPoking();
          // The consumer first: its last fan-out batch may start webhook attempts (its run of the
          // due ones), which the worker's stop then waits for with its own. Stopped side by side,
          // such an attempt could start after the worker looked, then fail its writes once
          // DynamoDB Local went, its 60 s lease holding it past a restart
          // (webhook-delivery-restart.test.ts timed out on it once).
          await consumer.stop();
          await webhookWorker.stop();
        },
      };
    };
    step('starting the change feed consumer, the webhook worker and the export worker…');
    await startWorkers();
    // Stopped before DynamoDB Local (stops run in reverse).
    stops.push(async () => {
      await workers?.stop();
      workers = undefined;
    });
    // The service started: every active webhook hears it (Pryv API reference §6.2), delivered by the worker.
    const serviceBoot = bundledHandler ? () => bundledHandler('Fn-notify-service-boot')({}) : announceServiceBoot;
    void serviceBoot().catch((err) => log.error('webhooks boot message not queued', { err }));
    // Integration tests only (set by test/setup/local-runtime.ts): record what reaches the
    // sinks, readable at GET /__test/changes on the local gateway (in this process: from
    // sources only, a bundled fan-out has its own sinks).
    let changeLog: ChangeLogEntry[] | undefined;
    if (process.env.PRYV_TEST_CHANGE_LOG === '1') {
      const log: ChangeLogEntry[] = [];
      changeLog = log;
      const unregister = registerSink(async (username, messages) => {
        if (messages.length > 0) log.push({ username, messages, at: Date.now() });
      });
      stops.push(async () => unregister());
    }

    step(`loading the API functions and starting the gateway on port ${apiPort}…`);
    const gateway = await startGateway({ port: apiPort, host, changeLog, handlers });
    stops.push(gateway.stop);
    // Engine.IO pings, as the scheduled sweep sends them in AWS; stopped before the gateway.
    const pingSweep = bundledHandler ? () => bundledHandler('Fn-ws-ping')({}) : undefined;
    stops.push(startSocketPinger(config().socketPingIntervalMs, pingSweep).stop);
    return {
      url: gateway.url,
      adminKey: admin.key,
      adminKeyGenerated: admin.generated,
      get dynamodb() {
        return dynamodb.current();
      },
      get s3() {
        return s3.current();
      },
      gateway,
      get streamConsumer() {
        return streamConsumer!;
      },
      restarts: () => ({ dynamodb: dynamodb.restarts(), s3: s3.restarts() }),
      settled: async () => {
        await Promise.all([dynamodb.settled(), s3.settled()]);
      },
      stoppedByItself,
      mailDir,
      stop: async () => {
        stopped = true;
        await stopAll();
        resetClients();
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Variables of the host passed on to bundles: logging and the SDK call recorder (shared/sdk-calls.ts), nothing the template sets. */
const HOST_VARIABLES = ['LOG_LEVEL', 'PRYV_SDK_CALL_LOG', 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED', 'PATH', 'HOME', 'TMPDIR'];

/**
 * The synthesized functions of `directory` behind the gateway's routes (RuntimeOptions.bundles),
 * with a local Secrets Manager holding the stack's secrets under local ARNs.
 */
async function startBundles(
  directory: string,
  local: {
    tableName: string;
    bucketName: string;
    publicUrl: string;
    socketManagementEndpoint: string;
    dynamodbEndpoint: string;
    s3Endpoint: string;
    /** Value of each secret, by the start of its logical id. */
    secrets: Record<string, string>;
    /** The BroadcastChannel the bundles post their table writes on. */
    writesChannel: string;
  },
): Promise<{ handlers: GatewayHandlers; handler: (id: string) => (event: unknown) => Promise<unknown>; stop: () => Promise<void> }> {
  const assembly = readAssembly(directory);
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const secretValues = new Map<string, string>();
  const secretArn = (logicalId: string): string | undefined => {
    const name = Object.keys(local.secrets).find((prefix) => logicalId.startsWith(prefix));
    if (!name) return undefined;
    const arn = `arn:aws:secretsmanager:${region}:000000000000:secret:${logicalId}`;
    secretValues.set(arn, local.secrets[name]!);
    return arn;
  };
  const equivalents: LocalEquivalents = { ...local, secretArn, region, account: '000000000000' };
  // Resolved up front: a variable the runtime cannot give a meaning fails the start, not a call.
  const environments = new Map(
    [...assembly.functions.values()].map((fn) => [fn.id, resolveEnvironment(fn, assembly.template, equivalents)]),
  );
  const secretsManager = await startSecretsManager(secretValues);
  const host = Object.fromEntries(
    HOST_VARIABLES.filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name]!]),
  );
  const functions = new BundledFunctions(assembly, (fn) => ({
    ...host,
    // What Lambda sets in every function's environment.
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_LAMBDA_FUNCTION_NAME: fn.id,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_ACCESS_KEY_ID: 'LOCAL',
    AWS_SECRET_ACCESS_KEY: 'LOCAL',
    LAMBDA_TASK_ROOT: directory,
    // The local engines in place of the AWS endpoints.
    DYNAMODB_ENDPOINT: local.dynamodbEndpoint,
    S3_ENDPOINT: local.s3Endpoint,
    LOCAL_TABLE_WRITES_CHANNEL: local.writesChannel,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.endpoint,
    ...environments.get(fn.id),
  }));
  const routes = [...assembly.httpRoutes].filter(([key]) => key !== '$default');
  const notFoundId = assembly.httpRoutes.get('$default');
  const webSocket = (key: string) => {
    const id = assembly.webSocketRoutes.get(key);
    if (!id) throw new Error(`the WebSocket API has no ${key} route`);
    return functions.handler(id);
  };
  if (!notFoundId) throw new Error('the HTTP API has no $default route');
  const handlers: GatewayHandlers = {
    routes: routes.map(([key, id]) => {
      const [verb, path] = key.split(' ') as [string, string];
      return { ...compileRoute({ verb: verb as never, path }, functions.handler(id)), routeKey: key };
    }),
    notFound: functions.handler(notFoundId),
    webSocket: { connect: webSocket('$connect'), message: webSocket('$default'), disconnect: webSocket('$disconnect') },
    functionOf: (routeKey) => assembly.httpRoutes.get(routeKey),
  };
  return {
    handlers,
    handler: (id) => functions.handler(id),
    stop: async () => {
      await functions.stop();
      await secretsManager.stop();
    },
  };
}
