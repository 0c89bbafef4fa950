import { httpHandler } from '../../shared/http/handler';
import { seriesAdd } from '../../shared/api/methods/series';

export const handler = httpHandler(seriesAdd);
