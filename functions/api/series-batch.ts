import { seriesBatch } from '../../shared/api/methods/series';
import { httpHandler } from '../../shared/http/handler';

export const handler = httpHandler(seriesBatch);
