import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, freePorts } from '../../infra/local/ports';

describe('free ports for the local runtime', () => {
  it('never hands out a port it was told to avoid, though the OS may offer it again', async () => {
    const taken = await freePort();
    // Closed again: the OS may give it out next; the runtime has picked it but not listened yet.
    for (let i = 0; i < 30; i++) expect(await freePort([taken])).not.toBe(taken);
  });

  it('gives distinct ports, each one free to listen on', async () => {
    const ports = await freePorts(5);
    expect(new Set(ports).size).toBe(5);
    for (const port of ports)
      await new Promise<void>((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
      });
  });
});
