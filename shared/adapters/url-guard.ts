import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';

/**
 * SSRF guard of outgoing webhook calls (webhooks.test now, delivery later): a webhook URL
 * must not reach the service's own network — private ranges, loopback, link-local (the
 * cloud metadata endpoint 169.254.169.254 among them), unspecified or multicast addresses —
 * unless WEBHOOKS_ALLOW_PRIVATE_TARGETS=true (local development).
 *
 * The check happens on the address actually connected to: `guardedLookup` is the `lookup`
 * of the outgoing request's socket, so the name is resolved once, every address it resolves
 * to is checked, and the socket connects to a checked address (a DNS answer that changes
 * between a check and the connection — DNS rebinding — cannot slip through). IP literals
 * are not resolved by Node (no lookup call), so `checkUrl` classifies them before the call.
 */

export type AddressClass = 'public' | 'private' | 'loopback' | 'link-local' | 'unspecified' | 'multicast' | 'reserved' | 'invalid';

/** A webhook URL refused before any byte was sent. */
export class UrlRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UrlRefusedError';
  }
}

function parseIPv4(address: string): number[] | undefined {
  const parts = address.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  return bytes.every((b) => b >= 0 && b <= 255) ? bytes : undefined;
}

/** 16 bytes of an IPv6 address (zone id ignored, embedded dotted IPv4 accepted). */
function parseIPv6(address: string): number[] | undefined {
  let text = address.split('%')[0]!;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const v4 = parseIPv4(text.slice(lastColon + 1));
    if (!v4) return undefined;
    tail.push(...v4);
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  const bytes: number[] = [];
  for (const g of all) {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
    const n = parseInt(g, 16);
    bytes.push(n >> 8, n & 0xff);
  }
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

function classifyIPv4([a, b, c]: number[]): AddressClass {
  if (a === 0) return 'unspecified'; // 0.0.0.0/8 "this network"
  if (a === 127) return 'loopback';
  if (a === 10) return 'private';
  if (a === 172 && b! >= 16 && b! <= 31) return 'private';
  if (a === 192 && b === 168) return 'private';
  if (a === 100 && b! >= 64 && b! <= 127) return 'private'; // 100.64/10 carrier-grade NAT
  if (a === 169 && b === 254) return 'link-local';
  if (a! >= 224 && a! <= 239) return 'multicast';
  if (a! >= 240) return 'reserved'; // 240/4 and the broadcast address
  if (a === 192 && b === 0 && c === 0) return 'reserved'; // 192.0.0/24 IETF protocol assignments
  if (a === 198 && (b === 18 || b === 19)) return 'reserved'; // 198.18/15 benchmarking
  return 'public';
}

function classifyIPv6(bytes: number[]): AddressClass {
  const zeroUpTo = (n: number) => bytes.slice(0, n).every((b) => b === 0);
  if (zeroUpTo(16)) return 'unspecified'; // ::
  if (zeroUpTo(15) && bytes[15] === 1) return 'loopback'; // ::1
  // IPv4-mapped ::ffff:a.b.c.d and NAT64 64:ff9b::a.b.c.d reach the embedded IPv4 address.
  if (zeroUpTo(10) && bytes[10] === 0xff && bytes[11] === 0xff) return classifyIPv4(bytes.slice(12));
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && bytes.slice(4, 12).every((b) => b === 0)) {
    return classifyIPv4(bytes.slice(12));
  }
  if (zeroUpTo(12)) return 'reserved'; // deprecated IPv4-compatible ::a.b.c.d
  if ((bytes[0]! & 0xfe) === 0xfc) return 'private'; // fc00::/7 unique local
  if (bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0x80) return 'link-local'; // fe80::/10
  if (bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0xc0) return 'private'; // fec0::/10 deprecated site-local
  if (bytes[0] === 0xff) return 'multicast'; // ff00::/8
  return 'public';
}

/** What kind of address this is (IPv4 or IPv6 text). */
export function classifyAddress(address: string): AddressClass {
  const version = isIP(address.split('%')[0]!);
  if (version === 4) {
    const bytes = parseIPv4(address);
    return bytes ? classifyIPv4(bytes) : 'invalid';
  }
  if (version === 6) {
    const bytes = parseIPv6(address);
    return bytes ? classifyIPv6(bytes) : 'invalid';
  }
  return 'invalid';
}

/** Whether a call may go to this address; every class but `public` needs `allowPrivate`. */
export function isAllowedAddress(address: string, allowPrivate: boolean): boolean {
  const kind = classifyAddress(address);
  if (kind === 'invalid') return false;
  return kind === 'public' || allowPrivate;
}

function refusal(host: string, address: string): UrlRefusedError {
  const kind = classifyAddress(address);
  const where = host === address ? address : `${host} (${address})`;
  return new UrlRefusedError(`The webhook URL's host ${where} is a ${kind} address: webhooks may only call public Internet addresses.`);
}

/** The host of a URL as Node connects to it: IPv6 literals without their brackets. */
export function urlHost(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * Checks what can be checked without resolving: an http(s) URL, and an allowed address if
 * the host is an IP literal. Host names are checked at connection time by `guardedLookup`.
 */
export function checkUrl(url: URL, allowPrivate: boolean): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UrlRefusedError(`Only http and https webhook URLs can be called, not ${url.protocol}.`);
  }
  const host = urlHost(url);
  if (isIP(host) && !isAllowedAddress(host, allowPrivate)) throw refusal(host, host);
}

/**
 * A socket `lookup` that resolves every address of the name and refuses them all if any one
 * is not allowed (whichever one the socket would pick, it must be safe), then hands the
 * checked addresses to the socket. Handles both callback forms (`all` or not).
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { family: options.family, hints: options.hints, all: true, verbatim: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, options.all ? [] : '', 0);
      const bad = addresses.find((a) => !isAllowedAddress(a.address, allowPrivate));
      if (bad) return callback(refusal(hostname, bad.address) as NodeJS.ErrnoException, options.all ? [] : '', 0);
      if (addresses.length === 0) {
        const none: NodeJS.ErrnoException = new Error(`${hostname} has no address`);
        none.code = 'ENOTFOUND';
        return callback(none, options.all ? [] : '', 0);
      }
      if (options.all) return (callback as (e: null, a: LookupAddress[]) => void)(null, addresses);
      return callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}
