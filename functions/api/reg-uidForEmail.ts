import { httpHandler } from '../../shared/http/handler';
import { regUidForEmail } from '../../shared/api/methods/registration';

export const handler = httpHandler(regUidForEmail);
