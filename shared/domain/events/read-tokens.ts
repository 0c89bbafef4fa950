import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Access } from '../../model/accesses';
import type { Attachment } from '../../model/events';

/**
 * Attachment read tokens (spec §2.2.6): `{accessId}-{hmac}`, the HMAC-SHA1 of
 * `{fileId}-{accessToken}` under a server secret, base64url. Bound to the reading access:
 * it stops working when that access is deleted.
 */
export function readToken(secret: string, fileId: string, access: Pick<Access, 'id' | 'token'>): string {
  const hmac = createHmac('sha1', secret).update(`${fileId}-${access.token}`).digest('base64url');
  return `${access.id}-${hmac}`;
}

/** Splits a read token into its access id and HMAC (access ids never contain '-'). */
export function parseReadToken(value: string): { accessId: string; hmac: string } | undefined {
  const dash = value.indexOf('-');
  if (dash <= 0) return undefined;
  return { accessId: value.slice(0, dash), hmac: value.slice(dash + 1) };
}

export function readTokenMatches(secret: string, fileId: string, access: Pick<Access, 'id' | 'token'>, given: string): boolean {
  const expected = Buffer.from(readToken(secret, fileId, access));
  const actual = Buffer.from(given);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Attachments as a reader sees them: each with its read token for that reader. */
export function attachmentsForReader(attachments: Attachment[] | undefined, secret: string, access?: Pick<Access, 'id' | 'token'>) {
  if (!attachments || attachments.length === 0) return undefined;
  return attachments.map((a) => (access ? { ...a, readToken: readToken(secret, a.id, access) } : { ...a }));
}
