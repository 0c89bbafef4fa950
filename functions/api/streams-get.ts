import { httpHandler } from '../../shared/http/handler';
import { streamsGet } from '../../shared/api/methods/streams';

export const handler = httpHandler(streamsGet);
