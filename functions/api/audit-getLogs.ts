import { auditGetLogs } from '../../shared/api/methods/audit';
import { httpHandler } from '../../shared/http/handler';

export const handler = httpHandler(auditGetLogs);
