import { pingAllSockets } from '../../shared/socketio/outbound';

/**
 * The scheduled ping sweep (EventBridge, every minute: the `pingInterval` the stack
 * announces): Engine.IO servers ping their clients, and API Gateway closes idle WebSockets
 * after 10 minutes. Locally infra/local/socket-pinger.ts runs it on a timer.
 */
export async function handler(): Promise<{ pinged: number; removed: number }> {
  return pingAllSockets();
}
