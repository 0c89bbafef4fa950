// "My data": a copy of the whole account (account.export, followed to its download link),
// and erasing the account (DELETE /users/{username} with the personal token, when the
// service allows it), with what erasure keeps said from the service's own policy.
import { $, api, busy, clearSession, setStatus } from '../www/assets/api.js';
import { dateTime } from '../www/assets/words.js';
import { call, ctx } from './context.js';
import { el } from './dom.js';

const POLL_MS = 1000;
const MAX_POLLS = 15 * 60; // an export worker has 15 minutes at most

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function sizeWords(bytes) {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

const EXPORT_STEPS = {
  pending: 'Waiting for its turn…',
  running: 'Putting your data together…',
};

function showReady(job) {
  const link = $('export-link');
  link.href = job.url; // a short-lived storage link, holding no token of the user
  $('export-size').textContent = sizeWords(job.size ?? 0);
  $('export-files').textContent = String(job.files ?? '');
  $('export-expires').textContent = job.urlExpires ? dateTime(job.urlExpires) : 'soon';
  $('export-sha256').textContent = job.sha256 ?? '';
  $('export-ready').hidden = false;
}

async function exportAccount() {
  const button = $('export-button');
  const status = $('export-status');
  button.disabled = true;
  $('export-ready').hidden = true;
  $('export-progress').hidden = false;
  setStatus(status, 'Starting…');
  try {
    let { export: job } = await call('POST', 'account/export');
    for (let polls = 0; job.status !== 'done' && job.status !== 'failed'; polls++) {
      if (polls >= MAX_POLLS) throw new Error('The copy takes longer than expected. Try again later.');
      setStatus(status, EXPORT_STEPS[job.status] ?? 'Working…');
      await wait(POLL_MS);
      ({ export: job } = await call('GET', `account/export/${encodeURIComponent(job.id)}`));
    }
    if (job.status === 'failed') throw new Error('The copy could not be made. Please try again later.');
    showReady(job);
    setStatus(status, 'Your copy is ready.', 'ok');
    $('export-link').focus();
  } catch (err) {
    setStatus(status, err.message, 'error');
  } finally {
    $('export-progress').hidden = true;
    button.disabled = false;
  }
}

/** What erasure does with the activity record, from the service's configured policy. */
function auditWords(policy) {
  const days = policy?.auditRetentionDays;
  const period = typeof days === 'number' ? `${days} days` : 'a while';
  switch (policy?.auditOnDeletion) {
    case 'keep':
      return `The record of the calls made to your data (your activity) is kept as it is, out of reach of any account, and removed ${period} after each call.`;
    case 'pseudonymise':
      return `The record of the calls made to your data (your activity) is kept under a random name, without IP addresses or browser details, and removed ${period} after each call.`;
    case 'erase':
      return 'The record of the calls made to your data (your activity) is erased with it.';
    default:
      return 'Ask the service what happens to the record of calls made to your data.';
  }
}

function renderErase() {
  const policy = ctx.info?.accountPolicy;
  $('erase-audit').textContent = auditWords(policy);
  const allowed = policy?.deletionByUser === true;
  $('erase-form').hidden = !allowed;
  $('erase-unavailable').hidden = allowed;
  if (!allowed) {
    const box = $('erase-unavailable');
    const support = document.querySelector('footer a[data-brand="support"]:not([hidden])');
    box.replaceChildren('This service does not let you erase your account yourself. ');
    if (support) box.append(el('a', { href: support.href }, 'Ask its support'), ' to do it.');
    else box.append('Ask its support to do it.');
  }
}

async function erase(event) {
  event.preventDefault();
  const form = $('erase-form');
  const status = $('erase-status');
  const typed = form.elements.confirm.value.trim().toLowerCase();
  if (typed !== ctx.session.username) {
    setStatus(status, `Type your username, ${ctx.session.username}, exactly, to confirm.`, 'error');
    form.elements.confirm.focus();
    return;
  }
  busy(form, true);
  setStatus(status, 'Erasing your account…');
  try {
    // `DELETE /users/{username}` sits at the API's top level, beside the user roots.
    const url = new URL(`../users/${encodeURIComponent(ctx.session.username)}`, ctx.root).toString();
    await api('DELETE', url, { token: ctx.session.token });
    const { username } = ctx.session;
    clearSession();
    form.reset();
    setStatus(status, '');
    ctx.onErased(username);
  } catch (err) {
    const refused = err.id === 'invalid-access-token' && err.status === 403;
    setStatus(status, refused ? 'The service refused to erase the account: ask its support.' : err.message, 'error');
  } finally {
    busy(form, false);
  }
}

export function show() {
  renderErase();
}

export function init() {
  $('export-button').addEventListener('click', exportAccount);
  $('erase-form').addEventListener('submit', erase);
}
