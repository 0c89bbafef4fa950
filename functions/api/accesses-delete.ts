import { httpHandler } from '../../shared/http/handler';
import { accessesDelete } from '../../shared/api/methods/accesses';

export const handler = httpHandler(accessesDelete);
