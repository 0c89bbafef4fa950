import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Mail, sendMail, setMailSender } from '../../shared/adapters/mail';
import { resetConfig } from '../../shared/config';
import { resetUrl } from '../../shared/domain/accounts/password-reset';

const mail = (token: string): Mail => ({
  to: 'someone@example.com',
  subject: 'Reset your password',
  text: `token ${token}`,
  html: `<p>${token}</p>`,
  meta: { kind: 'password-reset', username: 'someone', resetToken: token },
});

describe('mail sink (shared/mail)', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    resetConfig();
    setMailSender(undefined);
    vi.restoreAllMocks();
  });

  it('without MAIL_FROM writes one JSON file per mail and logs one line without the token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mail-unit-'));
    process.env.MAIL_SINK_DIR = dir;
    delete process.env.MAIL_FROM;
    process.env.LOG_LEVEL = 'info';
    resetConfig();
    const lines: string[] = [];
    // The logger writes its lines to stdout (shared/log.ts).
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    });
    await sendMail(mail('secret-token-123'));
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(dir, files[0]!), 'utf8'))).toEqual(mail('secret-token-123'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ message: 'mail written to the local sink', kind: 'password-reset', username: 'someone' });
    expect(lines[0]).not.toContain('secret-token-123');
  });

  it('a plugged-in sender replaces the transport', async () => {
    const sent: Mail[] = [];
    setMailSender(async (m) => void sent.push(m));
    await sendMail(mail('t'));
    expect(sent).toEqual([mail('t')]);
  });

  it('the reset link points at the reset page with username and token, URL-encoded', () => {
    const url = new URL(resetUrl('https://api.example.com', 'alice', 'a+b/c'));
    expect(url.origin + url.pathname).toBe('https://api.example.com/www/reset-password.html');
    expect(url.searchParams.get('username')).toBe('alice');
    expect(url.searchParams.get('resetToken')).toBe('a+b/c');
  });
});
