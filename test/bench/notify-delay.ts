/**
 * `npm run bench:notify`: how long a change takes to reach a client, on the local runtime.
 *
 * One user with a webhook (a loopback receiver) and a connected Socket.IO client; each
 * sample creates one event over HTTP and records the delay from the moment the request is
 * sent to the webhook POST's arrival and to the socket's `eventsChanged`. Samples are spaced
 * beyond the webhook's minIntervalMs so throttling does not count.
 *
 * The path measured: API write → DynamoDB Local stream → local stream consumer (read at once
 * after a write of this process, else polled every 250 ms) → fan-out → socket push / webhook
 * POST. Each hop is timed too: the stream batch holding the event handed to the fan-out
 * (RuntimeOptions.onFanoutBatch), the fan-out reaching its sinks (a sink of the bench's own),
 * then the arrivals. The socket is told by the write itself (a direct push, right after its
 * commit), so its arrival may come before the fan-out and the write's answer (then "sinks →
 * socket" is not the fan-out's push). Options: BENCH_SAMPLES=40.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PerformanceObserver } from 'node:perf_hooks';
import { startLocalRuntime } from '../../infra/local/runtime';
import { registerSink } from '../../shared/notify/dispatch';
import { benchListener } from './notify-listener';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 40);
const STEADY = Number(process.env.BENCH_STEADY ?? 100);
const MIN_INTERVAL_MS = 100; // the webhook's throttle for this run
const SPACING_MS = 400; // > MIN_INTERVAL_MS and > one stream poll

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  process.env.LOG_LEVEL ??= 'silent';
  const batches: Array<{ at: number; text: string }> = [];
  const runtime = await startLocalRuntime({
    port: 0,
    env: { WEBHOOK_MIN_INTERVAL_MS: String(MIN_INTERVAL_MS) },
    onFanoutBatch: (event) => batches.push({ at: performance.now(), text: JSON.stringify(event.Records) }),
  });
  const dispatches: Array<{ at: number; username: string }> = [];
  const unregister = registerSink(async (username) => void dispatches.push({ at: performance.now(), username }));
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
    const { api, username, token, socket } = await benchListener(runtime.url, receiverUrl, 'bench');
    const socketArrivals: number[] = [];
    socket.on('eventsChanged', () => socketArrivals.push(performance.now()));
    await new Promise((r) => setTimeout(r, 1000)); // the setup's own changes drain first

    // Garbage collection pauses of this process (the runtime's handlers, the fan-out and this
    // client share it), to tell a GC pause in a slow sample from DynamoDB Local's own time.
    const pauses: Array<{ start: number; end: number }> = [];
    const gc = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) pauses.push({ start: e.startTime, end: e.startTime + e.duration });
    });
    gc.observe({ entryTypes: ['gc'] });
    const samples: Row[] = [];
    for (let i = 0; i < SAMPLES + STEADY; i++) {
      const socketBefore = socketArrivals.length;
      const webhookBefore = webhookArrivals.length;
      const sent = performance.now();
      const created = await api('POST', `/${username}/events`, token, { streamIds: ['bench'], type: 'count/steps', content: i });
      const sample: Row = { api: performance.now() - sent };
      samples.push(sample);
      const deadline = Date.now() + 10_000;
      while ((socketArrivals.length === socketBefore || webhookArrivals.length === webhookBefore) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 2));
      }
      const socketAt = socketArrivals.length > socketBefore ? socketArrivals[socketBefore]! : undefined;
      const webhookAt = webhookArrivals.length > webhookBefore ? webhookArrivals[webhookBefore]! : undefined;
      if (socketAt !== undefined) sample.socket = socketAt - sent;
      if (webhookAt !== undefined) sample.webhook = webhookAt - sent;
      const eventId = created.event?.id as string | undefined;
      const batch = eventId ? batches.find((b) => b.at >= sent && b.text.includes(eventId)) : undefined;
      const dispatch = batch && dispatches.find((d) => d.at >= batch.at && d.username === username);
      if (batch) sample.fanout = batch.at - sent;
      const last = Math.max(socketAt ?? 0, webhookAt ?? 0, sent + sample.api);
      sample.gc = pauses.reduce((sum, p) => sum + Math.max(0, Math.min(p.end, last) - Math.max(p.start, sent)), 0);
      if (batch && dispatch) {
        sample.fanoutToSinks = dispatch.at - batch.at;
        if (socketAt !== undefined) sample.sinksToSocket = socketAt - dispatch.at;
        if (webhookAt !== undefined) sample.sinksToWebhook = webhookAt - dispatch.at;
      }
      await new Promise((r) => setTimeout(r, SPACING_MS));
    }
    socket.close();
    gc.disconnect();

    report(`the first ${SAMPLES} writes after start (cold)`, samples.slice(0, SAMPLES), 0);
    if (STEADY > 0) report(`writes ${SAMPLES + 1}–${SAMPLES + STEADY} (steady state)`, samples.slice(SAMPLES), SAMPLES);
  } finally {
    unregister();
    receiver.close();
    await runtime.stop();
  }
}

type Row = {
  api: number;
  /** GC pause time of this process within the sample (ms). */
  gc?: number;
  socket?: number;
  webhook?: number;
  fanout?: number;
  fanoutToSinks?: number;
  sinksToSocket?: number;
  sinksToWebhook?: number;
};

