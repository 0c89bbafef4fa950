import { createServer } from 'node:net';
import { SetupError } from './java';

/**
 * A port that is free right now on 127.0.0.1 (the OS picks it), other than those in `avoid`:
 * ports picked earlier but not listened on yet are free again, and the OS may hand one of them
 * out a second time (a restarted runtime once got its gateway's port for its S3 emulator).
 */
export async function freePort(avoid: readonly number[] = []): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = await anyFreePort();
    if (!avoid.includes(port) || attempt >= 50) return port;
  }
}

/** `count` distinct free ports. */
export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) ports.push(await freePort(ports));
  return ports;
}

function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Fails with a clear message when a port asked for explicitly is already taken. */
export function assertPortFree(port: number, setting: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new SetupError(`Port ${port} is already in use (another server is running there?). Choose another one with ${setting}=<port>.`)
          : err,
      );
    });
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}
