import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import aws4 from 'aws4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeConnection, postToConnection, resetConnectionClients } from '../../shared/adapters/socket-connections-api';
import { resetConfig } from '../../shared/config';

/**
 * The `@connections` calls are signed by hand (aws4), not by the AWS SDK's client: API Gateway
 * must find the same signature the SDK would have made. A loopback server stands for the
 * management API, with a stage in the path and connection ids that need escaping, as in AWS.
 */

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session' };
const REGION = 'eu-central-1';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** The signature aws4 computes over a received request, from the headers it says it signed. */
function signatureOver(received: Received): string {
  const auth = String(received.headers.authorization);
  const signedNames = /SignedHeaders=([^,]+)/.exec(auth)![1]!.split(';');
  const headers = Object.fromEntries(signedNames.filter((n) => n !== 'host').map((n) => [n, String(received.headers[n])]));
  const signed = aws4.sign(
    {
      host: String(received.headers.host),
      path: received.url,
      method: received.method,
      service: 'execute-api',
      region: REGION,
      headers,
      ...(received.body ? { body: received.body } : {}),
    },
    CREDENTIALS,
  );
  return String((signed.headers as Record<string, string>).Authorization);
}

describe('@connections calls', () => {
  let server: Server;
  let endpoint: string;
  const received: Received[] = [];
  let status = 200;
  const saved = { ...process.env };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        if (status === 410) res.writeHead(410, { 'x-amzn-errortype': 'GoneException' }).end('{"message":"Gone"}');
        else res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod`;
    delete process.env.DYNAMODB_ENDPOINT;
    Object.assign(process.env, {
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_SESSION_TOKEN: CREDENTIALS.sessionToken,
    });
    resetConfig();
  });

  afterAll(() => {
    resetConnectionClients();
    server.close();
    process.env = saved;
    resetConfig();
  });

  it('signs as the AWS SDK does: same path, same canonical form, a signature API Gateway can check', async () => {
    const sdk = new ApiGatewayManagementApiClient({ endpoint, region: REGION, credentials: CREDENTIALS });
    for (const connectionId of ['L0SM9cOFvHcCIhw=', 'a+b/c=']) {
      received.length = 0;
      status = 200;
      await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from('42/u,["eventsChanged"]') }));
      expect(await postToConnection(endpoint, connectionId, '42/u,["eventsChanged"]')).toBe('sent');
      const [bySdk, ours] = received as [Received, Received];
      // The SDK's own request, signed again by aws4 from what it signed: the same signature.
      expect(signatureOver(bySdk)).toBe(bySdk.headers.authorization);
      // Ours: the same method, escaped path (stage kept), body and credential scope, and a valid signature.
      expect(ours.method).toBe(bySdk.method);
      expect(ours.url).toBe(bySdk.url);
      expect(ours.body).toBe(bySdk.body);
      const scope = (auth: unknown) => /Credential=([^,]+)/.exec(String(auth))![1];
      expect(scope(ours.headers.authorization)).toBe(scope(bySdk.headers.authorization));
      expect(ours.headers['x-amz-security-token']).toBe(CREDENTIALS.sessionToken);
      expect(signatureOver(ours)).toBe(ours.headers.authorization);
    }
    sdk.destroy();
  });

  it('maps the answers as callers expect: 410 gone, 413 too large, a close of a gone connection is fine, 5xx retried then thrown', async () => {
    status = 410;
    expect(await postToConnection(endpoint, 'x=', 'hello')).toBe('gone');
    await expect(closeConnection(endpoint, 'x=')).resolves.toBeUndefined();
    expect(received.at(-1)?.method).toBe('DELETE');
    status = 413;
    expect(await postToConnection(endpoint, 'x=', 'hello')).toBe('too-large');
    status = 503;
    received.length = 0;
    await expect(postToConnection(endpoint, 'x=', 'hello')).rejects.toMatchObject({ $metadata: { httpStatusCode: 503 }, $fault: 'server' });
    expect(received.length).toBe(3);
    status = 200;
  });
});
