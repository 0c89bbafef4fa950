import { httpHandler } from '../../shared/http/handler';
import { profileUpdateApp } from '../../shared/api/methods/profile';

export const handler = httpHandler(profileUpdateApp);
