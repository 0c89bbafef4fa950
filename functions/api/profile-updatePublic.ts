import { httpHandler } from '../../shared/http/handler';
import { profileUpdatePublic } from '../../shared/api/methods/profile';

export const handler = httpHandler(profileUpdatePublic);
