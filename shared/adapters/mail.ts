import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { config } from '../config';
import { log } from '../log';

/**
 * Outgoing mail, pluggable: through SES when MAIL_FROM is set (AWS), otherwise into the
 * local mail sink (MAIL_SINK_DIR): one JSON file per mail that a developer (or a test)
 * reads, plus a log line without any secret.
 */
export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Machine-readable facts about the mail (kept in the sink file only, never logged). */
  meta: { kind: 'password-reset' | 'mfa-code'; username: string; [key: string]: unknown };
}

export type MailSender = (mail: Mail) => Promise<void>;

/** SES, imported on the first mail: a function that sends none (most calls of those that may) does not load its SDK. */
async function sendWithSes(mail: Mail, from: string): Promise<void> {
  await (await import('./ses')).sendWithSes(mail, from);
}

async function writeToSink(mail: Mail, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const name = `${Date.now()}-${mail.meta.kind}-${randomBytes(4).toString('hex')}.json`;
  const file = join(dir, name);
  await writeFile(file, `${JSON.stringify(mail, null, 2)}\n`, { mode: 0o600 });
  log.info('mail written to the local sink', { kind: mail.meta.kind, username: mail.meta.username, file });
}

let override: MailSender | undefined;
/** Replaces the sender (a custom transport); `undefined` restores the default. */
export function setMailSender(sender: MailSender | undefined): void {
  override = sender;
}

export async function sendMail(mail: Mail): Promise<void> {
  if (override) return override(mail);
  const c = config();
  if (c.mailFrom) return sendWithSes(mail, c.mailFrom);
  if (c.mailSinkDir) return writeToSink(mail, c.mailSinkDir);
  // Neither configured: the mail cannot go anywhere; say so without its content.
  log.warn('mail not sent: neither MAIL_FROM nor MAIL_SINK_DIR is set', { kind: mail.meta.kind, username: mail.meta.username });
}

/** Minimal HTML escaping for the values put into mail bodies. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
