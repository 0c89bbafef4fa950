import { useSocketSender } from '../shared/domain/notifications/direct-push';

/**
 * Lets the event writes of this function push their own change to the user's sockets
 * (shared/domain/notifications/direct-push.ts). The sender and its `@connections` client are
 * a chunk of the function's bundle, loaded on the first push: functions whose users have no
 * sockets never load them.
 */
export function enableDirectSocketPush(): void {
  useSocketSender(() => import('../shared/socketio/direct-send').then((m) => m.sendToSockets));
}
