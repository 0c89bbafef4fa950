// "Apps and shares": every access the person gave, in words, with revoking; and new shares.
import { $, busy, setStatus } from '../www/assets/api.js';
import { dateTime, relative } from '../www/assets/words.js';
import { baseAccessId, call, ctx, isExpired, loadLastSeen, refresh } from './context.js';
import { accessKind, accessTitle, givenBy, permissionLines, whereWords } from './describe.js';
import { el, facts, nextId } from './dom.js';

const creatorOf = (access) => (access.createdBy ?? '').split(' ')[0];

/** Accesses another (live) access created: what revoking that one also ends (spec §4.5). */
function createdBy(parent, live) {
  if (parent.type === 'personal') return [];
  return live.filter((a) => creatorOf(a) === baseAccessId(parent.id));
}

function permissionList(access) {
  return el(
    'ul',
    { className: 'perm-list' },
    permissionLines(access).map(({ level, what }) => el('li', {}, el('span', { className: 'level' }, level), ' ', what)),
  );
}

function lastUsedWords(access) {
  if (!access.lastUsed) return 'Never';
  const where = whereWords(ctx.lastSeen.get(access.id));
  const when = `${relative(access.lastUsed)} (${dateTime(access.lastUsed)})`;
  return where ? `${when}, from ${where}` : when;
}

/** "Last used …" of an access, completed in place once the audit log said from where. */
export const lastUsed = (access) => el('span', { 'data-last-used': access.id }, lastUsedWords(access));

/**
 * Fetches where each access was last used from (the audit log) and writes it into the
 * lines already shown, without redrawing them: focus and open confirmations stay put.
 */
export async function completeLastUsed() {
  const ids = [...ctx.accesses, ...ctx.deletions].filter((a) => a.lastUsed).map((a) => a.id);
  try {
    await loadLastSeen(ids);
  } catch {
    return; // the lines already say when; where is a bonus the activity view also shows
  }
  for (const span of document.querySelectorAll('[data-last-used]')) {
    const access = ctx.accesses.find((a) => a.id === span.dataset.lastUsed) ?? ctx.deletions.find((a) => a.id === span.dataset.lastUsed);
    if (access) span.textContent = lastUsedWords(access);
  }
}

function endsWords(access) {
  if (typeof access.expires !== 'number') return 'Never, until revoked';
  return `${dateTime(access.expires)} (${relative(access.expires)})`;
}

/** One access as a card; `children` are the shares it made (listed inside, revoked with it). */
function accessCard(access, children, live) {
  const titleId = nextId('access-title');
  const card = el('li', { className: 'card', 'data-access-id': access.id, 'aria-labelledby': titleId });
  const title = el('h3', { id: titleId }, accessTitle(access));
  const kind = el(
    'p',
    { className: 'kind' },
    children === undefined && access.type === 'shared' && creatorOf(access) ? `Share, given ${givenBy(access)}` : accessKind(access),
  );
  card.append(
    title,
    kind,
    permissionList(access),
    facts([
      ['Given', `${dateTime(access.created)}, ${givenBy(access)}`],
      ['Last used', lastUsed(access)],
      ['Ends', endsWords(access)],
    ]),
  );
  if (children && children.length > 0) {
    card.append(
      el('h4', {}, 'Shares it made'),
      el(
        'ul',
        { className: 'cards nested' },
        children.map((child) => accessCard(child, undefined, live)),
      ),
    );
  }
  card.append(revokeControls(access, live));
  return card;
}

function revokeControls(access, live) {
  const name = accessTitle(access);
  const also = createdBy(access, live);
  const wrapper = el('div', { className: 'revoke' });
  const open = el('button', { type: 'button', className: 'danger', 'aria-label': `Revoke “${name}”` }, 'Revoke');
  const confirmText = also.length
    ? `Revoke “${name}”? It stops working at once, and so do the ${also.length} share${also.length === 1 ? '' : 's'} it made: ${also.map(accessTitle).join(', ')}.`
    : `Revoke “${name}”? It stops working at once.`;
  const yes = el('button', { type: 'button', className: 'danger' }, 'Yes, revoke');
  const no = el('button', { type: 'button', className: 'secondary' }, 'Keep it');
  const confirmBox = el(
    'div',
    { className: 'confirm', role: 'group', 'aria-label': `Confirm revoking “${name}”`, hidden: true },
    el('p', {}, confirmText),
    yes,
    no,
  );
  open.addEventListener('click', () => {
    open.hidden = true;
    confirmBox.hidden = false;
    yes.focus();
  });
  no.addEventListener('click', () => {
    confirmBox.hidden = true;
    open.hidden = false;
    open.focus();
  });
  yes.addEventListener('click', () => revoke(access, confirmBox));
  wrapper.append(open, confirmBox);
  return wrapper;
}

async function revoke(access, box) {
  const status = $('apps-status');
  busy(box, true);
  setStatus(status, `Revoking “${accessTitle(access)}”…`);
  try {
    const result = await call('DELETE', `accesses/${encodeURIComponent(access.id)}`);
    const related = (result.relatedDeletions ?? []).map((d) => ctx.accesses.find((a) => a.id === d.id)).filter(Boolean);
    await refresh();
    render();
    const extra = related.length ? `, and with it ${related.map((a) => `“${accessTitle(a)}”`).join(', ')}` : '';
    setStatus(status, `“${accessTitle(access)}” was revoked${extra}.`, 'ok');
    $('apps-view-title').focus();
  } catch (err) {
    busy(box, false);
    setStatus(status, err.id === 'unknown-resource' ? 'This access was already revoked.' : err.message, 'error');
  }
}

