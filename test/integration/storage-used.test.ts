import { describe, expect, it } from 'vitest';
import { apiUrl, call, createUser } from '../setup/api';

async function upload(username: string, token: string, eventJson: unknown, files: Array<[string, number]>) {
  const form = new FormData();
  form.append('event', JSON.stringify(eventJson));
  for (const [name, size] of files) form.append(name, new Blob([Buffer.alloc(size, 7)]), `${name}.bin`);
  const res = await fetch(`${apiUrl()}/${username}/events`, { method: 'POST', headers: { authorization: token }, body: form });
  return { status: res.status, body: (await res.json()) as any };
}

const attachedFiles = async (username: string, token: string) =>
  (await call('GET', `/${username}/account`, { token })).body.account.storageUsed.attachedFiles;

describe('storageUsed.attachedFiles (spec §2.2.6)', () => {
  it('follows attachment uploads and deletions, in bytes', async () => {
    const user = await createUser();
    await call('POST', `/${user.username}/streams`, { token: user.token, body: { id: 'files', name: 'Files' } });
    expect(await attachedFiles(user.username, user.token)).toBe(0);
    const created = await upload(user.username, user.token, { streamIds: ['files'], type: 'file/attached' }, [
      ['a', 1000],
      ['b', 234],
    ]);
    expect(created.status).toBe(201);
    expect(await attachedFiles(user.username, user.token)).toBe(1234);

    const event = created.body.event;
    const gone = await call('DELETE', `/${user.username}/events/${event.id}/${event.attachments[0].id}`, { token: user.token });
    expect(gone.status).toBe(200);
    expect(await attachedFiles(user.username, user.token)).toBe(234);

    // A failed upload counts nothing.
    const failed = await upload(user.username, user.token, { streamIds: ['no-such-stream'], type: 'file/attached' }, [['c', 500]]);
    expect(failed.status).toBe(400);
    expect(await attachedFiles(user.username, user.token)).toBe(234);

    await call('DELETE', `/${user.username}/events/${event.id}`, { token: user.token });
    await call('DELETE', `/${user.username}/events/${event.id}`, { token: user.token });
    expect(await attachedFiles(user.username, user.token)).toBe(0);
  });
});
