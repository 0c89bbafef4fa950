import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type LocalRuntime, startLocalRuntime } from '../../infra/local/runtime';
import { waitUntil } from './wait';

/**
 * The local runtime supervises its engines (README "Engines that stop"), on runtimes of their
 * own: an S3 emulator that stops comes back on the same folder and port; an in-memory DynamoDB
 * Local that dies stops the whole runtime with one clear message (its data is gone). A
 * DynamoDB Local with a data folder restarted under load: test/integration/fault-dynamodb-kill.test.ts.
 */

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const until = waitUntil({ timeoutMs: 90_000, intervalMs: 100 });

async function json(url: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const runtimes: LocalRuntime[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const r of runtimes) await r.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('local runtime: engine supervision', { timeout: 180_000 }, () => {
  it('an S3 emulator that stops is started again on the same folder and port: files stay readable, new ones are stored', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pryv-s3-supervision-'));
    dirs.push(dataDir);
    const runtime = await startLocalRuntime({ port: 0, dataDir });
    runtimes.push(runtime);
    const reg = await json(`${runtime.url}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 's3-supervised', password: 'pw-s3-supervised', email: 's3@example.com', appId: 'supervision-test' }),
    });
    expect(reg.status).toBe(201);
    const token = new URL(reg.body.apiEndpoint).username;
    const api = `${runtime.url}/s3-supervised`;
    await json(`${api}/streams`, {
      method: 'POST',
      headers: { authorization: token, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 's', name: 'S' }),
    });
    const withFile = async (content: string) => {
      const form = new FormData();
      form.append('event', JSON.stringify({ streamIds: ['s'], type: 'note/txt', content: 'file' }));
      form.append('file', new Blob([content], { type: 'text/plain' }), 'f.txt');
      const res = await json(`${api}/events`, { method: 'POST', headers: { authorization: token }, body: form });
      expect(res.status).toBe(201);
      return res.body.event as { id: string; attachments: Array<{ id: string }> };
    };
    const before = await withFile('stored before the stop');
    const endpoint = runtime.s3.endpoint;
    const first = runtime.s3;

    // The emulator's server closes under the runtime (what an error on its socket does).
    first.server.close();
    first.server.closeAllConnections();
    await until('the S3 emulator to be restarted', () => runtime.restarts().s3 === 1 && runtime.s3 !== first);
    await runtime.settled();
    expect(runtime.s3.endpoint).toBe(endpoint);

    const read = await fetch(`${api}/events/${before.id}/${before.attachments[0]!.id}`, { headers: { authorization: token } });
    expect(read.status).toBe(200);
    expect(await read.text()).toBe('stored before the stop');
    const after = await withFile('stored after the restart');
    const readAfter = await fetch(`${api}/events/${after.id}/${after.attachments[0]!.id}`, { headers: { authorization: token } });
    expect(await readAfter.text()).toBe('stored after the restart');
  });

  it('an in-memory DynamoDB Local that dies stops the whole runtime with one message: its data is gone, nothing comes back empty', async () => {
    let fatal: string | undefined;
    const runtime = await startLocalRuntime({ port: 0, onFatal: (m) => (fatal = m) });
    runtimes.push(runtime);
    const pid = runtime.dynamodb.pid;
    expect((await fetch(`${runtime.url}/reg/service/info`)).status).toBe(200);

    process.kill(pid, 'SIGKILL');
    const message = await runtime.stoppedByItself;
    expect(message).toMatch(
      new RegExp(
        `^DynamoDB Local \\(pid ${pid} on port \\d+\\) stopped unexpectedly \\(killed by SIGKILL\\); it kept its data in memory, so the data is lost\\.`,
      ),
    );
    expect(fatal).toBe(message);
    expect(runtime.restarts().dynamodb).toBe(0);
    // The API is down rather than answering from an empty database.
    await expect(fetch(`${runtime.url}/reg/service/info`)).rejects.toThrow();
    await until('the JVM to be gone', () => !alive(pid), 10_000);
  });
});
