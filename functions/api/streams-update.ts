import { httpHandler } from '../../shared/http/handler';
import { streamsUpdate } from '../../shared/api/methods/streams';

export const handler = httpHandler(streamsUpdate);
