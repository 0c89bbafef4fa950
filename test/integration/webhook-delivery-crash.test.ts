import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../infra/local/ports';
import { keys } from '../../shared/store/keys';
import { waitUntil } from './wait';

/**
 * Delivery state survives a crash: the local runtime runs in a child
 * process (`tsx infra/local/start.ts`) on a data folder; while a webhook is being retried it
 * is killed with SIGKILL, together with its DynamoDB Local JVM (no clean stop, no flush), and
 * started again on the same folder. Every write the API acknowledged is still there and the
 * queued messages reach the receiver once it answers 200.
 */

const ROOT = resolve(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const TABLE = 'pryv-main'; // infra/local/runtime.ts
const START_TIMEOUT_MS = 120_000; // a cold JVM + tsx on a loaded 2-core machine
const WAIT_MS = 150_000; // above the 60 s lease of an attempt cut short by the kill (webhook-delivery.ts LEASE_S)
/** Settings of the child runtime: quick retries, never given up during the test, loopback receivers. */
const CHILD_SETTINGS = {
  WEBHOOK_MIN_INTERVAL_MS: '300',
  WEBHOOK_MAX_RETRIES: '1000',
  WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
  LOG_LEVEL: 'info',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

const until = waitUntil({ timeoutMs: WAIT_MS });

/** Parent PID and state of a process from /proc (undefined once it is gone). */
function procStat(pid: number): { ppid: number; pgid: number; state: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // the command name may hold spaces
    return { state: fields[0]!, ppid: Number(fields[1]), pgid: Number(fields[2]) };
  } catch {
    return undefined;
  }
}

const allPids = () =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);

/** `pid` and all its descendants (children first found through /proc's parent links). */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const p of allPids()) {
    const stat = procStat(p);
    if (stat) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), p]);
  }
  const tree: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    tree.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return tree;
}

/** Running: present and not a zombie (a killed grandchild may wait for a reaper). */
const alive = (pid: number) => {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
};
/** Live members of a process group. */
const groupMembers = (pgid: number) => allPids().filter((p) => procStat(p)?.pgid === pgid && alive(p));

interface Child {
  process: ChildProcess;
  url: string;
  dynamodbEndpoint: string;
  output: () => string;
}

const children: ChildProcess[] = [];

/** Starts `tsx infra/local/start.ts` in its own process group on `dataDir`; resolves once it serves. */
async function startChild(dataDir: string): Promise<Child> {
  const [port, dynamodbPort, s3Port] = await freePorts(3);
  // A clean environment: nothing of this test process's own runtime (ADMIN_KEY, TABLE_NAME…) leaks in.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? tmpdir(),
    ...(process.env.JAVA_HOME ? { JAVA_HOME: process.env.JAVA_HOME } : {}),
    ...CHILD_SETTINGS,
    PORT: String(port),
    DATA_DIR: dataDir,
    DYNAMODB_PORT: String(dynamodbPort),
    S3_PORT: String(s3Port),
  };
  // detached: the child leads a process group that its node and JVM descendants join, so one
  // kill(-pgid) reaches them all, even one spawned after we looked.
  const child = spawn(TSX, ['infra/local/start.ts'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  await until(
    'the child runtime to start',
    () => {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`child runtime exited (${child.exitCode ?? child.signalCode}):\n${output.slice(-3000)}`);
      return output.includes(`API running at ${url}/`);
    },
    START_TIMEOUT_MS,
  );
  return { process: child, url, dynamodbEndpoint: `http://127.0.0.1:${dynamodbPort}`, output: () => output };
}

/** SIGKILLs a child runtime and every descendant (the JVM included); waits until none runs. */
async function killHard(child: ChildProcess): Promise<void> {
  const pid = child.pid!;
  const tree = processTree(pid);
  try {
    process.kill(-pid, 'SIGKILL'); // the whole group at once
  } catch {
    /* already gone */
  }
  for (const p of tree) {
    try {
      process.kill(p, 'SIGKILL'); // and any descendant that left the group
    } catch {
      /* already gone */
    }
  }
  await until('the killed processes to end', () => tree.every((p) => !alive(p)) && groupMembers(pid).length === 0, 30_000);
}

