import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { checkJava, SetupError } from '../../infra/local/java';
import { assertPortFree, freePort } from '../../infra/local/ports';

describe('local runtime preflight', () => {
  const path = process.env.PATH;
  let server: Server | undefined;
  afterEach(() => {
    process.env.PATH = path;
    server?.close();
    server = undefined;
  });

  it('says what to install when java is missing', () => {
    process.env.PATH = '/nonexistent';
    expect(() => checkJava()).toThrow(SetupError);
    try {
      checkJava();
    } catch (err) {
      expect((err as Error).message).toMatch(/Java 17 or newer/);
      expect((err as Error).message).toMatch(/apt-get install openjdk-17-jre-headless/);
    }
  });

  it('accepts the java on this machine (the tests need it anyway)', () => {
    expect(() => checkJava()).not.toThrow();
  });

  it('names the port and the setting when a port is taken', async () => {
    const port = await freePort();
    server = createServer();
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    await expect(assertPortFree(port, 'PORT')).rejects.toThrow(new RegExp(`Port ${port} is already in use.*PORT=`));
    server.close();
    server = undefined;
    await new Promise((r) => setTimeout(r, 50));
    await expect(assertPortFree(port, 'PORT')).resolves.toBeUndefined();
  });
});
