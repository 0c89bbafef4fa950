import { createServer, type Server } from 'node:http';

/**
 * The part of Secrets Manager the functions use (GetSecretValue), for bundles run locally
 * with the template's `…_SECRET_ARN` variables (infra/local/bundles.ts): the SDK reaches it
 * through AWS_ENDPOINT_URL_SECRETS_MANAGER. Loopback only; answers as the AWS JSON protocol does.
 */
export interface LocalSecretsManager {
  endpoint: string;
  stop(): Promise<void>;
}

export async function startSecretsManager(secrets: Map<string, string>): Promise<LocalSecretsManager> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(body));
      };
      if (req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue')
        return reply(400, { __type: 'UnknownOperationException', message: `not served locally: ${req.headers['x-amz-target']}` });
      let secretId: unknown;
      try {
        secretId = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { SecretId?: unknown }).SecretId;
      } catch {
        return reply(400, { __type: 'InvalidRequestException', message: 'body is not JSON' });
      }
      const value = typeof secretId === 'string' ? secrets.get(secretId) : undefined;
      if (value === undefined)
        return reply(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
      reply(200, {
        ARN: secretId,
        Name: String(secretId).split(':').pop(),
        SecretString: value,
        VersionId: 'local',
        VersionStages: ['AWSCURRENT'],
        CreatedDate: 0,
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
