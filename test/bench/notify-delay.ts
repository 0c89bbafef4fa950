/**
 * `npm run bench:notify`: how long a change takes to reach a client, on the local runtime.
 *
 * One user with a webhook (a loopback receiver) and a connected Socket.IO client; each
 * sample creates one event over HTTP and records the delay from the moment the request is
 * sent to the webhook POST's arrival and to the socket's `eventsChanged`. Samples are spaced
 * beyond the webhook's minIntervalMs so throttling does not count.
 *
 * The path measured: API write → DynamoDB Local stream → local stream consumer (polls every
 * 100 ms, as an event source mapping polls) → fan-out → socket push / webhook POST.
 * Options: BENCH_SAMPLES=40.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { io } from 'socket.io-client';
import { startLocalRuntime } from '../../infra/local/runtime';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 40);
const MIN_INTERVAL_MS = 100; // the webhook's throttle for this run
const SPACING_MS = 400; // > MIN_INTERVAL_MS and > one stream poll

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  process.env.LOG_LEVEL ??= 'silent';
  const runtime = await startLocalRuntime({ port: 0, env: { WEBHOOK_MIN_INTERVAL_MS: String(MIN_INTERVAL_MS) } });
  const webhookArrivals: number[] = [];
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      webhookArrivals.push(performance.now());
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  try {
    const api = async (method: string, path: string, token: string | undefined, body?: unknown) => {
      const res = await fetch(`${runtime.url}${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: token } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return (await res.json()) as any;
    };
    const username = `bench-${Date.now().toString(36)}`;
    const reg = await api('POST', '/users', undefined, {
      username,
      password: 'bench-password',
      email: `${username}@example.com`,
      appId: 'bench-app',
    });
    const personal = new URL(reg.apiEndpoint).username;
    // Webhooks are created by app accesses (personal ones cannot, spec §2.5).
    const app = await api('POST', `/${username}/accesses`, personal, {
      type: 'app',
      name: 'bench-webhooks',
      permissions: [{ streamId: '*', level: 'manage' }],
    });
    const token = app.access.token as string;
    await api('POST', `/${username}/streams`, token, { id: 'bench', name: 'Bench' });
    await api('POST', `/${username}/webhooks`, token, { url: receiverUrl });

    const socketArrivals: number[] = [];
    const socket = io(`${runtime.url}/${username}/${username}?auth=${token}`, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    socket.on('eventsChanged', () => socketArrivals.push(performance.now()));
    await new Promise((r) => setTimeout(r, 1000)); // the setup's own changes drain first

    const toSocket: number[] = [];
    const toWebhook: number[] = [];
    const apiCall: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const socketBefore = socketArrivals.length;
      const webhookBefore = webhookArrivals.length;
      const sent = performance.now();
      await api('POST', `/${username}/events`, token, { streamIds: ['bench'], type: 'count/steps', content: i });
      apiCall.push(performance.now() - sent);
      const deadline = Date.now() + 10_000;
      while ((socketArrivals.length === socketBefore || webhookArrivals.length === webhookBefore) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 2));
      }
      if (socketArrivals.length > socketBefore) toSocket.push(socketArrivals[socketBefore]! - sent);
      if (webhookArrivals.length > webhookBefore) toWebhook.push(webhookArrivals[webhookBefore]! - sent);
      await new Promise((r) => setTimeout(r, SPACING_MS));
    }
    socket.close();

    const row = (name: string, values: number[]) =>
      `| ${name} | ${values.length}/${SAMPLES} | ${percentile(values, 50).toFixed(0)} | ${percentile(values, 90).toFixed(0)} | ${Math.max(...values).toFixed(0)} |`;
    console.log('\nChange notification delay on the local runtime (ms, from sending the API write)\n');
    console.log('| path | received | p50 | p90 | max |');
    console.log('|---|---:|---:|---:|---:|');
    console.log(row('API answer (events.create)', apiCall));
    console.log(row('write → socket eventsChanged', toSocket));
    console.log(row('write → webhook POST', toWebhook));
  } finally {
    receiver.close();
    await runtime.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
