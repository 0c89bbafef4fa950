import { httpHandler } from '../../shared/http/handler';
import { streamsCreate } from '../../shared/api/methods/streams';

export const handler = httpHandler(streamsCreate);
