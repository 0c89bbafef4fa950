import { followedSlicesDelete } from '../../shared/api/methods/followed-slices';
import { httpHandler } from '../../shared/http/handler';

export const handler = httpHandler(followedSlicesDelete);
