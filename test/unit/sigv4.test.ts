import { describe, expect, it } from 'vitest';
import { type Credentials, SigV4 } from '../../shared/aws-http';
import { sdkSigner } from './sdk-signer';

/**
 * The signer of shared/aws-http.ts against the AWS SDK's own (@smithy/signature-v4): for the
 * same request, headers and time, the same Authorization, byte for byte. Its caches (the date
 * strings of a second, the signing key of a day and secret) must follow a new second, a new
 * day and a rotated secret.
 */

const TEMPORARY: Credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE//token+with/slashes=',
};
const LONG_TERM: Credentials = { accessKeyId: 'AKIDOTHER', secretAccessKey: 'another/secret+KEY' };

interface Case {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  headers: Record<string, string>;
  body: string | Buffer;
}

/** The SDK's Authorization for what our signer sent: same signed headers, body and time. */
async function sdkAuthorization(service: string, credentials: Credentials, host: string, sent: string[], c: Case, at: number) {
  const headers: Record<string, string> = {};
  for (let i = 0; i < sent.length; i += 2) headers[sent[i]!.toLowerCase()] = sent[i + 1]!;
  const signedNames = /SignedHeaders=([^,]+)/.exec(headers.authorization ?? '')?.[1]?.split(';') ?? [];
  const signedHeaders: Record<string, string> = {};
  for (const name of signedNames) signedHeaders[name] = headers[name]!;
  const signed = await sdkSigner(service, 'eu-central-1', credentials).sign(
    {
      method: c.method,
      protocol: 'https:',
      hostname: host,
      path: c.path,
      query: {},
      headers: signedHeaders,
      body: c.body.length > 0 ? c.body : undefined,
    },
    { signingDate: new Date(at) },
  );
  return { ours: headers.authorization, sdk: signed.headers.authorization, signedNames };
}

const DYNAMODB: Case = {
  method: 'POST',
  path: '/',
  headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'DynamoDB_20120810.GetItem' },
  body: JSON.stringify({ TableName: 't', Key: { pk: { S: 'U#é' }, sk: { S: 'E#1' } } }),
};
const POST_TO_CONNECTION: Case = {
  method: 'POST',
  path: '/prod/%40connections/aB%2Bc%3D',
  headers: { 'Content-Type': 'application/octet-stream' },
  body: Buffer.from([0, 1, 2, 250, 255]),
};
const DELETE_CONNECTION: Case = { method: 'DELETE', path: '/prod/@connections/aB%2Bc%3D', headers: {}, body: '' };
const SPACED: Case = { ...DYNAMODB, headers: { ...DYNAMODB.headers, 'X-Custom': '  two   spaces\tand a tab ' } };

