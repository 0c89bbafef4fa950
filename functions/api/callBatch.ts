import { callBatch } from '../../shared/api/method-loaders';
import { httpHandler } from '../../shared/http/handler';

// The methods of a batch are loaded on first use (chunks of this function's asset), not bundled in its entry.
export const handler = httpHandler(callBatch);
