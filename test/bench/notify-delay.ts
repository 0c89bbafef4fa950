/**
 * `npm run bench:notify`: how long a change takes to reach a client, on the local runtime.
 *
 * One user with a webhook (a loopback receiver) and a connected Socket.IO client; each
 * sample creates one event over HTTP and records the delay from the moment the request is
 * sent to the webhook POST's arrival and to the socket's `eventsChanged`. Samples are spaced
 * beyond the webhook's minIntervalMs so throttling does not count.
 *
 * The path measured: API write → DynamoDB Local stream → local stream consumer (read at once
 * after a write of this process, else polled every 100 ms) → fan-out → socket push / webhook
 * POST. Each hop is timed too: the stream batch holding the event handed to the fan-out
 * (RuntimeOptions.onFanoutBatch), the fan-out reaching its sinks (a sink of the bench's own),
 * then the arrivals. The socket is told by the write itself (a direct push, right after its
 * commit), so its arrival may come before the fan-out and the write's answer (then "sinks →
 * socket" is not the fan-out's push). Options: BENCH_SAMPLES=40.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startLocalRuntime } from '../../infra/local/runtime';
import { registerSink } from '../../shared/notify/dispatch';
import { benchListener } from './notify-listener';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 40);
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

    const toSocket: number[] = [];
    const toWebhook: number[] = [];
    const apiCall: number[] = [];
    const toFanout: number[] = [];
    const fanoutToSinks: number[] = [];
    const sinksToSocket: number[] = [];
    const sinksToWebhook: number[] = [];
    // The delay left once the write's answer is back: less sensitive to the machine's load
    // than the totals (the write itself slows most on a busy machine).
    const answerToSocket: number[] = [];
    const answerToWebhook: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const socketBefore = socketArrivals.length;
      const webhookBefore = webhookArrivals.length;
      const sent = performance.now();
      const created = await api('POST', `/${username}/events`, token, { streamIds: ['bench'], type: 'count/steps', content: i });
      apiCall.push(performance.now() - sent);
      const deadline = Date.now() + 10_000;
      while ((socketArrivals.length === socketBefore || webhookArrivals.length === webhookBefore) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 2));
      }
      if (socketArrivals.length > socketBefore) toSocket.push(socketArrivals[socketBefore]! - sent);
      if (webhookArrivals.length > webhookBefore) toWebhook.push(webhookArrivals[webhookBefore]! - sent);
      if (socketArrivals.length > socketBefore) answerToSocket.push(socketArrivals[socketBefore]! - sent - apiCall.at(-1)!);
      if (webhookArrivals.length > webhookBefore) answerToWebhook.push(webhookArrivals[webhookBefore]! - sent - apiCall.at(-1)!);
      const eventId = created.event?.id as string | undefined;
      const batch = eventId ? batches.find((b) => b.at >= sent && b.text.includes(eventId)) : undefined;
      const dispatch = batch && dispatches.find((d) => d.at >= batch.at && d.username === username);
      if (batch) toFanout.push(batch.at - sent);
      if (batch && dispatch) {
        fanoutToSinks.push(dispatch.at - batch.at);
        if (socketArrivals.length > socketBefore) sinksToSocket.push(socketArrivals[socketBefore]! - dispatch.at);
        if (webhookArrivals.length > webhookBefore) sinksToWebhook.push(webhookArrivals[webhookBefore]! - dispatch.at);
      }
      await new Promise((r) => setTimeout(r, SPACING_MS));
    }
    socket.close();

    const ms = (values: number[], p: number) => (values.length === 0 ? '–' : percentile(values, p).toFixed(0));
    const row = (name: string, values: number[]) =>
      `| ${name} | ${values.length}/${SAMPLES} | ${ms(values, 50)} | ${ms(values, 90)} | ${ms(values, 95)} | ${values.length === 0 ? '–' : Math.max(...values).toFixed(0)} |`;
    console.log('\nChange notification delay on the local runtime (ms, from sending the API write)\n');
    console.log('| path | received | p50 | p90 | p95 | max |');
    console.log('|---|---:|---:|---:|---:|---:|');
    console.log(row('API answer (events.create)', apiCall));
    console.log(row('write → socket eventsChanged', toSocket));
    console.log(row('write → webhook POST', toWebhook));
    console.log(row('API answer → socket eventsChanged (may be < 0)', answerToSocket));
    console.log(row('API answer → webhook POST (may be < 0)', answerToWebhook));
    console.log(row('hop: write → stream batch handed to the fan-out', toFanout));
    console.log(row('hop: fan-out → sinks', fanoutToSinks));
    console.log(row('hop: sinks → socket eventsChanged', sinksToSocket));
    console.log(row('hop: sinks → webhook POST', sinksToWebhook));
  } finally {
    unregister();
    receiver.close();
    await runtime.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
