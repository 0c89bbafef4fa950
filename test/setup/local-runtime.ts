import type { TestProject } from 'vitest/node';
import { startLocalRuntime } from '../../infra/local/runtime';

declare module 'vitest' {
  export interface ProvidedContext {
    apiUrl: string;
    adminKey: string;
    dynamodbEndpoint: string;
    s3Endpoint: string;
    /** The runtime's mail sink folder (shared/mail). */
    mailDir: string;
  }
}

/**
 * Starts the real local runtime once for the test run: in memory, on free ports (so it
 * runs beside a dev server), stopped afterwards with its JVM.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  process.env.LOG_LEVEL ??= 'silent';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // Record what the change fan-out hands to its sinks, at GET /__test/changes (change-feed tests).
  process.env.PRYV_TEST_CHANGE_LOG = '1';
  // Engine.IO pings every second, so socket tests can watch the sweep (sockets.test.ts).
  process.env.SOCKET_PING_INTERVAL_MS = '1000';
  // Every test file logs in from 127.0.0.1: the per-IP login throttle would lock them all
  // out together, so it is raised here and tested on its own runtime (login-throttling.test.ts).
  const runtime = await startLocalRuntime({ port: 0, dataDir: undefined, env: { LOGIN_MAX_FAILURES_PER_IP: '1000' } });
  project.provide('apiUrl', runtime.url);
  project.provide('adminKey', runtime.adminKey);
  project.provide('dynamodbEndpoint', runtime.dynamodb.endpoint);
  project.provide('s3Endpoint', runtime.s3.endpoint);
  project.provide('mailDir', runtime.mailDir);
  return async () => {
    await runtime.stop();
  };
}