describe('webhook delivery across a crash (SIGKILL)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pryv-crash-'));
  let server: Server | undefined;

  afterAll(async () => {
    // Nothing left running, even after a failure: every child's group and tree, by PID.
    for (const child of children) if (child.pid) await killHard(child).catch(() => undefined);
    for (const child of children) expect(groupMembers(child.pid!)).toEqual([]);
    server?.closeAllConnections();
    if (server) await new Promise<void>((done) => server!.close(() => done()));
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('a webhook in mid-retry delivers its messages after the runtime and its JVM are killed and restarted on the same data', async () => {
    let status = 503;
    const received: Array<{ status: number; raw: string; headers: Record<string, string>; messages: string[] }> = [];
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let messages: string[] = [];
        try {
          messages = JSON.parse(raw).messages ?? [];
        } catch {
          /* kept with no messages */
        }
        received.push({ status, raw, headers: req.headers as Record<string, string>, messages });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
    const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

    let child = await startChild(dataDir);
    const api = async (verb: string, path: string, token: string | undefined, body?: unknown) => {
      const res = await fetch(`${child.url}${path}`, {
        method: verb,
        headers: { ...(token ? { authorization: token } : {}), 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const adminKey = readFileSync(join(dataDir, 'admin-key'), 'utf8').trim();
    const username = `crash-${randomBytes(4).toString('hex')}`;
    const reg = await api('POST', '/users', undefined, {
      username,
      password: 'pw-crash-1',
      email: `${username}@example.com`,
      appId: 'test-app-id',
    });
    expect(reg.status, JSON.stringify(reg.body)).toBe(201);
    const personal = new URL(reg.body.apiEndpoint).username;
    const app = await api('POST', `/${username}/accesses`, personal, {
      type: 'app',
      name: 'app',
      permissions: [{ streamId: '*', level: 'manage' }],
    });
    expect(app.status, JSON.stringify(app.body)).toBe(201);
    const appToken: string = app.body.access.token;
    expect((await api('POST', `/${username}/streams`, personal, { id: 's', name: 's' })).status).toBe(201);

    const created = await api('POST', `/${username}/webhooks`, appToken, { url: target });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const webhook = created.body.webhook;
    expect(webhook.minIntervalMs).toBe(Number(CHILD_SETTINGS.WEBHOOK_MIN_INTERVAL_MS));
    const eventIds: string[] = [];
    for (let i = 0; i < 5; i++) {
      const ev = await api('POST', `/${username}/events`, personal, { streamIds: ['s'], type: 'count/generic', content: i });
      expect(ev.status, JSON.stringify(ev.body)).toBe(201);
      eventIds.push(ev.body.event.id);
    }
    expect((await api('POST', `/${username}/streams`, personal, { id: 's2', name: 's2' })).status).toBe(201);

    // In mid-retry: failed calls recorded, more scheduled.
    const failing = await until('failed attempts recorded', async () => {
      const got = await api('GET', `/${username}/webhooks/${webhook.id}`, appToken);
      const w = got.body.webhook;
      return w && w.failCount >= 2 && w.currentRetries >= 2 && w.state === 'active' ? w : undefined;
    });
    expect(received.length).toBeGreaterThanOrEqual(2);
    expect(received.every((r) => r.status === 503)).toBe(true);
    // Writes acknowledged just before the kill: they must survive it.
    for (let i = 5; i < 8; i++) {
      const ev = await api('POST', `/${username}/events`, personal, { streamIds: ['s'], type: 'count/generic', content: i });
      expect(ev.status, JSON.stringify(ev.body)).toBe(201);
      eventIds.push(ev.body.event.id);
    }
    const lastSeen = (await api('GET', `/${username}/webhooks/${webhook.id}`, appToken)).body.webhook;

    // The crash: SIGKILL to the runtime and its JVM, no clean stop.
    const pids = processTree(child.process.pid!);
    expect(pids.length).toBeGreaterThanOrEqual(2); // tsx's node and at least the JVM below it
    await killHard(child.process);
    for (const p of pids) expect(alive(p)).toBe(false);
    const callsBeforeCrash = received.length;

    child = await startChild(dataDir);
    expect(readFileSync(join(dataDir, 'admin-key'), 'utf8').trim()).toBe(adminKey); // the same data folder, the same key
    const info = await fetch(`${child.url}/system/user-info/${username}`, { headers: { authorization: adminKey } });
    expect(info.status).toBe(200);

    // Every acknowledged write is still there.
    const events = await api('GET', `/${username}/events?streams[]=s&limit=100`, personal);
    expect(events.status).toBe(200);
    expect(events.body.events.map((e: { id: string }) => e.id).sort()).toEqual([...eventIds].sort());
    const restarted = (await api('GET', `/${username}/webhooks/${webhook.id}`, appToken)).body.webhook;
    expect(restarted.state).toBe('active');
    expect(restarted.failCount).toBeGreaterThanOrEqual(lastSeen.failCount);
    expect(restarted.runCount).toBeGreaterThanOrEqual(lastSeen.runCount);

    // The receiver is back: the queued messages arrive.
    status = 200;
    const ok = await until('delivery after the crash', () => received.slice(callsBeforeCrash).find((r) => r.status === 200));
    expect(ok.messages).toEqual(expect.arrayContaining(['eventsChanged', 'streamsChanged']));
    expect(() =>
      new StandardWebhook(webhook.secret).verify(ok.raw, {
        'webhook-id': ok.headers['webhook-id']!,
        'webhook-timestamp': ok.headers['webhook-timestamp']!,
        'webhook-signature': ok.headers['webhook-signature']!,
      }),
    ).not.toThrow();
    // Once queued, eventsChanged is in every call until a 2xx (the batch is kept across the crash).
    const firstWithEvents = received.findIndex((r) => r.messages.includes('eventsChanged'));
    expect(firstWithEvents).toBeGreaterThanOrEqual(0);
    expect(firstWithEvents).toBeLessThan(callsBeforeCrash);
    for (const r of received.slice(firstWithEvents, received.indexOf(ok) + 1)) expect(r.messages).toContain('eventsChanged');

    const after = await until('statistics after delivery', async () => {
      const got = await api('GET', `/${username}/webhooks/${webhook.id}`, appToken);
      const w = got.body.webhook;
      return w.currentRetries === 0 && w.lastRun?.status === 200 ? w : undefined;
    });
    expect(after.state).toBe('active');
    expect(after.failCount).toBeGreaterThanOrEqual(failing.failCount);
    expect(after.runs[0].status).toBe(200);
    expect(after.runs.some((r: { status: number }) => r.status === 503)).toBe(true);
    // Each call is recorded after it returns: at most the one in flight at the kill went unrecorded.
    const calls = received.length;
    expect(after.runCount).toBeLessThanOrEqual(calls);
    expect(after.runCount).toBeGreaterThanOrEqual(calls - 1);
    expect(after.failCount).toBe(after.runCount - received.filter((r) => r.status === 200).length);

    // Drained: nothing pending, no attempt scheduled, no due item left behind (storage checked directly).
    const ddb = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: child.dynamodbEndpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      }),
    );
    try {
      await until('the webhook drained', async () => {
        const item = (await ddb.send(new GetCommand({ TableName: TABLE, Key: keys.webhook(username, webhook.id), ConsistentRead: true })))
          .Item;
        return item && (item.pending === undefined || item.pending.size === 0) && item.nextAttempt === undefined;
      });
      const due = await ddb.send(
        new QueryCommand({
          TableName: TABLE,
          KeyConditionExpression: 'pk = :pk',
          FilterExpression: 'webhookId = :id',
          ExpressionAttributeValues: { ':pk': 'WEBHOOKDUE', ':id': webhook.id },
          ConsistentRead: true,
        }),
      );
      expect(due.Items ?? []).toEqual([]);
    } finally {
      ddb.destroy();
    }
    expect(existsSync(join(dataDir, 'dynamodb'))).toBe(true);
  }, 600_000);
});