function pastCard(access) {
  const ended = access.deleted ? `Revoked ${dateTime(access.deleted)}` : `Ended ${dateTime(access.expires)}`;
  return el(
    'li',
    { className: 'card past' },
    el('h3', {}, accessTitle(access)),
    el('p', { className: 'kind' }, `${accessKind(access)} · ${ended}`),
    permissionList(access),
    facts([
      ['Given', `${dateTime(access.created)}, ${givenBy(access)}`],
      ['Last used', lastUsed(access)],
    ]),
  );
}

/** Draws the lists from ctx (after refresh). */
export function render() {
  const now = Date.now() / 1000;
  const live = ctx.accesses.filter((a) => !isExpired(a, now));
  const apps = live.filter((a) => a.type === 'app');
  const appIds = new Set(apps.map((a) => a.id));
  // Shares an app made are listed inside that app; the others stand on their own.
  const shares = live.filter((a) => a.type === 'shared' && !appIds.has(creatorOf(a)));
  $('apps-list').replaceChildren(...apps.map((a) => accessCard(a, createdBy(a, live), live)));
  $('shares-list').replaceChildren(...shares.map((a) => accessCard(a, createdBy(a, live), live)));
  $('apps-empty').hidden = apps.length > 0;
  $('shares-empty').hidden = shares.length > 0;
  const past = [
    ...ctx.accesses.filter((a) => isExpired(a, now) && a.type !== 'personal'),
    ...ctx.deletions.filter((a) => a.type !== 'personal'),
  ].sort((a, b) => (b.deleted ?? b.expires ?? 0) - (a.deleted ?? a.expires ?? 0));
  $('past-list').replaceChildren(...past.map(pastCard));
  $('past-empty').hidden = past.length > 0;
  renderStreamPicker();
}

/** Renders, then completes "last used from where" from the audit log. */
export async function show() {
  render();
  await completeLastUsed();
}

// ---- new share ----

function streamItem(stream) {
  if (stream.trashed) return undefined;
  const id = nextId('stream');
  const children = (stream.children ?? []).map(streamItem).filter(Boolean);
  return el(
    'li',
    {},
    el('input', { type: 'checkbox', name: 'stream', value: stream.id, id }),
    el('label', { for: id, className: 'inline' }, stream.name),
    children.length ? el('ul', {}, children) : undefined,
  );
}

function renderStreamPicker() {
  const items = ctx.streams.map(streamItem).filter(Boolean);
  $('stream-picker').replaceChildren(...items);
  $('stream-picker-empty').hidden = items.length > 0;
}

/** The chosen streams without those inside another chosen one (a stream comes with its children). */
function chosenStreams(form) {
  const checked = new Set([...form.querySelectorAll('input[name="stream"]:checked')].map((i) => i.value));
  const parentOf = new Map();
  const walk = (list, parent) => {
    for (const s of list ?? []) {
      parentOf.set(s.id, parent);
      walk(s.children, s.id);
    }
  };
  walk(ctx.streams, undefined);
  const covered = (id) => {
    for (let p = parentOf.get(id); p; p = parentOf.get(p)) if (checked.has(p)) return true;
    return false;
  };
  return [...checked].filter((id) => !covered(id));
}

function setupShareForm() {
  const form = $('share-form');
  const toggle = $('new-share-button');
  const status = $('share-status');
  const open = (opened) => {
    form.hidden = !opened;
    toggle.setAttribute('aria-expanded', String(opened));
    toggle.hidden = opened;
    if (opened) {
      $('share-result').hidden = true;
      form.elements.name.focus();
    }
  };
  toggle.addEventListener('click', () => open(true));
  $('share-cancel-button').addEventListener('click', () => {
    form.reset();
    setStatus(status, '');
    open(false);
    toggle.focus();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const name = form.elements.name.value.trim();
    const streams = chosenStreams(form);
    const level = form.elements.level.value;
    const expiry = form.elements.expiry.value;
    if (!name) {
      setStatus(status, 'Say who the share is for.', 'error');
      form.elements.name.focus();
      return;
    }
    if (streams.length === 0) {
      setStatus(status, 'Choose at least one stream to share.', 'error');
      form.querySelector('input[name="stream"]')?.focus();
      return;
    }
    busy(form, true);
    setStatus(status, 'Creating the share…');
    try {
      const body = { type: 'shared', name, permissions: streams.map((streamId) => ({ streamId, level })) };
      if (expiry) body.expireAfter = Number(expiry);
      const { access } = await call('POST', 'accesses', { body });
      try {
        await refresh(); // the list shows the new share beside its link
        render();
      } catch {
        // The share exists; the list catches up at the next visit.
      }
      form.reset();
      setStatus(status, '');
      open(false);
      $('share-result-name').textContent = name;
      $('share-link').value = access.apiEndpoint;
      setStatus($('share-copy-status'), '');
      $('share-result').hidden = false;
      $('share-result').querySelector('h2').focus();
    } catch (err) {
      setStatus(
        status,
        err.id === 'item-already-exists' ? `You already have a share named “${name}”. Choose another name.` : err.message,
        'error',
      );
    } finally {
      busy(form, false);
    }
  });
  $('share-copy-button').addEventListener('click', async () => {
    const input = $('share-link');
    try {
      await navigator.clipboard.writeText(input.value);
      setStatus($('share-copy-status'), 'The link is copied.', 'ok');
    } catch {
      input.select();
      setStatus($('share-copy-status'), 'Copying is not allowed here: the link is selected, copy it with your keyboard or menu.');
    }
  });
  $('share-done-button').addEventListener('click', () => {
    $('share-result').hidden = true;
    $('share-link').value = ''; // the link holds the share's token: not kept on screen
    toggle.focus();
  });
}

export function init() {
  setupShareForm();
}
