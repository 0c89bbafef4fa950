import { httpHandler } from '../../shared/http/handler';
import { accessesGet } from '../../shared/api/methods/accesses';

export const handler = httpHandler(accessesGet);
