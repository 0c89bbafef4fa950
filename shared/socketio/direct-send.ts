import { managementEndpoint } from '../adapters/socket-connections-api';
import type { SocketSender, SocketSendOutcome } from '../domain/notifications/direct-push';
import { log } from '../log';
import { countMetric, METRIC } from '../metrics';
import { SocketPacketType } from './protocol';
import { sendPacket } from './send';

/**
 * How a writing call posts its own change to the user's sockets
 * (shared/domain/notifications/direct-push.ts): each connection's messages as Socket.IO event
 * packets, through `@connections`, once each. A connection that could not be posted to is
 * reported `failed` and left to the fan-out, which retries; one found gone is forgotten.
 * Loaded on a function's first push only.
 */
export const sendToSockets: SocketSender = async (sends) => {
  const endpoint = managementEndpoint();
  let pushed = 0;
  const outcomes = await Promise.all(
    sends.map(async ({ connection, messages }): Promise<SocketSendOutcome> => {
      try {
        for (const data of messages) {
          const outcome = await sendPacket(endpoint, connection, { type: SocketPacketType.Event, nsp: connection.nsp ?? '/', data });
          if (outcome !== 'sent') return outcome;
          pushed++;
        }
        return 'sent';
      } catch (err) {
        log.warn('socket: direct push not delivered; left to the fan-out', { err, connectionId: connection.connectionId });
        return 'failed';
      }
    }),
  );
  if (pushed > 0) countMetric(METRIC.socketPushes, pushed);
  return outcomes;
};
