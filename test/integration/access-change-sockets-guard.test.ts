import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config, resetConfig } from '../../shared/config';
import { deleteAccessWith } from '../../shared/domain/accesses/manage';
import { updateAccessFrom } from '../../shared/domain/accesses/update';
import { logout, openSession } from '../../shared/domain/accounts/sessions';
import type { Caller } from '../../shared/domain/caller';
import type { Access } from '../../shared/model/accesses';
import { getAccessByToken, getAccessWithDataMeta } from '../../shared/store/accesses';
import { resetClients } from '../../shared/store/clients';
import { listUserConnections } from '../../shared/store/socket-connections';
import { apiUrl, call, createUser, type TestUser, useRuntimeStore } from '../setup/api';
import { startDynamoDBProxy } from '../setup/dynamodb-proxy';
import { type ListeningSocket, listen } from '../setup/notify-clients';
import { waitUntil } from './wait';

/**
 * An access change that may narrow what a token reads (accesses.update of permissions or
 * expiry, accesses.delete, auth.logout) holds its tokens' sockets' copies of the access before
 * it commits (README "Sockets", direct pushes), which costs a Query of the user's connections.
 * For a user without sockets (the data meta's hint, read with the token) it is skipped, the
 * commit carrying the condition that no socket is bound at that instant. Run here in this
 * process (the domain functions, as the API calls them) against the runtime's DynamoDB Local
 * through a proxy that records every request and can hold one back; the sockets are real ones
 * of the local runtime.
 */

const suffix = () => randomBytes(4).toString('hex');
const until = waitUntil({ timeoutMs: 30_000 });

interface Seen {
  operation: string;
  body: string;
}

describe('access changes and the sockets of their tokens', () => {
  let user: TestUser;
  let u: string;
  const streamA = `a-${suffix()}`;
  const streamB = `b-${suffix()}`;
  const seen: Seen[] = [];
  /** When set, the next transaction naming `marker` (the changed access's token) waits for `release` (once). */
  let holdCommit: { marker: string; reached: () => void; release: Promise<void> } | undefined;
  let proxy: Awaited<ReturnType<typeof startDynamoDBProxy>>;
  const opened: ListeningSocket[] = [];

  /** A caller as the API builds it: the access, and the data meta read with its token. */
  async function callerFor(token: string): Promise<Caller> {
    const found = await getAccessWithDataMeta(u, token);
    return {
      username: u,
      access: found.access!,
      now: Date.now() / 1000,
      author: found.access!.id,
      config: config(),
      prefetched: { dataMeta: found.meta },
    };
  }
  const connectionQueries = () => seen.filter((s) => s.operation === 'Query' && s.body.includes('"WSCONN#"'));
  const guarded = () => seen.filter((s) => s.operation === 'TransactWriteItems' && s.body.includes('"ConditionCheck"'));

  async function appAccess(name: string, streamId: string): Promise<{ id: string; token: string }> {
    const res = await call('POST', `/${u}/accesses`, {
      token: user.token,
      body: { type: 'app', name, permissions: [{ streamId, level: 'read' }] },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { id: res.body.access.id, token: res.body.access.token };
  }

  beforeAll(async () => {
    useRuntimeStore();
    user = await createUser();
    u = user.username;
    for (const id of [streamA, streamB]) {
      const res = await call('POST', `/${u}/streams`, { token: user.token, body: { id, name: id } });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    proxy = await startDynamoDBProxy(process.env.DYNAMODB_ENDPOINT!, ({ operation, body }) => {
      const text = body.toString('utf8');
      seen.push({ operation, body: text });
      if (holdCommit && operation === 'TransactWriteItems' && text.includes(holdCommit.marker)) {
        const hold = holdCommit;
        holdCommit = undefined;
        hold.reached();
        return { before: hold.release };
      }
      return undefined;
    });
    process.env.DYNAMODB_ENDPOINT = proxy.url;
    resetConfig();
    resetClients();
  });

  afterAll(async () => {
    for (const s of opened) s.close();
    useRuntimeStore();
    await proxy?.close();
  });

  it('a user without sockets: update, delete and logout commit without a Query of its connections', async () => {
    const app = await appAccess(`app-${suffix()}`, streamA);
    const other = await appAccess(`other-${suffix()}`, streamA);
    seen.length = 0;

    const updated = await updateAccessFrom(await callerFor(user.token), app.id, { permissions: [{ streamId: streamB, level: 'read' }] });
    expect((updated as { permissions: Access['permissions'] }).permissions).toEqual([{ streamId: streamB, level: 'read' }]);
    expect((await getAccessByToken(u, app.token))?.permissions).toEqual([{ streamId: streamB, level: 'read' }]);

    await deleteAccessWith(await callerFor(user.token), other.id);
    expect(await getAccessByToken(u, other.token)).toBeUndefined();

    const session: Access = await openSession(u, `guard-${suffix()}`, Date.now() / 1000);
    await logout(await callerFor(session.token));
    expect((await getAccessByToken(u, session.token))?.sessionExpires).toBeLessThanOrEqual(Date.now() / 1000);

    expect(connectionQueries(), 'no Query of the connections').toEqual([]);
    expect(guarded().length, 'each commit carried the no-socket condition').toBe(3);
  });

  it('a socket bound between the token read and the commit: the guarded commit is refused, the socket held, then the change commits', async () => {
    const app = await appAccess(`raced-${suffix()}`, streamA);
    const caller = await callerFor(user.token);
    expect(caller.prefetched?.dataMeta?.socketsUntil ?? 0, 'no socket yet').toBeLessThanOrEqual(Date.now() / 1000);
    let reached!: () => void;
    const atCommit = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let release!: () => void;
    holdCommit = { marker: app.token, reached, release: new Promise<void>((resolve) => (release = resolve)) };
    seen.length = 0;

    const update = updateAccessFrom(caller, app.id, { permissions: [{ streamId: streamB, level: 'read' }] });
    await atCommit;
    // Meanwhile the app's token opens a socket: bound on the access as it still is (stream A).
    const socket = await listen(apiUrl(), u, app.token);
    opened.push(socket);
    await until('the socket bound', async () => (await listUserConnections(u)).some((c) => c.token === app.token));
    release();
    const answer = (await update) as { id: string; permissions: Access['permissions'] };
    expect(answer.permissions).toEqual([{ streamId: streamB, level: 'read' }]);

    // The socket keeps no copy of the old permissions: held for the new version (or already
    // renewed from it by the fan-out). Skipping the hold would leave stream A's copy here, on
    // which a write committed now would be pushed.
    const [connection] = (await listUserConnections(u)).filter((c) => c.token === app.token);
    expect(connection, 'still bound').toBeDefined();
    if (connection!.access !== undefined) expect(connection!.access.permissions).toEqual([{ streamId: streamB, level: 'read' }]);
    else expect(connection!.accessHeldFor).toBe(Number(answer.id.split(':')[1]));
    // The guarded commit was refused (nothing changed), the connections were queried, then it committed.
    expect(guarded().length).toBe(1);
    expect(connectionQueries().length).toBeGreaterThanOrEqual(1);
    expect(seen.indexOf(connectionQueries()[0]!)).toBeGreaterThan(seen.indexOf(guarded()[0]!));
  });
});
