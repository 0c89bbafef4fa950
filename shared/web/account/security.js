// "Security": the password, two-step sign-in (TOTP, spec §2.13) and the sign-in sessions.
import { $, api, busy, saveSession, setStatus } from '../www/assets/api.js';
import { dateTime } from '../www/assets/words.js';
import { completeLastUsed, lastUsed } from './accesses.js';
import { call, ctx, refresh } from './context.js';
import { accessTitle } from './describe.js';
import { el, facts } from './dom.js';

const PASSWORD_MIN = 6; // spec §8
const PASSWORD_MAX = 100;

// ---- password ----

async function changePassword(event) {
  event.preventDefault();
  const form = $('password-form');
  const status = $('password-status');
  const oldPassword = form.elements.oldPassword.value;
  const newPassword = form.elements.newPassword.value;
  if (!oldPassword) {
    setStatus(status, 'Enter your current password.', 'error');
    form.elements.oldPassword.focus();
    return;
  }
  if (newPassword.length < PASSWORD_MIN || newPassword.length > PASSWORD_MAX) {
    setStatus(status, 'The new password must be 6 to 100 characters.', 'error');
    form.elements.newPassword.focus();
    return;
  }
  if (newPassword !== form.elements.newPasswordAgain.value) {
    setStatus(status, 'The two new passwords differ.', 'error');
    form.elements.newPasswordAgain.focus();
    return;
  }
  busy(form, true);
  setStatus(status, 'Changing the password…');
  try {
    await call('POST', 'account/change-password', { body: { oldPassword, newPassword } });
    form.reset();
    setStatus(status, 'Your password was changed. Use the new one next time you sign in.', 'ok');
  } catch (err) {
    const message =
      err.id === 'invalid-operation' && /match/i.test(err.body?.error?.message ?? '')
        ? 'The current password is not right.'
        : (err.body?.error?.data?.[0]?.message ?? err.message);
    setStatus(status, message, 'error');
  } finally {
    busy(form, false);
  }
}

// ---- two-step sign-in ----

const mfa = { token: undefined };

function renderMfa() {
  const on = ctx.session.mfa === true;
  $('mfa-state').textContent = on
    ? 'Two-step sign-in is on: signing in asks for a code from your authenticator app after the password.'
    : 'Two-step sign-in is off: your password alone signs you in.';
  $('mfa-on-button').hidden = on || !$('mfa-setup').hidden || !$('mfa-recovery').hidden;
  $('mfa-off-button').hidden = !on || !$('mfa-recovery').hidden;
}

function setMfa(on) {
  ctx.session = { ...ctx.session, mfa: on };
  saveSession(ctx.session);
}

async function startMfa() {
  const status = $('mfa-setting-status');
  $('mfa-on-button').disabled = true;
  setStatus(status, 'Preparing…');
  try {
    const body = await call('POST', 'mfa/activate', { body: {} });
    const { qrCode } = await import('./qr.js'); // the QR encoder loads only when needed
    mfa.token = body.mfaToken;
    $('mfa-qr').replaceChildren(qrCode(body.otpauthUrl, 'QR code of your two-step sign-in key, for your authenticator app'));
    $('mfa-secret').textContent = body.secret.replace(/(.{4})/g, '$1 ').trim();
    $('mfa-setup').hidden = false;
    setStatus(status, '');
    renderMfa();
    $('mfa-confirm-code').focus();
  } catch (err) {
    if (err.id === 'invalid-operation') {
      // Turned on elsewhere (another device, another tab) since this sign-in.
      setMfa(true);
      setStatus(status, 'Two-step sign-in is already on for your account.', 'ok');
    } else {
      setStatus(status, err.message, 'error');
    }
    renderMfa();
  } finally {
    $('mfa-on-button').disabled = false;
  }
}

function cancelMfa() {
  mfa.token = undefined;
  $('mfa-setup').hidden = true;
  $('mfa-confirm-form').reset();
  $('mfa-qr').replaceChildren();
  $('mfa-secret').textContent = '';
  setStatus($('mfa-setting-status'), 'Two-step sign-in stays off.');
  renderMfa();
  $('mfa-on-button').focus();
}

async function confirmMfa(event) {
  event.preventDefault();
  const form = $('mfa-confirm-form');
  const status = $('mfa-setting-status');
  const code = form.elements.code.value.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(code)) {
    setStatus(status, 'Enter the 6 digits your authenticator app shows.', 'error');
    form.elements.code.focus();
    return;
  }
  busy(form, true);
  setStatus(status, 'Checking the code…');
  try {
    const { body } = await api('POST', `${ctx.root}mfa/confirm`, { token: mfa.token, body: { code } });
    mfa.token = undefined;
    setMfa(true);
    form.reset();
    $('mfa-setup').hidden = true;
    $('mfa-qr').replaceChildren();
    $('mfa-secret').textContent = '';
    $('mfa-recovery-codes').replaceChildren(...(body.recoveryCodes ?? []).map((c) => el('li', {}, el('code', {}, c))));
    $('mfa-recovery').hidden = false;
    setStatus(status, 'Two-step sign-in is on.', 'ok');
    renderMfa();
    $('mfa-recovery').querySelector('h3').focus();
  } catch (err) {
    if (err.status === 401) {
      setStatus(status, 'The setup has expired. Cancel and start again.', 'error');
    } else {
      setStatus(
        status,
        err.status === 400 ? 'This code is not valid. Check that your phone’s clock is right, and try the next code.' : err.message,
        'error',
      );
    }
  } finally {
    busy(form, false);
  }
}

