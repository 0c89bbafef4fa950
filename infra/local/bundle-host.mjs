// One synthesized function bundle (cdk.out/asset.…/index.mjs) in its own worker thread, with
// its own process.env (the variables the template gives it, see infra/local/bundles.ts): the
// local stand-in for a Lambda container. Plain JavaScript, so that nothing but Node.js runs
// between the bundle and the gateway. Messages: {id, event, requestId, timeoutMs} in,
// {id, result} or {id, error} out.

import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { lambdaContext } from './lambda-context.mjs';

const { file, functionName, memoryMb } = workerData;
const loading = import(pathToFileURL(file).href);
// A bundle that fails to load fails every call, with the reason (as Lambda's init error).
loading.catch(() => undefined);

parentPort.on('message', async ({ id, event, requestId, timeoutMs }) => {
  try {
    const module = await loading;
    if (typeof module.handler !== 'function') throw new Error(`${file} exports no handler`);
    const result = await module.handler(event, lambdaContext({ requestId, functionName, memoryMb, timeoutMs }));
    parentPort.postMessage({ id, result });
  } catch (err) {
    parentPort.postMessage({ id, error: err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err) });
  }
});
