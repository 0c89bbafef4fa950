import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { config } from '../config';
import { recordSdkCalls } from '../sdk-calls';

/** Reads one secret's value from Secrets Manager (./secrets.ts imports this module on its first read). */
export async function readSecret(arn: string): Promise<string | undefined> {
  const out = await recordSdkCalls(new SecretsManagerClient({ region: config().region })).send(
    new GetSecretValueCommand({ SecretId: arn }),
  );
  return out.SecretString;
}