function report(title: string, samples: Row[], firstIndex: number): void {
  const n = samples.length;
  const values = (pick: (s: Row) => number | undefined) => samples.map(pick).filter((v): v is number => v !== undefined);
  const ms = (v: number[], p: number) => (v.length === 0 ? '–' : percentile(v, p).toFixed(0));
  const row = (name: string, pick: (s: Row) => number | undefined) => {
    const v = values(pick);
    return `| ${name} | ${v.length}/${n} | ${ms(v, 50)} | ${ms(v, 90)} | ${ms(v, 95)} | ${v.length === 0 ? '–' : Math.max(...v).toFixed(0)} |`;
  };
  // Which samples (1-based, counted from the first write) the slowest arrivals were.
  const slowest = (pick: (s: Row) => number | undefined) =>
    samples
      .map((s, i) => ({ i: firstIndex + i + 1, v: pick(s) }))
      .filter((x): x is { i: number; v: number } => x.v !== undefined)
      .sort((a, b) => b.v - a.v)
      .slice(0, 3)
      .map(
        (x) =>
          `#${x.i} ${x.v.toFixed(0)} (answer ${samples[x.i - firstIndex - 1]!.api.toFixed(0)}, GC ${(samples[x.i - firstIndex - 1]!.gc ?? 0).toFixed(0)})`,
      )
      .join(', ');
  console.log(`\nChange notification delay on the local runtime, ${title} (ms, from sending the API write)\n`);
  console.log('| path | received | p50 | p90 | p95 | max |');
  console.log('|---|---:|---:|---:|---:|---:|');
  console.log(row('API answer (events.create)', (s) => s.api));
  console.log(row('write → socket eventsChanged', (s) => s.socket));
  console.log(row('write → webhook POST', (s) => s.webhook));
  console.log(row('API answer → socket eventsChanged (may be < 0)', (s) => (s.socket === undefined ? undefined : s.socket - s.api)));
  console.log(row('API answer → webhook POST (may be < 0)', (s) => (s.webhook === undefined ? undefined : s.webhook - s.api)));
  console.log(row('hop: write → stream batch handed to the fan-out', (s) => s.fanout));
  console.log(row('hop: fan-out → sinks', (s) => s.fanoutToSinks));
  console.log(row('hop: sinks → socket eventsChanged', (s) => s.sinksToSocket));
  console.log(row('hop: sinks → webhook POST', (s) => s.sinksToWebhook));
  console.log(row('GC pauses of this process within the sample', (s) => s.gc));
  console.log(`\nslowest: socket ${slowest((s) => s.socket)}; webhook ${slowest((s) => s.webhook)}; API answer ${slowest((s) => s.api)}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
