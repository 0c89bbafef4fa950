import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { api, send } from './client';

/**
 * A user with something of everything, made through the API, whose ids and tokens the fuzz
 * cases aim at: streams (one trashed, one deleted), events (one with a file, one trashed, one
 * deleted), app and shared accesses (and a deleted one), a webhook, a followed slice, profile
 * values, an upload slot.
 */
export interface Fixture {
  username: string;
  password: string;
  email: string;
  tokens: { personal: string; app: string; shared: string };
  accessIds: { personal: string; app: string; shared: string; deleted: string };
  streamIds: string[];
  eventIds: string[];
  fileId: string;
  uploadFileId: string;
  webhookId: string;
  followedSliceId: string;
}

export const FIXTURE_APP_ID = 'fuzz-harness-app';
/** An origin the local runtime trusts for auth.login (TRUSTED_APPS default: local origins). */
export const TRUSTED_ORIGIN = 'http://127.0.0.1:9999';

/** A local receiver answering 200 to every webhook call, so the fixture's webhook stays active. */
export async function startWebhookReceiver(): Promise<{ url: string; stop: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end('ok'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export async function createFixture(baseUrl: string, webhookUrl: string, prefix = 'fuzz'): Promise<Fixture> {
  const username = `${prefix}-${randomBytes(5).toString('hex')}`;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const email = `${username}@example.com`;
  const registered = await api(baseUrl, 'POST', '/users', { body: { username, password, email, appId: FIXTURE_APP_ID } });
  const personal = new URL(registered.apiEndpoint).username;
  const u = `/${username}`;
  const P = { token: personal };

  for (const [id, parentId] of [
    ['fz-root', null],
    ['fz-child', 'fz-root'],
    ['fz-other', null],
    ['fz-trashed', null],
    ['fz-gone', null],
  ] as const) {
    await api(baseUrl, 'POST', `${u}/streams`, { ...P, body: { id, name: `Fuzz ${id}`, parentId, clientData: { kept: id } } });
  }
  await api(baseUrl, 'DELETE', `${u}/streams/fz-trashed`, { ...P, expect: 200 });
  await api(baseUrl, 'DELETE', `${u}/streams/fz-gone`, { ...P, expect: 200 });
  await api(baseUrl, 'DELETE', `${u}/streams/fz-gone?mergeEventsWithParent=false`, { ...P, expect: 200 });

  const event = async (body: Record<string, unknown>) =>
    (await api(baseUrl, 'POST', `${u}/events`, { ...P, body: { type: 'note/txt', content: 'fuzz', ...body } })).event.id as string;
  const e1 = await event({ streamIds: ['fz-root'], clientData: { k: 'v' }, tags: ['t1'], description: 'first' });
  // An event with a file, sent as multipart like the pryv library does.
  const form = new FormData();
  form.append('event', JSON.stringify({ streamIds: ['fz-child'], type: 'note/txt', content: 'with a file' }));
  form.append('file', new Blob([Buffer.from('fuzz file content')], { type: 'text/plain' }), 'fuzz.txt');
  const withFile = await fetch(`${baseUrl}${u}/events`, { method: 'POST', headers: { authorization: personal }, body: form });
  const withFileBody = (await withFile.json()) as any;
  if (withFile.status !== 201) throw new Error(`fixture event with file: ${withFile.status} ${JSON.stringify(withFileBody)}`);
  const e2 = withFileBody.event.id as string;
  const fileId = withFileBody.event.attachments[0].id as string;
  const e3 = await event({ streamIds: ['fz-other'], time: 1_600_000_000 });
  await api(baseUrl, 'DELETE', `${u}/events/${e3}`, { ...P, expect: 200 });
  const e4 = await event({ streamIds: ['fz-root'] });
  await api(baseUrl, 'DELETE', `${u}/events/${e4}`, { ...P, expect: 200 });
  await api(baseUrl, 'DELETE', `${u}/events/${e4}`, { ...P, expect: 200 });

  const app = (
    await api(baseUrl, 'POST', `${u}/accesses`, {
      ...P,
      body: { name: 'fz-app', type: 'app', permissions: [{ streamId: '*', level: 'manage' }], clientData: { kept: true } },
    })
  ).access;
  const shared = (
    await api(baseUrl, 'POST', `${u}/accesses`, {
      ...P,
      body: { name: 'fz-shared', type: 'shared', permissions: [{ streamId: 'fz-root', level: 'contribute' }] },
    })
  ).access;
  const gone = (
    await api(baseUrl, 'POST', `${u}/accesses`, {
      ...P,
      body: { name: 'fz-gone', type: 'shared', permissions: [{ streamId: 'fz-other', level: 'read' }] },
    })
  ).access;
  await api(baseUrl, 'DELETE', `${u}/accesses/${gone.id}`, { ...P, expect: 200 });
  const info = await api(baseUrl, 'GET', `${u}/access-info`, { ...P, expect: 200 });

  const webhook = (await api(baseUrl, 'POST', `${u}/webhooks`, { token: app.token, body: { url: webhookUrl } })).webhook;
  const slice = (
    await api(baseUrl, 'POST', `${u}/followed-slices`, {
      ...P,
      body: { name: 'fz-slice', url: 'https://other.example.com/someone/', accessToken: 'some-token-value' },
    })
  ).followedSlice;
  await api(baseUrl, 'PUT', `${u}/profile/public`, { ...P, body: { fz: 'public' }, expect: 200 });
  await api(baseUrl, 'PUT', `${u}/profile/private`, { ...P, body: { fz: 'private' }, expect: 200 });
  await api(baseUrl, 'PUT', `${u}/profile/app`, { token: app.token, body: { fz: 'app' }, expect: 200 });
  const slot = await api(baseUrl, 'POST', `${u}/events/${e1}/attachment-uploads`, {
    ...P,
    body: { fileName: 'slot.txt', type: 'text/plain', size: 3 },
  });

  return {
    username,
    password,
    email,
    tokens: { personal, app: app.token, shared: shared.token },
    accessIds: { personal: info.id, app: app.id, shared: shared.id, deleted: gone.id },
    streamIds: ['fz-root', 'fz-child', 'fz-other', 'fz-trashed', 'fz-gone'],
    eventIds: [e1, e2, e3, e4],
    fileId,
    uploadFileId: slot.upload.fileId,
    webhookId: webhook.id,
    followedSliceId: slice.id,
  };
}

/** Drops what changes by mere use or by delivery, and orders lists, so two snapshots compare. */
function normalize(key: string, value: any): any {
  if (Array.isArray(value)) {
    const items = value.map((v) => normalize(key, v));
    return items.every((v) => v && typeof v === 'object' && typeof v.id === 'string')
      ? [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      : items;
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === 'meta') continue;
      // Access use (calls, last use) and webhook delivery state change without any write.
      if (key.startsWith('accesses') && (k === 'lastUsed' || k === 'calls')) continue;
      if (key.startsWith('webhooks') && ['runs', 'runCount', 'failCount', 'lastRun', 'currentRetries'].includes(k)) continue;
      out[k] = normalize(key, v);
    }
    return out;
  }
  return value;
}

/** Everything the user can read about their account, through the API. */
export async function snapshot(baseUrl: string, f: Fixture): Promise<Record<string, unknown>> {
  const u = `/${f.username}`;
  const P = { token: f.tokens.personal, expect: 200 };
  const reads: Record<string, [string, string]> = {
    streams: [`${u}/streams?state=all&includeDeletionsSince=0`, f.tokens.personal],
    events: [`${u}/events?state=all&includeDeletions=true&modifiedSince=0&limit=10000`, f.tokens.personal],
    accesses: [`${u}/accesses?includeExpired=true&includeDeletions=true`, f.tokens.personal],
    webhooks: [`${u}/webhooks`, f.tokens.personal],
    followedSlices: [`${u}/followed-slices`, f.tokens.personal],
    profilePublic: [`${u}/profile/public`, f.tokens.personal],
    profilePrivate: [`${u}/profile/private`, f.tokens.personal],
    profileApp: [`${u}/profile/app`, f.tokens.app],
    account: [`${u}/account`, f.tokens.personal],
  };
  const out: Record<string, unknown> = {};
  for (const [name, [path, token]] of Object.entries(reads)) {
    out[name] = normalize(name, await api(baseUrl, 'GET', path, { ...P, token }));
  }
  // Each event's history too: an update that slipped through leaves a trace there.
  for (const id of f.eventIds.slice(0, 2)) {
    const res = await send(baseUrl, {
      verb: 'GET',
      path: `${u}/events/${id}?includeHistory=true`,
      headers: { authorization: f.tokens.personal },
    });
    out[`event:${id}`] = normalize('event', res.json);
  }
  return out;
}

/** Paths where two snapshots differ, with both values (shortened). */
export function diffSnapshots(before: unknown, after: unknown, path = ''): string[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  if (before && after && typeof before === 'object' && typeof after === 'object' && !Array.isArray(before) && !Array.isArray(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys].flatMap((k) => diffSnapshots((before as any)[k], (after as any)[k], `${path}.${k}`));
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const byId = (list: unknown[]) => new Map(list.map((x: any, i) => [typeof x?.id === 'string' ? x.id : `#${i}`, x]));
    const [b, a] = [byId(before), byId(after)];
    return [...new Set([...b.keys(), ...a.keys()])].flatMap((id) => diffSnapshots(b.get(id), a.get(id), `${path}[${id}]`));
  }
  const short = (v: unknown) => (JSON.stringify(v) ?? 'undefined').slice(0, 300);
  return [`${path}: ${short(before)} → ${short(after)}`];
}
