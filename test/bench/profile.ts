/**
 * Where the local runtime's CPU goes under one call shape: starts `infra/local/start.ts`
 * (what `npm start` runs) in its own Node process with the inspector on, seeds an account
 * (bench seed: 70 streams, a shared access on 10 leaves, PROFILE_EVENTS events), lets the
 * background work settle, then records a CPU profile while PROFILE_CONCURRENCY clients call
 * one shape for PROFILE_SECONDS, and prints the top self-time functions and a summary by
 * origin (AWS SDK, ajv, middy, our code, Node internals, GC).
 *
 *   npx tsx test/bench/profile.ts events.create            (master token)
 *   npx tsx test/bench/profile.ts events.get-restricted    (no filter, limit 100)
 *   other shapes: events.create-restricted, events.get-master, streams.get,
 *   series.add-10 / series.add-100 / series.add-1000 (appends to 4 holders, 100 Hz readings with
 *   two decimals), series.tool-1000 (as the reference tool's series-write-batch1000: two holders
 *   in turn, whole epoch seconds from now on, random values with two decimals),
 *   series.get-100000 (one holder of 100,000 points)
 *   npx tsx test/bench/profile.ts test-artifacts/profile/x.cpuprofile CALLS   (summarise again)
 *
 * The profile (.cpuprofile, loadable in Chrome DevTools) and the summary are written under
 * test-artifacts/profile/. The server is stopped by its process id at the end.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { freePorts } from '../../infra/local/ports';

const SHAPE = process.argv[2] ?? 'events.create';
/** `profile.ts file.cpuprofile CALLS`: summarise a profile recorded earlier. */
const REPLAY = SHAPE.endsWith('.cpuprofile');
const SECONDS = Number(process.env.PROFILE_SECONDS ?? 20);
const CONCURRENCY = Number(process.env.PROFILE_CONCURRENCY ?? 10);
const EVENTS = Number(process.env.PROFILE_EVENTS ?? 10000);
const SHAPES = ['events.create', 'events.create-restricted', 'events.get-master', 'events.get-restricted', 'streams.get'];
const SERIES_SHAPE = /^series\.(add|get|tool)-(\d+)$/.exec(SHAPE);
if (!REPLAY && !SHAPES.includes(SHAPE) && !SERIES_SHAPE) throw new Error(`shape: one of ${SHAPES.join(', ')}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

/** The origin of a function, from its script URL. */
function origin(url: string, name: string): string {
  if (name === '(garbage collector)') return 'GC';
  if (name === '(program)' || name === '(idle)' || name === '(root)') return name;
  if (/@smithy\/signature-v4|@aws-crypto|httpAuthSchemes/.test(url)) return 'AWS SDK: request signing';
  if (/@aws-sdk\/(lib-dynamodb|util-dynamodb)/.test(url)) return 'AWS SDK: document (un)marshalling';
  if (
    /@smithy\/core\/dist-cjs\/submodules\/(protocols|schema|serde)|@aws-sdk\/client-dynamodb|@aws-sdk\/core\/dist-cjs\/submodules\/protocols/.test(
      url,
    )
  )
    return 'AWS SDK: wire (de)serialisation';
  if (/@smithy\/core\/dist-cjs\/submodules\/endpoints|@smithy\/(middleware-endpoint|util-endpoints)|@aws-sdk\/util-endpoints/.test(url))
    return 'AWS SDK: endpoint resolution';
  if (/@smithy\/core\/dist-cjs\/submodules\/retry|@smithy\/(middleware-retry|util-retry)/.test(url)) return 'AWS SDK: retry middleware';
  if (/@smithy\/(node-http-handler|fetch-http-handler)/.test(url)) return 'AWS SDK: HTTP handler';
  if (/@aws-sdk|@smithy/.test(url)) return 'AWS SDK: middleware stack, user agent, other';
  if (/\/ajv(-formats)?\//.test(url)) return 'ajv';
  if (/@middy/.test(url)) return 'middy';
  if (/node_modules\/(tsx|esbuild)/.test(url)) return 'tsx loader';
  if (/node_modules\//.test(url)) return `other package: ${/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1]}`;
  if (/\/(shared|functions|infra)\//.test(url)) {
    const m = /\/((?:shared|functions|infra)\/.+?)(\?|$)/.exec(url);
    return `ours: ${m?.[1]?.split('/').slice(0, 2).join('/') ?? url}`;
  }
  if (/^node:(_http|http|net|stream|internal\/(streams|stream_base|net|http))/.test(url)) return 'Node: HTTP, sockets, streams';
  if (url.startsWith('node:')) return 'Node: other internals';
  return url === '' ? '(native, no JS caller)' : url;
}

/**
 * Self time by origin. Native and Node-internal frames (socket writes, hashing, JSON.parse)
 * are charged to their nearest caller in a package or in our code, so a hash counts as
 * signing and a socket write as the client that wrote; what no such caller started (event
 * loop callbacks: socket reads, timers) stays as Node.
 */
export function summarise(profile: Profile, calls: number, title: string): string {
  const total = profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0);
  const ms = (profile.endTime - profile.startTime) / 1000;
  const perHit = total > 0 ? ms / total : 0;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const special = (f: ProfileNode) => f.callFrame.functionName.startsWith('(');
  const internal = (f: ProfileNode) => f.callFrame.url === '' || f.callFrame.url.startsWith('node:');
  /** The nearest caller that is package or repository code; else the nearest Node frame. */
  const scripted = (n: ProfileNode): ProfileNode => {
    if (special(n)) return n;
    let nodeFrame: ProfileNode | undefined;
    for (let cur: ProfileNode | undefined = n; cur && !special(cur); cur = byId.get(parent.get(cur.id) ?? -1)) {
      if (!internal(cur)) return cur;
      if (!nodeFrame && cur.callFrame.url !== '') nodeFrame = cur;
    }
    return nodeFrame ?? n;
  };
  const busy = profile.nodes.filter((n) => n.callFrame.functionName !== '(idle)').reduce((s, n) => s + (n.hitCount ?? 0), 0);
  const byOrigin = new Map<string, number>();
  const byFunction = new Map<string, { hits: number; origin: string }>();
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (!hits || n.callFrame.functionName === '(idle)') continue;
    const owner = scripted(n);
    const o = origin(owner.callFrame.url, owner.callFrame.functionName);
    byOrigin.set(o, (byOrigin.get(o) ?? 0) + hits);
    const file = n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/((shared|functions|infra)\/)/, '$1');
    const key = `${n.callFrame.functionName || '(anonymous)'} ${file}:${n.callFrame.lineNumber + 1}`;
    const f = byFunction.get(key) ?? { hits: 0, origin: o };
    f.hits += hits;
    byFunction.set(key, f);
  }
  const pct = (h: number) => ((100 * h) / busy).toFixed(1);
  const lines = [
    `### CPU profile: ${title}`,
    '',
    `${calls} calls; busy ${(busy * perHit).toFixed(0)} ms of ${ms.toFixed(0)} ms profiled → ${((busy * perHit) / Math.max(1, calls)).toFixed(2)} ms CPU per call (main thread, everything the process did: handlers, gateway, change fan-out, workers).`,
    '',
    '| origin (Node and native frames charged to their calling package) | share of busy samples | ms per call |',
    '|---|---:|---:|',
    ...[...byOrigin]
      .sort((a, b) => b[1] - a[1])
      .map(([o, h]) => `| ${o} | ${pct(h)} % | ${((h * perHit) / Math.max(1, calls)).toFixed(3)} |`),
    '',
    '| top self-time functions | charged to | share |',
    '|---|---|---:|',
    ...[...byFunction]
      .sort((a, b) => b[1].hits - a[1].hits)
      .slice(0, 30)
      .map(([k, f]) => `| \`${k}\` | ${f.origin} | ${pct(f.hits)} % |`),
  ];
  return lines.join('\n');
}