function recoveryKept() {
  $('mfa-recovery').hidden = true;
  $('mfa-recovery-codes').replaceChildren(); // shown once: not left on the page
  setStatus($('mfa-setting-status'), '');
  renderMfa();
  $('mfa-off-button').focus();
}

async function stopMfa() {
  const status = $('mfa-setting-status');
  $('mfa-off-button').disabled = true;
  setStatus(status, 'Turning off…');
  try {
    await call('POST', 'mfa/deactivate', { body: {} });
    setMfa(false);
    setStatus(status, 'Two-step sign-in is off.', 'ok');
    renderMfa();
    $('mfa-on-button').focus();
  } catch (err) {
    setStatus(status, err.message, 'error');
  } finally {
    $('mfa-off-button').disabled = false;
  }
}

// ---- sessions ----

/**
 * When a sign-in session (a personal access) ended, if it did: at a sign-out (its newest
 * audit record is that `auth.logout`, or a call refused for its ended session), or
 * `sessionMaxAge` after its last use. A new sign-in for the same app replaces the token of
 * the same access (its `modified`), which starts it again. The API keeps a session's end to
 * itself (Pryv's access objects do not carry it), so this is read from what it does show.
 */
function sessionEnd(s, now = Date.now() / 1000) {
  const opened = Math.max(s.created ?? 0, s.modified ?? 0);
  const record = ctx.lastSeen.get(s.id);
  if (record && record.time >= opened) {
    if (record.action === 'auth.logout' && record.status < 400) return { at: record.time, words: 'Signed out' };
    if (record.errorId === 'invalid-access-token') return { at: record.time, words: 'Ended' };
  }
  const maxAge = ctx.info?.accountPolicy?.sessionMaxAge;
  if (typeof maxAge !== 'number') return undefined;
  const end = Math.max(s.lastUsed ?? 0, opened) + maxAge;
  return end <= now ? { at: end, words: 'Ended, unused since' } : undefined;
}

function sessionCard(s, end) {
  return el(
    'li',
    { className: end ? 'card past' : 'card', 'data-access-id': s.id, 'data-session-ended': end ? 'true' : undefined },
    el(
      'h3',
      {},
      accessTitle(s),
      s.id === ctx.self?.id ? el('span', { className: 'badge current' }, 'This one') : undefined,
      end ? el('span', { className: 'badge ended' }, 'Ended') : undefined,
    ),
    facts([['Signed in', dateTime(s.created)], ['Last used', lastUsed(s)], end ? [end.words, dateTime(end.at)] : undefined]),
  );
}

/** Live sessions first (newest use first), then the ended ones, marked. */
function renderSessions() {
  const sessions = ctx.accesses
    .filter((a) => a.type === 'personal')
    .map((s) => ({ s, end: s.id === ctx.self?.id ? undefined : sessionEnd(s) }))
    .sort((a, b) => Number(Boolean(a.end)) - Number(Boolean(b.end)) || (b.s.lastUsed ?? 0) - (a.s.lastUsed ?? 0));
  $('sessions-list').replaceChildren(...sessions.map(({ s, end }) => sessionCard(s, end)));
}

/** Ends every personal session (accesses.delete on each; this one last), then signs out here. */
async function signOutEverywhere() {
  const button = $('signout-all-button');
  const status = $('sessions-status');
  button.disabled = true;
  setStatus(status, 'Signing out everywhere…');
  try {
    await refresh();
    const sessions = ctx.accesses.filter((a) => a.type === 'personal');
    const others = sessions.filter((s) => s.id !== ctx.self?.id);
    const failures = [];
    for (const s of others) {
      try {
        await call('DELETE', `accesses/${encodeURIComponent(s.id)}`);
      } catch (err) {
        if (err.id !== 'unknown-resource') failures.push(err);
      }
    }
    if (failures.length > 0) throw failures[0];
    await call('DELETE', `accesses/${encodeURIComponent(ctx.self.id)}`);
    ctx.onSignedOut('You are signed out everywhere: every device and app that used your password must sign in again.');
  } catch (err) {
    setStatus(status, err.message, 'error');
    button.disabled = false;
  }
}

export async function show() {
  renderMfa();
  renderSessions();
  await completeLastUsed();
  // Sign-outs are known from the audit log, which has just been read: mark them (nothing in
  // the list takes focus, so redrawing it loses none).
  renderSessions();
}

export function init() {
  $('password-form').addEventListener('submit', changePassword);
  $('mfa-on-button').addEventListener('click', startMfa);
  $('mfa-cancel-button').addEventListener('click', cancelMfa);
  $('mfa-confirm-form').addEventListener('submit', confirmMfa);
  $('mfa-recovery-done').addEventListener('click', recoveryKept);
  $('mfa-off-button').addEventListener('click', stopMfa);
  $('signout-all-button').addEventListener('click', signOutEverywhere);
}
