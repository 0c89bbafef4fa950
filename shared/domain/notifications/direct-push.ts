import { log } from '../../log';
import type { EventChange, PushMark } from '../../model/notifications';
import type { SocketConnection } from '../../model/socket-connections';
import type { DataMeta } from '../../model/streams';
import { listUserConnections } from '../../store/socket-connections';
import { newPushMark, recordPush } from '../../store/socket-pushes';
import type { Caller } from '../caller';
import type { StreamTree } from '../streams/tree';
import type { Audience } from './audience';
import { snapshotOpens } from './snapshot';

/**
 * A writing call tells the user's sockets of its own change right after its commit, before
 * its usage and audit writes (finished beside them) and its answer (README "Sockets"),
 * instead of leaving it all to the change fan-out, which reads the table's stream later
 * (locally ~10–20 ms, in AWS a few hundred). The same rules decide who hears of what (./audience.ts, the connection's kept
 * access snapshot and scopes), so a connection is never told of what its access cannot read.
 *
 * The stream path stays the durable one: the change's head carries this push's mark, written
 * in the commit's own transaction; after its posts the call records which connections it
 * decided for (shared/store/socket-pushes.ts). The fan-out leaves those out, and tells every
 * other connection, and all of them if no record came by the mark's deadline (the call died
 * after its commit, or was that slow): a socket hears of a change once, or in that rare case
 * twice, never not at all.
 *
 * Cheap for users without sockets: a call pushes only when the user's data meta (read by
 * every call that may write an event, with its token) says a connection may be open
 * (`socketsUntil`, set as one is bound and removed when the last one closes); the
 * connections Query then runs right after the commit (after, so that an access change
 * committed before this write is seen: shared/domain/sockets.ts holdSocketsBeforeAccessChange).
 */

/** What a post to a connection came to; `failed` leaves the connection to the fan-out. */
export type SocketSendOutcome = 'sent' | 'gone' | 'too-large' | 'failed';

/** Posts Socket.IO event packets (each an array: name and arguments) to connections; one outcome per send. */
export type SocketSender = (sends: ReadonlyArray<{ connection: SocketConnection; messages: unknown[][] }>) => Promise<SocketSendOutcome[]>;

let loadSender: (() => Promise<SocketSender>) | undefined;

/**
 * Enables direct pushes in this function: the transport's sender, loaded on the first push
 * (entry points that write events register it; others never push).
 */
export function useSocketSender(load: (() => Promise<SocketSender>) | undefined): void {
  loadSender = load;
}

/**
 * How long after the mark is made the fan-out waits for the push's record before telling
 * every connection itself: far above a call's commit and posts, so that a live call is not
 * doubled, and what a socket waits when the call died.
 */
export const PUSH_GRACE_MS = 3000;

export interface DirectPush {
  /** To write on the changed event's head, in the commit's transaction. */
  readonly mark: PushMark;
  /**
   * After the commit: tells the connections and records which it decided for, handed to the
   * caller's `alongside` (finished beside its usage and audit writes) or else awaited. Never throws.
   */
  committed(change: EventChange, tree: StreamTree): Promise<void>;
}

/**
 * A direct push for a call about to commit an event change, or `undefined` when this call
 * does not push (no sender here, no management endpoint, a call of a callBatch, whose changes
 * the fan-out coalesces, or no socket bound for the user within a connection's lifetime): the
 * fan-out then tells every socket, as before.
 */
export function startDirectPush(
  caller: Pick<Caller, 'username' | 'config' | 'inBatch' | 'alongside'>,
  meta: DataMeta,
): DirectPush | undefined {
  const load = loadSender;
  if (!load || !caller.config.socketManagementEndpoint || caller.inBatch) return undefined;
  const now = Date.now();
  if (meta.socketsUntil === undefined || meta.socketsUntil * 1000 <= now) return undefined;
  const mark = newPushMark(now + PUSH_GRACE_MS);
  const { username } = caller;
  // Beside the commit; the deciding and sending code is loaded on the first push only, so
  // that event writes of users without sockets never load it.
  const sender = load();
  const deciding = import('./audience');
  for (const p of [sender, deciding]) p.catch(() => undefined);
  return {
    mark,
    committed: async (change, tree) => {
      const work = (async () => {
        try {
          // Read after the commit, not beside it: an access change committed before this
          // write held its sockets' copies first (../sockets.ts holdSocketsBeforeAccessChange),
          // so none is decided on permissions the access no longer has.
          const connections = await listUserConnections(username);
          const { Audience } = await deciding;
          const audience = new Audience([change], tree, caller.config.notificationScope);
          await push(username, mark, audience, connections, sender);
        } catch (err) {
          // Not recorded: the fan-out tells every socket once the mark's deadline passed.
          log.warn('socket: direct push failed; left to the fan-out', { err, pushId: mark.id });
        }
      })();
      // The posts start now either way; the answer waits for them only beside its own writes.
      if (caller.alongside) caller.alongside(work);
      else await work;
    },
  };
}

async function push(
  username: string,
  mark: PushMark,
  audience: Audience,
  connections: SocketConnection[],
  sender: Promise<SocketSender>,
): Promise<void> {
  // No connection (they closed since the hint was set): recorded all the same, as deciding for
  // none, so that the fan-out tells a socket bound since then at once. Unrecorded, the fan-out
  // would wait for the mark's deadline, and with it every later batch of the table's stream
  // (other users' notifications, new sockets' open packets).
  if (connections.length === 0) {
    await recordPush(username, mark.id, []);
    return;
  }
  const now = Date.now() / 1000;
  const decided: string[] = [];
  const sends: Array<{ connection: SocketConnection; messages: unknown[][] }> = [];
  for (const connection of connections) {
    const snapshot = connection.access;
    // Whose access must be read, or has ended, are the fan-out's (it reads or closes them).
    if (!connection.token || !snapshot || snapshotOpens(snapshot, now) !== true) continue;
    const told = audience.tell(snapshot, connection.scopes);
    const messages: unknown[][] = told.messages.map((m) => [m]);
    if (told.keys.length > 0) messages.push(['notificationsChanged', { keys: told.keys }]);
    if (messages.length === 0)
      decided.push(connection.connectionId); // nothing it may hear of
    else sends.push({ connection, messages });
  }
  if (sends.length > 0) {
    const outcomes = await (await sender)(sends);
    outcomes.forEach((outcome, i) => {
      if (outcome !== 'failed') decided.push(sends[i]!.connection.connectionId);
    });
  }
  await recordPush(username, mark.id, decided);
}
