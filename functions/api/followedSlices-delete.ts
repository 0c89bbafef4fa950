import { httpHandler } from '../../shared/http/handler';
import { followedSlicesDelete } from '../../shared/api/methods/followed-slices';

export const handler = httpHandler(followedSlicesDelete);
