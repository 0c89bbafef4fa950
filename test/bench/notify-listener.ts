import { io, type Socket } from 'socket.io-client';

/** A JSON call to the local runtime, with a token or none. */
export type BenchApi = (method: string, path: string, token: string | undefined, body?: unknown) => Promise<any>;

/**
 * What the notification benches listen with: a new user, an app access (webhooks are created
 * by app accesses, Pryv API reference §2.5) with a stream `bench`, a webhook to `receiverUrl`,
 * and a connected socket of that access.
 */
export async function benchListener(
  runtimeUrl: string,
  receiverUrl: string,
  prefix: string,
): Promise<{ api: BenchApi; username: string; token: string; socket: Socket }> {
  const api: BenchApi = async (method, path, token, body) => {
    const res = await fetch(`${runtimeUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: token } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await res.json()) as any;
  };
  const username = `${prefix}-${Date.now().toString(36)}`;
  const reg = await api('POST', '/users', undefined, {
    username,
    password: 'bench-password',
    email: `${username}@example.com`,
    appId: 'bench-app',
  });
  const personal = new URL(reg.apiEndpoint).username;
  const app = await api('POST', `/${username}/accesses`, personal, {
    type: 'app',
    name: 'bench-webhooks',
    permissions: [{ streamId: '*', level: 'manage' }],
  });
  const token = app.access.token as string;
  await api('POST', `/${username}/streams`, token, { id: 'bench', name: 'Bench' });
  await api('POST', `/${username}/webhooks`, token, { url: receiverUrl });
  const socket = io(`${runtimeUrl}/${username}/${username}?auth=${token}`, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return { api, username, token, socket };
}
