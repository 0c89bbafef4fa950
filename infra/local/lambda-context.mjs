// The Lambda context object the local runtime hands a handler, whether it runs from sources
// (gateway.ts) or from its bundle in a worker (bundle-host.mjs). Plain JavaScript so the
// bundle host, which runs without tsx, can import it too; types in lambda-context.d.mts.

export function lambdaContext({ requestId, functionName, memoryMb, timeoutMs }) {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
