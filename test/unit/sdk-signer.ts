import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

/** node:crypto behind the hash interface the SDK's signer takes. */
class Sha256 {
  private readonly hash;
  constructor(secret?: string | Uint8Array) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', secret);
  }
  update(data: string | Uint8Array) {
    this.hash.update(data);
  }
  async digest() {
    return new Uint8Array(this.hash.digest());
  }
}

/**
 * The AWS SDK's own SigV4 signer for a service: the reference our signed-HTTP client's
 * requests are checked against (document.test.ts, socket-connections-api.test.ts).
 */
export function sdkSigner(
  service: string,
  region: string,
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
): SignatureV4 {
  return new SignatureV4({ service, region, credentials, sha256: Sha256 as never, applyChecksum: false });
}
