import { streamsUpdate } from '../../shared/api/methods/streams';
import { httpHandler } from '../../shared/http/handler';

export const handler = httpHandler(streamsUpdate);
