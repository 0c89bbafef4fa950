import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalRuntime } from '../../infra/local/runtime';
import { synthesizeBundles } from '../bundled/assembly';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The cdk.out folder the runtime's functions come from. */
    cdkOut: string;
    /** Where each function's SDK calls are recorded (shared/sdk-calls.ts). */
    sdkCallLog: string;
  }
}

/**
 * `npm run test:bundled`: synthesizes the stack with bundling (PRYV_BUNDLED_REUSE=1 reuses an
 * earlier synth of this checkout), then starts the local runtime on the bundles, each with
 * the template's environment, recording the SDK calls of every function.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  process.env.LOG_LEVEL ??= 'silent';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const cdkOut = synthesizeBundles({ reuse: process.env.PRYV_BUNDLED_REUSE === '1' });
  const sdkCallLog = mkdtempSync(join(tmpdir(), 'pryv-sdk-calls-'));
  process.env.PRYV_SDK_CALL_LOG = sdkCallLog;
  // The smoke test checks that the ping sweep ran from its bundle: at its default period (25 s)
  // a run shorter than that would never see it.
  process.env.SOCKET_PING_INTERVAL_MS ??= '2000';
  const runtime = await startLocalRuntime({ port: 0, dataDir: undefined, bundles: cdkOut });
  project.provide('apiUrl', runtime.url);
  project.provide('adminKey', runtime.adminKey);
  project.provide('dynamodbEndpoint', runtime.dynamodb.endpoint);
  project.provide('s3Endpoint', runtime.s3.endpoint);
  project.provide('mailDir', runtime.mailDir);
  project.provide('cdkOut', cdkOut);
  project.provide('sdkCallLog', sdkCallLog);
  return async () => {
    await runtime.stop();
  };
}
