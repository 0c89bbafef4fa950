import { httpHandler } from '../../shared/http/handler';
import { profileUpdatePrivate } from '../../shared/api/methods/profile';

export const handler = httpHandler(profileUpdatePrivate);
