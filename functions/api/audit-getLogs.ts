import { httpHandler } from '../../shared/http/handler';
import { auditGetLogs } from '../../shared/api/methods/audit';

export const handler = httpHandler(auditGetLogs);
