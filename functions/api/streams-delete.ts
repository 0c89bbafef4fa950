import { httpHandler } from '../../shared/http/handler';
import { streamsDelete } from '../../shared/api/methods/streams';

export const handler = httpHandler(streamsDelete);
