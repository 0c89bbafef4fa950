import { config } from '../config';

/**
 * Server secrets: given directly by the local runtime, read from Secrets Manager in AWS
 * (once per container: a secret is not rotated under a running function without a redeploy).
 */
const cache = new Map<string, Promise<string | undefined>>();

function secret(value: string | undefined, arn: string | undefined): Promise<string | undefined> {
  if (value) return Promise.resolve(value);
  if (!arn) return Promise.resolve(undefined);
  let pending = cache.get(arn);
  if (!pending) {
    // The SDK client is imported on the first read: many calls of a function never need a secret.
    pending = import('./secrets-manager')
      .then(({ readSecret }) => readSecret(arn))
      .catch((err) => {
        cache.delete(arn);
        throw err;
      });
    cache.set(arn, pending);
  }
  return pending;
}

/** The admin key (`auth.adminAccessKey`) of the system API. */
export const adminKey = () => secret(config().adminKey, config().adminKeySecretArn);

/** The secret behind attachment read tokens (`auth.filesReadTokenSecret`). */
export async function filesReadTokenSecret(): Promise<string> {
  const value = await secret(config().filesReadTokenSecret, config().filesReadTokenSecretArn);
  if (!value) throw new Error('FILES_READ_TOKEN_SECRET (or its Secrets Manager ARN) is not configured');
  return value;
}
