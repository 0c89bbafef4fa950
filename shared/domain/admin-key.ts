import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { config } from '../config';

/**
 * The admin key (`auth.adminAccessKey`): given directly by the local runtime, read from
 * Secrets Manager in AWS (once per container: the secret is not rotated under a running
 * function without a redeploy).
 */
let cached: Promise<string | undefined> | undefined;

export function adminKey(): Promise<string | undefined> {
  const c = config();
  if (c.adminKey) return Promise.resolve(c.adminKey);
  if (!c.adminKeySecretArn) return Promise.resolve(undefined);
  cached ??= new SecretsManagerClient({ region: c.region })
    .send(new GetSecretValueCommand({ SecretId: c.adminKeySecretArn }))
    .then((out) => out.SecretString)
    .catch((err) => {
      cached = undefined;
      throw err;
    });
  return cached;
}
