import { httpHandler } from '../../shared/http/handler';
import { profileGetApp } from '../../shared/api/methods/profile';

export const handler = httpHandler(profileGetApp);
