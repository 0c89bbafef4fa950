import { profileUpdatePublic } from '../../shared/api/methods/profile';
import { httpHandler } from '../../shared/http/handler';

export const handler = httpHandler(profileUpdatePublic);
