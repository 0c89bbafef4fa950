import { httpHandler } from '../../shared/http/handler';
import { uidForEmail } from '../../shared/api/methods/registration';

export const handler = httpHandler(uidForEmail);
