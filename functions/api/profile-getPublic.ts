import { httpHandler } from '../../shared/http/handler';
import { profileGetPublic } from '../../shared/api/methods/profile';

export const handler = httpHandler(profileGetPublic);
