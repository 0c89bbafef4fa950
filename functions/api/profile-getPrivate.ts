import { httpHandler } from '../../shared/http/handler';
import { profileGetPrivate } from '../../shared/api/methods/profile';

export const handler = httpHandler(profileGetPrivate);
