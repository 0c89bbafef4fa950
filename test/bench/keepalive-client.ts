/**
 * The benches' HTTP client for the local runtime: JSON calls on a kept-alive pool, as a busy app
 * would make them, so that what a bench counts per call is the server's work and not new
 * connections. A request that meets a kept-alive socket the server has just closed is sent once
 * more (the server saw nothing of it).
 */
import { Agent, request } from 'node:http';

export type BenchCall = (
  base: string,
  verb: string,
  path: string,
  token?: string,
  body?: unknown,
) => Promise<{ status: number; json: any }>;

/** `close()` ends the pool's sockets, so that the bench's process can exit. */
export function keepAliveClient(maxSockets: number): BenchCall & { close(): void } {
  const agent = new Agent({ keepAlive: true, maxSockets });
  const once: BenchCall = (base, verb, path, token, body) =>
    new Promise((done, fail) => {
      const text = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        `${base}${path}`,
        {
          method: verb,
          agent,
          headers: {
            ...(token ? { authorization: token } : {}),
            ...(text ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const raw = Buffer.concat(chunks).toString('utf8');
            done({ status: res.statusCode ?? 0, json: raw ? JSON.parse(raw) : undefined });
          });
        },
      );
      req.on('error', fail);
      req.end(text);
    });
  const call: BenchCall = (base, verb, path, token, body) =>
    once(base, verb, path, token, body).catch((err: { code?: string }) => {
      if (err.code !== 'ECONNRESET') throw err;
      return once(base, verb, path, token, body);
    });
  return Object.assign(call, { close: () => agent.destroy() });
}

/** Registers a new account on the local runtime; its personal token is the API endpoint's user part. */
export async function registerBenchUser(call: BenchCall, base: string, prefix: string): Promise<{ username: string; master: string }> {
  const username = `${prefix}${Math.random().toString(36).slice(2, 8)}`;
  const reg = await call(base, 'POST', '/users', undefined, {
    username,
    password: `${prefix}-password`,
    email: `${username}@example.com`,
    appId: `${prefix}-app`,
  });
  return { username, master: new URL(reg.json.apiEndpoint).username };
}
