import { httpHandler } from '../../shared/http/handler';
import { followedSlicesGet } from '../../shared/api/methods/followed-slices';

export const handler = httpHandler(followedSlicesGet);
