import { httpHandler } from '../../shared/http/handler';
import { accessesCheckApp } from '../../shared/api/methods/accesses';

export const handler = httpHandler(accessesCheckApp);
