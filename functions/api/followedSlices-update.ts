import { httpHandler } from '../../shared/http/handler';
import { followedSlicesUpdate } from '../../shared/api/methods/followed-slices';

export const handler = httpHandler(followedSlicesUpdate);
