/**
 * `npm start`: the whole API on this machine. Settings (README "Configuration"):
 *   PORT (3000), PUBLIC_URL (http://127.0.0.1:$PORT), ADMIN_KEY (generated, kept in
 *   $DATA_DIR/admin-key), DATA_DIR (.data); `npm start -- --in-memory` keeps nothing on disk;
 *   `npm start -- --bundles cdk.out` runs the functions as `cdk synth` bundled them.
 */

import { SetupError } from './java';
import { startLocalRuntime } from './runtime';

async function main(): Promise<void> {
  // The local runtime is for development: Node 20 is fine here, spare developers the SDK's upgrade notice.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const inMemory = process.argv.includes('--in-memory');
  const port = Number(process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new SetupError(`PORT must be a port number, not "${process.env.PORT}".`);
  const dataDir = inMemory ? undefined : (process.env.DATA_DIR ?? '.data');
  const bundlesAt = process.argv.indexOf('--bundles');
  const bundles = bundlesAt >= 0 ? process.argv[bundlesAt + 1] : undefined;
  if (bundlesAt >= 0 && !bundles) throw new SetupError('--bundles needs the cdk.out folder of a `cdk synth` (with bundling).');

  console.log('Starting the local runtime:');
  const runtime = await startLocalRuntime({
    port,
    publicUrl: process.env.PUBLIC_URL,
    dataDir,
    adminKey: process.env.ADMIN_KEY,
    dynamodbPort: process.env.DYNAMODB_PORT ? Number(process.env.DYNAMODB_PORT) : undefined,
    s3Port: process.env.S3_PORT ? Number(process.env.S3_PORT) : undefined,
    // An engine gone for good (README "Engines that stop"): the runtime printed why and stopped.
    onFatal: () => process.exit(1),
    bundles,
    onStep: (step) => console.log(`  ${step}`),
  });

  const lines = [
    `Ready: Pryv-compatible API running at ${runtime.url}/`,
    `  service info   ${process.env.PUBLIC_URL}/reg/service/info`,
    `  web pages      ${process.env.PUBLIC_URL}/account/ (your account), ${process.env.PUBLIC_URL}/www/ (sign in, register)`,
    `  API reference  ${process.env.PUBLIC_URL}/www/api/ (OpenAPI document: ${process.env.PUBLIC_URL}/openapi.json)`,
    `  DynamoDB Local ${runtime.dynamodb.endpoint} (pid ${runtime.dynamodb.pid})`,
    `  S3 emulator    ${runtime.s3.endpoint}`,
    `  change feed    stream consumer polling ${runtime.streamConsumer.streamArn}`,
    `  data           ${dataDir ?? 'in memory (nothing kept)'}`,
    ...(bundles ? [`  functions      the bundles of ${bundles}`] : []),
  ];
  // The admin key is printed only when we generated it: a key the operator set stays theirs.
  if (runtime.adminKeyGenerated) lines.push(`  admin key      ${runtime.adminKey}${dataDir ? ` (kept in ${dataDir}/admin-key)` : ''}`);
  lines.push('Press Ctrl-C to stop.');
  console.log(lines.join('\n'));

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping…`);
    await runtime.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  if (err instanceof SetupError) console.error(`\n${err.message}\n`);
  else console.error(err);
  process.exit(1);
});
