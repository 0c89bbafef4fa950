import { httpHandler } from '../../shared/http/handler';
import { cores } from '../../shared/api/methods/registration';

export const handler = httpHandler(cores);
