// "My data": a copy of the whole account (account.export, followed to its download link),
// bringing such a copy into this new account (account.importUpload, a PUT of the archive
// straight to its presigned storage URL, account.import, followed), and erasing the account (DELETE /users/{username} with the personal token, when the
// service allows it), with what erasure keeps said from the service's own policy.
import { $, api, busy, clearSession, setStatus } from '../www/assets/api.js';
import { dateTime } from '../www/assets/words.js';
import { call, ctx, refresh } from './context.js';
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

const COUNT_WORDS = { streams: 'streams', events: 'events', attachments: 'files', seriesPoints: 'series points' };

/**
 * A running job's counts (`progress`: done / total per kind) into words and the bar. Kept out
 * of the live status line, which would otherwise be read out at every poll.
 */
function showProgress(kind, job) {
  const bar = $(`${kind}-bar`);
  const counts = $(`${kind}-counts`);
  const progress = job.status === 'running' ? job.progress : undefined;
  if (!progress) {
    bar.removeAttribute('value');
    counts.textContent = '';
    return;
  }
  const number = (n) => n.toLocaleString();
  const parts = Object.entries(COUNT_WORDS)
    .filter(([key]) => progress[key] && (progress[key].total ?? progress[key].done) > 0)
    .map(([key, words]) => {
      const { done, total } = progress[key];
      return total === undefined ? `${number(done)} ${words}` : `${number(Math.min(done, total))} of ${number(total)} ${words}`;
    });
  counts.textContent = parts.join(' · ');
  const known = Object.values(progress).filter((c) => c.total !== undefined);
  const total = known.reduce((sum, c) => sum + c.total, 0);
  if (total > 0) {
    bar.max = total;
    bar.value = known.reduce((sum, c) => sum + Math.min(c.done, c.total), 0);
  }
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
      showProgress('export', job);
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
    showProgress('export', { status: 'ended' });
    $('export-progress').hidden = true;
    button.disabled = false;
  }
}

// ---- import ----

const IMPORT_STEPS = {
  pending: 'Waiting for its turn…',
  running: 'Checking the archive and bringing your data in…',
};

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** The archive's bytes to the presigned URL the API gave (another origin: the storage's). */
async function uploadArchive(upload, file) {
  let response;
  try {
    // The browser sets Content-Length from the file itself; the type is the one signed.
    response = await fetch(upload.url, {
      method: upload.method ?? 'PUT',
      headers: { 'Content-Type': upload.headers['Content-Type'] },
      body: file,
    });
  } catch {
    throw new Error('The archive could not be sent to the storage. Check your connection and try again.');
  }
  if (!response.ok) throw new Error('The storage refused the archive. Start again: the upload link may have expired.');
}

async function importArchive(event) {
  event.preventDefault();
  const form = $('import-form');
  const status = $('import-status');
  const file = form.elements.archive.files[0];
  if (!file) {
    setStatus(status, 'Choose the archive file (.tar.gz) to import.', 'error');
    form.elements.archive.focus();
    return;
  }
  if (file.size === 0) {
    setStatus(status, 'This file is empty: choose the archive made by “Prepare my copy”.', 'error');
    form.elements.archive.focus();
    return;
  }
  busy(form, true);
  $('import-progress').hidden = false;
  try {
    setStatus(status, 'Preparing the upload…');
    const { import: slot } = await call('POST', 'account/import', { body: { size: file.size } });
    setStatus(status, `Sending the archive (${sizeWords(file.size)})…`);
    await uploadArchive(slot.upload, file);
    let { import: job } = await call('POST', `account/import/${encodeURIComponent(slot.id)}`);
    for (let polls = 0; job.status !== 'done' && job.status !== 'failed'; polls++) {
      if (polls >= MAX_POLLS) throw new Error('The import takes longer than expected. Come back later: it goes on without this page.');
      setStatus(status, IMPORT_STEPS[job.status] ?? 'Working…');
      showProgress('import', job);
      await wait(POLL_MS);
      ({ import: job } = await call('GET', `account/import/${encodeURIComponent(slot.id)}`));
    }
    if (job.status === 'failed') {
      // The worker says in a few words what is wrong with an archive it refused before writing
      // anything (`the archive has no manifest`), or that the import itself failed.
      if (job.error && !/could not be completed/.test(job.error))
        throw new Error(`The archive could not be imported: ${job.error}. Nothing was brought in.`);
      throw new Error('The import could not be completed. Ask the service’s support before trying again.');
    }
    const counts = job.counts ?? {};
    setStatus(
      status,
      `Your data is here: ${plural(counts.streams ?? 0, 'stream', 'streams')} and ${plural(counts.events ?? 0, 'event', 'events')} were brought in.`,
      'ok',
    );
    form.reset();
    await refresh().catch(() => undefined); // the share form's stream picker now has the new streams
  } catch (err) {
    const message =
      err.id === 'invalid-operation'
        ? 'This account already holds streams or events: an archive can only be imported into a new, empty account.'
        : err.message;
    setStatus(status, message, 'error');
  } finally {
    showProgress('import', { status: 'ended' });
    $('import-progress').hidden = true;
    busy(form, false);
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
  $('import-form').addEventListener('submit', importArchive);
  $('erase-form').addEventListener('submit', erase);
}
