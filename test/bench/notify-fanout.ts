/**
 * `npm run bench:fanout`: what one batch of changes costs the change fan-out in DynamoDB,
 * with many sockets on one user (README "Performance").
 *
 * One user, SOCKETS shared accesses (one token each, reading one stream), one Socket.IO
 * client per token, connected to the local runtime. Then the fan-out handler
 * (functions/notify/fanout.ts) is called here with batches of EVENTS event-creation records
 * shaped as the table's stream hands them over (half in the readable stream, half in one
 * the tokens cannot read), while a middleware on the DynamoDB client counts the requests
 * each batch made and the items they read. The pushes are real (@connections posts to the
 * runtime's WebSocket API, then the sockets); how many arrived is counted too.
 * Options: BENCH_SOCKETS=100, BENCH_EVENTS=100, BENCH_BATCHES=5.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import { io, type Socket } from 'socket.io-client';
import { handler } from '../../functions/notify/fanout';
import { startLocalRuntime } from '../../infra/local/runtime';
import { useTableMiddleware } from '../../shared/store/clients';

const SOCKETS = Number(process.env.BENCH_SOCKETS ?? 100);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 100);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 5);

interface Counted {
  requests: Map<string, number>;
  itemsRead: number;
}
const scope = new AsyncLocalStorage<Counted>();

function countRequests(): void {
  useTableMiddleware((stack) =>
    stack.add(
      (next, context) => async (args) => {
        const counted = scope.getStore();
        const out = await next(args);
        if (!counted) return out;
        const op = String((context as { commandName?: string }).commandName ?? '').replace(/Command$/, '');
        counted.requests.set(op, (counted.requests.get(op) ?? 0) + 1);
        const output = out.output as unknown as Record<string, unknown>;
        if (op === 'Query') counted.itemsRead += Number(output.ScannedCount ?? 0);
        else if (op === 'GetItem') counted.itemsRead += output.Item ? 1 : 0;
        else if (op === 'BatchGetItem')
          counted.itemsRead += Object.values((output.Responses ?? {}) as Record<string, unknown[]>).reduce((s, r) => s + r.length, 0);
        return out;
      },
      { step: 'initialize', name: 'benchFanoutCounter' },
    ),
  );
}

let sequence = 200_000_000_000_000_000_000n;
function eventRecord(username: string, streamId: string): DynamoDBRecord {
  const id = `c${randomBytes(12).toString('hex')}`;
  const now = Date.now() / 1000;
  const item = {
    pk: `EV#${username}`,
    sk: id,
    id,
    streamIds: [streamId],
    type: 'note/txt',
    content: 'x',
    time: now,
    created: now,
    modified: now,
  };
  const image = (v: Record<string, unknown>) => marshall(v) as unknown as Record<string, AttributeValue>;
  return {
    eventID: id,
    eventName: 'INSERT',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      ApproximateCreationDateTime: Math.floor(now),
      Keys: image({ pk: item.pk, sk: id }),
      NewImage: image(item),
      SequenceNumber: String(sequence++),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

async function main(): Promise<void> {
  process.env.LOG_LEVEL ??= 'silent';
  const runtime = await startLocalRuntime({ port: 0 });
  const sockets: Socket[] = [];
  try {
    const api = async (verb: string, path: string, token: string | undefined, body?: unknown) => {
      const res = await fetch(`${runtime.url}${path}`, {
        method: verb,
        headers: { ...(token ? { authorization: token } : {}), 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = (await res.json()) as any;
      if (res.status >= 300) throw new Error(`${verb} ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    const username = `fanout-${randomBytes(4).toString('hex')}`;
    const reg = await api('POST', '/users', undefined, {
      username,
      password: 'pw-fanout-1',
      email: `${username}@example.com`,
      appId: 'bench-fanout',
    });
    const personal = new URL(reg.apiEndpoint).username;
    await api('POST', `/${username}/streams`, personal, { id: 'vis', name: 'vis' });
    await api('POST', `/${username}/streams`, personal, { id: 'hid', name: 'hid' });
    const tokens: string[] = [];
    for (let i = 0; i < SOCKETS; i++) {
      const { access } = await api('POST', `/${username}/accesses`, personal, {
        type: 'shared',
        name: `reader-${i}`,
        permissions: [{ streamId: 'vis', level: 'read' }],
      });
      tokens.push(access.token);
    }
    let heard = 0;
    await Promise.all(
      tokens.map(
        (token) =>
          new Promise<void>((resolve, reject) => {
            const s = io(`${runtime.url}/${username}/${username}?auth=${encodeURIComponent(token)}`, {
              transports: ['websocket'],
              forceNew: true,
              reconnection: false,
            });
            sockets.push(s);
            s.onAny(() => void heard++);
            s.once('connect', () => resolve());
            s.once('connect_error', reject);
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 1500)); // the setup's own changes pass through the runtime's fan-out first
    countRequests();
    console.log(
      `fan-out of one batch: ${SOCKETS} sockets (${SOCKETS} tokens) on one user, ${EVENTS} event creations per batch (half readable)`,
    );
    console.log('batch | requests (by operation)                | items read | ms   | messages heard');
    for (let b = 0; b < BATCHES; b++) {
      const records = Array.from({ length: EVENTS }, (_, i) => eventRecord(username, i % 2 === 0 ? 'vis' : 'hid'));
      const counted: Counted = { requests: new Map(), itemsRead: 0 };
      heard = 0;
      const started = performance.now();
      const out = await scope.run(counted, () => handler({ Records: records }));
      const ms = performance.now() - started;
      if (out.batchItemFailures.length > 0) throw new Error(`batch failed: ${JSON.stringify(out.batchItemFailures)}`);
      const deadline = Date.now() + 5000;
      while (heard < SOCKETS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const total = [...counted.requests.values()].reduce((s, n) => s + n, 0);
      const byOp = [...counted.requests].map(([op, n]) => `${op} ${n}`).join(', ');
      console.log(
        `${String(b + 1).padStart(5)} | ${`${total}: ${byOp}`.padEnd(38)} | ${String(counted.itemsRead).padStart(10)} | ${ms.toFixed(0).padStart(4)} | ${heard}`,
      );
    }
  } finally {
    for (const s of sockets) s.close();
    await runtime.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
