import { beforeAll, describe, expect, it } from 'vitest';
import { call, createUser, type TestUser } from '../setup/api';

/**
 * Many writers of one event (README "Faults and retries"): every update either lands (200)
 * or is told to retry (503 api-unavailable with Retry-After); contention is never answered as
 * the caller's error (4xx), and the event ends as the last acknowledged update left it.
 */

const WRITERS = 25;
let user: TestUser;
let eventId: string;

beforeAll(async () => {
  user = await createUser();
  const stream = await call('POST', `/${user.username}/streams`, { token: user.token, body: { id: 'contended', name: 'contended' } });
  expect(stream.status).toBe(201);
  const created = await call('POST', `/${user.username}/events`, {
    token: user.token,
    body: { streamIds: ['contended'], type: 'count/generic', content: -1 },
  });
  expect(created.status).toBe(201);
  eventId = created.body.event.id;
});

describe('concurrent events.update of one event', () => {
  it(`${WRITERS} at once: each 200 or 503 with Retry-After, none 4xx; the event holds the last acknowledged content`, async () => {
    const answers = await Promise.all(
      Array.from({ length: WRITERS }, (_, i) =>
        call('PUT', `/${user.username}/events/${eventId}`, { token: user.token, body: { content: i } }).then((res) => ({ i, res })),
      ),
    );
    const outcomes: Record<string, number> = {};
    for (const { res } of answers) {
      const key =
        res.status === 200 ? '200' : `${res.status} ${res.body?.error?.id} retry-after=${res.headers.get('retry-after') !== null}`;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    }
    console.log(`contention: ${JSON.stringify(outcomes)}`);
    expect(Object.keys(outcomes).filter((k) => k !== '200' && k !== '503 api-unavailable retry-after=true')).toEqual([]);
    const landed = answers.filter((a) => a.res.status === 200);
    expect(landed.length).toBeGreaterThan(0);

    const last = landed.reduce((a, b) => (b.res.body.event.modified > a.res.body.event.modified ? b : a));
    const final = await call('GET', `/${user.username}/events/${eventId}`, { token: user.token });
    expect(final.body.event.content).toBe(last.i);
    expect(final.body.event.modified).toBe(last.res.body.event.modified);
  });
});
