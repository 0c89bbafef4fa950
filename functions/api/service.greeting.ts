import { httpHandler } from '../../shared/http/handler';
import { greeting } from '../../shared/api/methods/service';

export const handler = httpHandler(greeting);