describe('SigV4 signer', () => {
  it('signs as the SDK does: JSON 1.0 POST, binary POST, DELETE without body, spaced header values, with and without a session token', async () => {
    const at = Date.UTC(2026, 11, 6, 19, 15, 42, 517);
    for (const credentials of [TEMPORARY, LONG_TERM]) {
      for (const [service, host, c] of [
        ['dynamodb', 'dynamodb.eu-central-1.amazonaws.com', DYNAMODB],
        ['dynamodb', 'localhost:8000', SPACED],
        ['execute-api', 'abc123.execute-api.eu-central-1.amazonaws.com', POST_TO_CONNECTION],
        ['execute-api', 'abc123.execute-api.eu-central-1.amazonaws.com', DELETE_CONNECTION],
      ] as const) {
        const sent = new SigV4('eu-central-1', service).sign(c.method, host, c.path, c.headers, c.body, credentials, at);
        const { ours, sdk, signedNames } = await sdkAuthorization(service, credentials, host, sent, c, at);
        expect(ours).toBe(sdk);
        // What the signature covers: the host, the time, the token when there is one, the body's length when there is a body.
        expect(signedNames).toContain('host');
        expect(signedNames).toContain('x-amz-date');
        expect(signedNames.includes('x-amz-security-token')).toBe(credentials.sessionToken !== undefined);
        expect(signedNames.includes('content-length')).toBe(c.body.length > 0);
      }
    }
  });

  it('one signer over time: a new second, a new day and a rotated secret each sign as the SDK does', async () => {
    const signer = new SigV4('eu-central-1', 'dynamodb');
    const host = 'dynamodb.eu-central-1.amazonaws.com';
    const midnight = Date.UTC(2026, 11, 6, 24, 0, 0);
    const steps: Array<[number, Credentials]> = [
      [midnight - 1500, TEMPORARY],
      [midnight - 1400, TEMPORARY], // same second
      [midnight - 200, TEMPORARY], // next second, same day
      [midnight + 10, TEMPORARY], // next day: a new signing key
      [midnight + 20, { ...TEMPORARY, secretAccessKey: 'rotated/secret' }], // same day, new secret
      [midnight + 30, TEMPORARY],
    ];
    const dates: string[] = [];
    for (const [at, credentials] of steps) {
      const sent = signer.sign('POST', host, '/', DYNAMODB.headers, DYNAMODB.body, credentials, at);
      const { ours, sdk } = await sdkAuthorization('dynamodb', credentials, host, sent, DYNAMODB, at);
      expect(ours).toBe(sdk);
      dates.push(sent[sent.indexOf('X-Amz-Date') + 1]!);
    }
    expect(dates).toEqual([
      '20261206T235958Z',
      '20261206T235958Z',
      '20261206T235959Z',
      '20261207T000000Z',
      '20261207T000000Z',
      '20261207T000000Z',
    ]);
  });
  it('one signer over many header sets: each set signed as the SDK does, the same set again after others, a body without Content-Type given the default one', async () => {
    const signer = new SigV4('eu-central-1', 'dynamodb');
    const host = 'localhost:8000';
    const at = Date.UTC(2026, 11, 7, 3, 40, 1, 250);
    const NO_TYPE: Case = { method: 'POST', path: '/', headers: { 'X-Amz-Target': 'DynamoDB_20120810.Query' }, body: '{"a":1}' };
    const target = (operation: string): Case => ({
      ...DYNAMODB,
      headers: { ...DYNAMODB.headers, 'X-Amz-Target': `DynamoDB_20120810.${operation}` },
    });
    // More sets than the signer keeps (it starts over past 256), then the first ones again.
    const many = Array.from({ length: 300 }, (_, i) => target(`Operation${i}`));
    const cases = [DYNAMODB, SPACED, NO_TYPE, target('Query'), DYNAMODB, NO_TYPE, DELETE_CONNECTION, ...many, DYNAMODB, many[0]!, SPACED];
    for (const [i, c] of cases.entries()) {
      const credentials = i % 3 === 0 ? LONG_TERM : TEMPORARY;
      const sent = signer.sign(c.method, host, c.path, c.headers, c.body, credentials, at);
      const { ours, sdk } = await sdkAuthorization('dynamodb', credentials, host, sent, c, at);
      expect(ours).toBe(sdk);
      // The headers on the wire, in order: Host, the date, the given ones, the token, the length, a default type, the signature.
      const names = sent.filter((_, j) => j % 2 === 0);
      expect(names).toEqual([
        'Host',
        'X-Amz-Date',
        ...Object.keys(c.headers),
        ...(credentials.sessionToken ? ['X-Amz-Security-Token'] : []),
        'Content-Length',
        ...(c === NO_TYPE ? ['Content-Type'] : []),
        'Authorization',
      ]);
      expect(sent[names.indexOf('Content-Length') * 2 + 1]).toBe(String(Buffer.byteLength(c.body)));
      for (const [name, value] of Object.entries(c.headers)) expect(sent[names.indexOf(name) * 2 + 1]).toBe(value);
    }
  });

  it('header sets that differ only in where a separator falls are kept apart', () => {
    const at = Date.UTC(2026, 11, 7, 4, 30, 0);
    const sets: Array<Record<string, string>> = [
      { 'X-A': 'x\nX-B\ny' },
      { 'X-A': 'x', 'X-B': 'y' },
      { 'X-A': '1:x', 'X-B': 'y' },
      { 'X-A': '1', ':x': 'y' },
    ];
    const shared = new SigV4('eu-central-1', 'dynamodb');
    for (let round = 0; round < 2; round++)
      for (const headers of sets) {
        const fresh = new SigV4('eu-central-1', 'dynamodb').sign('POST', 'h', '/', headers, '{}', LONG_TERM, at);
        expect(shared.sign('POST', 'h', '/', headers, '{}', LONG_TERM, at)).toEqual(fresh);
      }
  });
});
