import { callBatch } from '../../shared/api/method-loaders';
import { httpHandler } from '../../shared/http/handler';
import { enableDirectSocketPush } from '../direct-push';

enableDirectSocketPush(); // its event writes tell the user's sockets themselves
// The methods of a batch are loaded on first use (chunks of this function's asset), not bundled in its entry.
export const handler = httpHandler(callBatch);
