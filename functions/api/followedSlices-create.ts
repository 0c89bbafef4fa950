import { httpHandler } from '../../shared/http/handler';
import { followedSlicesCreate } from '../../shared/api/methods/followed-slices';

export const handler = httpHandler(followedSlicesCreate);
