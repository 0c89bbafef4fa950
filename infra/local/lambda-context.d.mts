import type { Context } from 'aws-lambda';

export function lambdaContext(options: { requestId: string; functionName: string; memoryMb: number; timeoutMs: number }): Context;
