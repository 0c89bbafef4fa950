import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkUrl, classifyAddress, guardedLookup, isAllowedAddress, UrlRefusedError } from '../../shared/adapters/url-guard';
import { postJson } from '../../shared/adapters/webhook-post';

describe('webhook SSRF guard: address classification', () => {
  const cases: Array<[string, string]> = [
    // IPv4
    ['8.8.8.8', 'public'],
    ['93.184.216.34', 'public'],
    ['172.15.255.255', 'public'],
    ['172.32.0.1', 'public'],
    ['192.167.1.1', 'public'],
    ['169.253.1.1', 'public'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.254', 'private'],
    ['192.168.1.20', 'private'],
    ['100.64.0.1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['169.254.0.1', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['240.0.0.1', 'reserved'],
    // IPv6
    ['2606:4700:4700::1111', 'public'],
    ['2001:db8::1', 'public'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::', 'unspecified'],
    ['fc00::1', 'private'],
    ['fd12:3456:789a::1', 'private'],
    ['fd00:ec2::254', 'private'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['ff02::1', 'multicast'],
    ['ff05::2', 'multicast'],
    // IPv4 embedded in IPv6: judged by the IPv4 address
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:8.8.8.8', 'public'],
    ['64:ff9b::192.168.0.1', 'private'],
    ['64:ff9b::8.8.8.8', 'public'],
    // not addresses
    ['example.com', 'invalid'],
    ['999.1.1.1', 'invalid'],
    ['', 'invalid'],
  ];
  it.each(cases)('%s is %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });

  it('only public addresses are allowed, unless private targets are allowed', () => {
    expect(isAllowedAddress('8.8.8.8', false)).toBe(true);
    for (const address of [
      '10.0.0.1',
      '127.0.0.1',
      '::1',
      '169.254.169.254',
      'fe80::1',
      'fc00::1',
      '0.0.0.0',
      '::',
      '224.0.0.1',
      'ff02::1',
    ]) {
      expect(isAllowedAddress(address, false), address).toBe(false);
      expect(isAllowedAddress(address, true), address).toBe(true);
    }
    expect(isAllowedAddress('not-an-ip', true)).toBe(false);
  });
});

describe('webhook SSRF guard: URLs and lookups', () => {
  it('refuses IP-literal hosts in blocked ranges before any connection', () => {
    for (const url of [
      'http://127.0.0.1:8080/x',
      'http://[::1]/',
      'https://169.254.169.254/latest/meta-data',
      'http://10.0.0.5/',
      'http://[::ffff:192.168.0.1]/',
    ]) {
      expect(() => checkUrl(new URL(url), false), url).toThrow(UrlRefusedError);
      expect(() => checkUrl(new URL(url), true), url).not.toThrow();
    }
    expect(() => checkUrl(new URL('https://8.8.8.8/hook'), false)).not.toThrow();
    expect(() => checkUrl(new URL('https://example.com/hook'), false)).not.toThrow(); // names: checked at lookup
    expect(() => checkUrl(new URL('ftp://example.com/'), true)).toThrow(UrlRefusedError);
  });

  it('the socket lookup refuses a name resolving to loopback, and hands it over when allowed', async () => {
    const run = (allow: boolean, all: boolean) =>
      new Promise<{ err: Error | null; result: unknown }>((resolve) => {
        guardedLookup(allow)('localhost', { all }, (err: Error | null, result: unknown) => resolve({ err, result }));
      });
    const refused = await run(false, false);
    expect(refused.err).toBeInstanceOf(UrlRefusedError);
    expect(refused.err!.message).toMatch(/localhost \((127\.0\.0\.1|::1)\) is a loopback address/);
    const refusedAll = await run(false, true);
    expect(refusedAll.err).toBeInstanceOf(UrlRefusedError);
    const allowed = await run(true, false);
    expect(allowed.err).toBeNull();
    expect(['127.0.0.1', '::1']).toContain(allowed.result);
    const allowedAll = await run(true, true);
    expect(allowedAll.err).toBeNull();
    expect(Array.isArray(allowedAll.result)).toBe(true);
  });
});

describe('postJson: the guard applies to the connection itself', () => {
  let server: Server;
  let port: number;
  let hits = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      req.resume();
      if (req.url === '/redirect') {
        res.writeHead(302, { location: '/ok' }).end();
        return;
      }
      res.writeHead(200).end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('a host name resolving to loopback is refused at connection time: nothing is sent', async () => {
    const before = hits;
    const outcome = await postJson(`http://localhost:${port}/ok`, { x: 1 }, { timeoutMs: 2000, allowPrivate: false });
    expect(outcome).toMatchObject({ status: 0, refused: true });
    expect(outcome.error).toMatch(/loopback address/);
    const literal = await postJson(`http://127.0.0.1:${port}/ok`, { x: 1 }, { timeoutMs: 2000, allowPrivate: false });
    expect(literal).toMatchObject({ status: 0, refused: true });
    expect(hits).toBe(before);
  });

  it('when allowed, it calls, does not follow redirects, and times out', async () => {
    expect(await postJson(`http://localhost:${port}/ok`, {}, { timeoutMs: 2000, allowPrivate: true })).toEqual({ status: 200 });
    const before = hits;
    expect(await postJson(`http://127.0.0.1:${port}/redirect`, {}, { timeoutMs: 2000, allowPrivate: true })).toEqual({ status: 302 });
    expect(hits).toBe(before + 1);
    const silent = createServer(() => undefined); // never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const started = Date.now();
    const outcome = await postJson(
      `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`,
      {},
      { timeoutMs: 300, allowPrivate: true },
    );
    expect(outcome.status).toBe(0);
    expect(outcome.error).toMatch(/No answer within 300 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
    silent.closeAllConnections();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });
});
