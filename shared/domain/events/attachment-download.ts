import { filesReadTokenSecret } from '../../adapters/secrets';
import { errors, PryvError } from '../../errors';
import type { Access } from '../../model/accesses';
import type { Attachment } from '../../model/events';
import { getAccessById, getAccessByToken } from '../../store/accesses';
import { userExists } from '../../store/accounts';
import { presignedGet, readFile } from '../../store/files';
import { objectKeys } from '../../store/keys';
import { assertAccessLive } from '../accesses/liveness';
import type { Caller } from '../caller';
import { loadUserData } from '../user-data';
import { parseReadToken, readTokenMatches } from './read-tokens';
import { loadEvent } from './write-checks';

/**
 * Downloading an attachment (spec §2.2.6): with the Authorization header's access, or
 * without it through a read token; ranges work; files too large for a Lambda answer are
 * redirected to a short-lived S3 URL.
 */

/** What identifies the reader of a file. */
export interface FileCredentials {
  /** The Authorization header, and the token read from it. */
  authorization?: string;
  token?: string;
  /** An `?auth=` query parameter was given (refused for downloads). */
  queryAuth: boolean;
  readToken?: string;
}

/**
 * Who reads a file: the access of the Authorization header, or the one a `readToken` was
 * made for (its HMAC must match that access's current token). `?auth=` is refused.
 */
export async function fileReader(username: string, fileId: string, given: FileCredentials): Promise<Access> {
  if (!given.authorization && given.queryAuth && given.readToken === undefined) {
    throw new PryvError('invalid-access-token', 401, 'Use the Authorization header or a readToken to download attachments.');
  }
  if (given.authorization && given.token) {
    const access = await getAccessByToken(username, given.token);
    if (!access) {
      if (!(await userExists(username))) throw errors.unknownUser(username);
      throw errors.invalidAccessToken();
    }
    return access;
  }
  if (given.readToken === undefined) {
    if (!(await userExists(username))) throw errors.unknownUser(username);
    throw errors.missingToken();
  }
  const parsed = parseReadToken(given.readToken);
  const access = parsed ? await getAccessById(username, parsed.accessId) : undefined;
  if (!access || !readTokenMatches(await filesReadTokenSecret(), fileId, access, given.readToken)) {
    if (!(await userExists(username))) throw errors.unknownUser(username);
    throw new PryvError('invalid-access-token', 401, 'Invalid read token.');
  }
  return access;
}

/**
 * One `bytes=` range resolved against the file size (RFC 9110 §14.1.2), as an explicit
 * `bytes=first-last` for S3: suffix ranges (`bytes=-N`) and ends past the file are made
 * concrete here (the local S3 emulator misreads suffix ranges), and a range starting past
 * the end is refused with 416 rather than left to S3's InvalidRange error. Malformed or
 * multiple ranges are ignored (the whole file is served), as HTTP allows.
 */
export function resolveRange(header: string | undefined, size: number): string | 'unsatisfiable' | undefined {
  const match = header ? /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header) : null;
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  let first: number;
  let last: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    first = Math.max(0, size - suffix);
    last = size - 1;
  } else {
    first = Number(match[1]);
    last = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
    if (match[2] !== '' && Number(match[2]) < first) return undefined;
    if (first >= size) return 'unsatisfiable';
  }
  return `bytes=${first}-${last}`;
}

export type Download = { attachment: Attachment; redirect: string } | { attachment: Attachment; data: Buffer; contentRange?: string };

/** The file (or the asked range of it), or a presigned link to it, for a reader allowed to read its event. */
export async function downloadAttachment(caller: Caller, id: string, fileId: string, rangeHeader: string | undefined): Promise<Download> {
  const { config, username } = caller;
  assertAccessLive(caller.access, caller.now);
  const head = await loadEvent(username, id);
  const { permissions } = await loadUserData(caller);
  if (!permissions.canReadEvent(head.streamIds)) throw errors.forbidden('You cannot read this event with the given access.');
  const attachment = (head.attachments ?? []).find((a) => a.id === fileId);
  if (!attachment) throw errors.unknownResource('attachment', fileId);
  const key = objectKeys.file(username, id, attachment.id);
  const range = resolveRange(rangeHeader, attachment.size);
  if (range === 'unsatisfiable') {
    throw new PryvError(
      'invalid-request-structure',
      416,
      `The requested range is not satisfiable (the file has ${attachment.size} bytes).`,
    );
  }
  if (attachment.size > config.directTransferMaxBytes && !range) {
    // Too large for a Lambda answer: a short-lived S3 link instead.
    return {
      attachment,
      redirect: await presignedGet(key, { fileName: attachment.fileName, type: attachment.type, expiresInS: config.presignTtlS }),
    };
  }
  const file = await readFile(key, range);
  if (!file) throw errors.unknownResource('attachment', fileId);
  if (file.data.length > config.directTransferMaxBytes) {
    throw new PryvError('invalid-request-structure', 416, `Ask for at most ${config.directTransferMaxBytes} bytes per range.`);
  }
  return { attachment, data: file.data, ...(file.contentRange ? { contentRange: file.contentRange } : {}) };
}
