import { httpHandler } from '../../shared/http/handler';
import { seriesBatch } from '../../shared/api/methods/series';

export const handler = httpHandler(seriesBatch);
