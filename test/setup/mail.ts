import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';

export interface SinkMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  meta: { kind: string; username: string; [key: string]: any };
}

/** The mails of one user (and kind) in the runtime's local mail sink, oldest first. */
export function mailsFor(username: string, kind?: string, dir: string = inject('mailDir')): SinkMail[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return files
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as SinkMail)
    .filter((m) => m.meta.username === username && (kind === undefined || m.meta.kind === kind));
}

/** Waits (briefly) for the n-th mail of a user and kind: the sink file is written before the call answers, so this rarely loops. */
export async function lastMail(username: string, kind: string, count = 1): Promise<SinkMail> {
  for (let i = 0; i < 50; i++) {
    const mails = mailsFor(username, kind);
    if (mails.length >= count) return mails[mails.length - 1]!;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${kind} mail for ${username}`);
}
