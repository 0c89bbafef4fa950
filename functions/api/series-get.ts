import { httpHandler } from '../../shared/http/handler';
import { seriesGet } from '../../shared/api/methods/series';

export const handler = httpHandler(seriesGet);