/** A minimal Chrome DevTools Protocol session over the inspector's WebSocket. */
async function inspector(
  port: number,
): Promise<{ send: (method: string, params?: object) => Promise<Record<string, unknown>>; close: () => void }> {
  const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
  const ws = new WebSocket(list[0]!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let id = 0;
  const pending = new Map<number, (result: Record<string, unknown>) => void>();
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data)) as { id?: number; result?: Record<string, unknown> };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result ?? {});
  });
  return {
    send: (method, params = {}) =>
      new Promise((resolve) => {
        pending.set(++id, resolve);
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

async function main(): Promise<void> {
  if (REPLAY) {
    const profile = JSON.parse(readFileSync(SHAPE, 'utf8')) as Profile;
    process.stdout.write(`${summarise(profile, Number(process.argv[3] ?? 1), SHAPE.replace(/^.*\//, ''))}\n`);
    return;
  }
  const [port, dynamoPort, inspectPort] = (await freePorts(3)) as [number, number, number];
  const adminKey = 'profile-admin-key';
  const server = spawn(process.execPath, [`--inspect=127.0.0.1:${inspectPort}`, '--import', 'tsx', 'infra/local/start.ts', '--in-memory'], {
    env: { ...process.env, PORT: String(port), DYNAMODB_PORT: String(dynamoPort), ADMIN_KEY: adminKey, LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'ignore', 'inherit'],
    detached: true,
  });
  const stop = () => {
    if (server.exitCode === null && server.pid) process.kill(-server.pid, 'SIGINT');
  };
  process.on('SIGINT', () => {
    void stop();
    process.exit(1);
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      if (server.exitCode !== null) throw new Error('server exited');
      if (
        await fetch(`${base}/service/info`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      if (i > 600) throw new Error('server did not start');
      await sleep(200);
    }
    // Seed through the same table, from this process (the bench seeding).
    Object.assign(process.env, {
      DYNAMODB_ENDPOINT: `http://127.0.0.1:${dynamoPort}`,
      TABLE_NAME: 'pryv-main',
      AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    const { seedAccount } = await import('./seed');
    const username = `prof${Math.random().toString(36).slice(2, 8)}`;
    const reg = await fetch(`${base}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: 'bench-password', email: `${username}@example.com`, appId: 'bench-app' }),
    });
    const master = new URL(((await reg.json()) as { apiEndpoint: string }).apiEndpoint).username;
    const account = await seedAccount(username, EVENTS);
    const access = (await (
      await fetch(`${base}/${username}/accesses`, {
        method: 'POST',
        headers: { authorization: master, 'content-type': 'application/json' },
        body: JSON.stringify({
          type: 'shared',
          name: 'profile-restricted',
          permissions: account.restricted.map((streamId) => ({ streamId, level: 'contribute' })),
        }),
      })
    ).json()) as { access: { token: string } };
    const restricted = access.access.token;
    // HF series shapes: holders in the first restricted stream, points every 0.01 s with two decimals.
    const holders: string[] = [];
    const seriesPoints = (from: number, n: number) =>
      Array.from({ length: n }, (_, k) => [(from + k) / 100, Math.round(6000 + Math.sin((from + k) / 50) * 1000) / 100]);
    const nextPoint = new Map<string, number>();
    if (SERIES_SHAPE) {
      const [, verb, size] = SERIES_SHAPE;
      for (let h = 0; h < (verb === 'add' ? 4 : verb === 'tool' ? 2 : 1); h++) {
        const made = (await (
          await fetch(`${base}/${username}/events`, {
            method: 'POST',
            headers: { authorization: master, 'content-type': 'application/json' },
            body: JSON.stringify({
              type: 'series:mass/kg',
              streamIds: [account.restricted[0]],
              ...(verb === 'tool' ? {} : { time: 1_700_000_000 }),
            }),
          })
        ).json()) as { event: { id: string } };
        holders.push(made.event.id);
        nextPoint.set(made.event.id, 0);
      }
      if (verb === 'get') {
        for (let i = 0; i < Number(size); i += 1000) {
          const res = await fetch(`${base}/${username}/events/${holders[0]}/series`, {
            method: 'POST',
            headers: { authorization: master, 'content-type': 'application/json' },
            body: JSON.stringify({
              format: 'flatJSON',
              fields: ['deltaTime', 'value'],
              points: seriesPoints(i, Math.min(1000, Number(size) - i)),
            }),
          });
          if (!res.ok) throw new Error(`seeding the series: ${res.status}`);
        }
      }
    }
    process.stderr.write(`seeded ${EVENTS} events; waiting for the server's background work to settle…\n`);
    await sleep(Number(process.env.PROFILE_SETTLE_S ?? 20) * 1000);

    let n = 0;
    const toolStart = Math.floor(Date.now() / 1000);
    const call = async (): Promise<void> => {
      const i = n++;
      const targetsMaster = account.others;
      let res: Response;
      if (SERIES_SHAPE?.[1] === 'add' || SERIES_SHAPE?.[1] === 'tool') {
        const holder = holders[i % holders.length]!;
        const size = Number(SERIES_SHAPE[2]);
        const from = nextPoint.get(holder)!;
        nextPoint.set(holder, from + size);
        const points =
          SERIES_SHAPE[1] === 'tool'
            ? Array.from({ length: size }, (_, k) => [toolStart + from + k, +(Math.random() * 100).toFixed(2)])
            : seriesPoints(from, size);
        res = await fetch(`${base}/${username}/events/${holder}/series`, {
          method: 'POST',
          headers: { authorization: master, 'content-type': 'application/json' },
          body: JSON.stringify({ format: 'flatJSON', fields: ['deltaTime', 'value'], points }),
        });
      } else if (SERIES_SHAPE) {
        res = await fetch(`${base}/${username}/events/${holders[0]}/series?fromDeltaTime=0`, { headers: { authorization: master } });
      } else if (SHAPE.startsWith('events.create')) {
        const r = SHAPE.endsWith('restricted');
        const streams = r ? account.restricted : targetsMaster;
        res = await fetch(`${base}/${username}/events`, {
          method: 'POST',
          headers: { authorization: r ? restricted : master, 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'note/txt', streamIds: [streams[i % streams.length]], content: `profile ${i}` }),
        });
      } else if (SHAPE === 'streams.get') {
        res = await fetch(`${base}/${username}/streams`, { headers: { authorization: master } });
      } else {
        res = await fetch(`${base}/${username}/events?limit=100`, {
          headers: { authorization: SHAPE.endsWith('restricted') ? restricted : master },
        });
      }
      await res.arrayBuffer();
      if (res.status >= 400) throw new Error(`${SHAPE}: ${res.status}`);
    };
    for (let i = 0; i < 50; i++) await call(); // warm up (JIT) before recording
    const session = await inspector(inspectPort);
    await session.send('Profiler.enable');
    await session.send('Profiler.setSamplingInterval', { interval: 200 });
    await session.send('Profiler.start');
    const deadline = Date.now() + SECONDS * 1000;
    const before = n;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (Date.now() < deadline) await call();
      }),
    );
    const { profile } = (await session.send('Profiler.stop')) as unknown as { profile: Profile };
    session.close();
    const summary = summarise(profile, n - before, `${SHAPE}, ${CONCURRENCY} concurrent clients, ${SECONDS} s`);
    const dir = join(process.cwd(), 'test-artifacts', 'profile');
    mkdirSync(dir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
    writeFileSync(join(dir, `${SHAPE}-${stamp}.cpuprofile`), JSON.stringify(profile));
    writeFileSync(join(dir, `${SHAPE}-${stamp}.md`), `${summary}\n`);
    process.stdout.write(`${summary}\n\nwritten: test-artifacts/profile/${SHAPE}-${stamp}.{cpuprofile,md}\n`);
  } finally {
    stop();
    await new Promise((r) => (server.exitCode !== null ? r(undefined) : server.once('exit', r)));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
