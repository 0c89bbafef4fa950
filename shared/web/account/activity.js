// "Activity": the audit log (audit.getLogs, spec §2.10) as a timeline, by day, with
// refused and failed calls marked in words (never by colour alone).
import { $, busy, setStatus } from '../www/assets/api.js';
import { date } from '../www/assets/words.js';
import { accessById, call, ctx } from './context.js';
import {
  accessKind,
  accessTitle,
  failureWords,
  isFailed,
  isRefused,
  methodWords,
  streamLabel,
  streamsOfQuery,
  whereWords,
} from './describe.js';
import { el } from './dom.js';

const PAGE = 100; // records per request
const MAX_PAGES_PER_LOAD = 10; // "only refused": how far one click reads back
const TIME = new Intl.DateTimeFormat('en', { timeStyle: 'short' });

const state = { records: [], filter: {}, done: false, loaded: false };

function who(record) {
  const access = accessById(record.accessId);
  if (!access) return 'An access that no longer exists';
  if (access.type === 'personal')
    return access.id === ctx.self?.id ? 'You, on these pages' : `You (${accessTitle(access).replace(/^Sign-in of /, '')})`;
  const ended = access.deleted ? ', revoked since' : '';
  return `${accessTitle(access)} (${accessKind(access).toLowerCase()}${ended})`;
}

/** Repeats (same access, method, outcome and streams, within a few minutes) as one entry with a count. */
const REPEAT_WINDOW_S = 300;
function collapseRepeats(records) {
  const out = [];
  for (const record of records) {
    const key = JSON.stringify([record.accessId, record.action, record.status, streamsOfQuery(record.action, record.query)]);
    const last = out[out.length - 1];
    if (last && last.key === key && last.oldest - record.time <= REPEAT_WINDOW_S) {
      last.count += 1;
      last.oldest = record.time;
    } else {
      out.push({ key, record, count: 1, oldest: record.time });
    }
  }
  return out;
}

function entry({ record, count }) {
  const refused = isRefused(record);
  const failed = isFailed(record);
  const streams = streamsOfQuery(record.action, record.query);
  const where = whereWords(record);
  return el(
    'li',
    {
      className: `entry${failed ? ' failed' : ''}${refused ? ' refused' : ''}`,
      'data-action': record.action,
      'data-status': record.status,
    },
    el(
      'p',
      { className: 'what' },
      el('time', { dateTime: new Date(record.time * 1000).toISOString() }, TIME.format(new Date(record.time * 1000))),
      ' ',
      el('strong', {}, methodWords(record.action)),
      count > 1 ? ` (${count} times)` : undefined,
      failed ? el('span', { className: 'badge' }, refused ? 'Refused' : 'Failed') : undefined,
    ),
    el('p', { className: 'who' }, `By ${who(record)}`),
    streams.length ? el('p', { className: 'streams' }, `Streams: ${streams.map(streamLabel).join(', ')}`) : undefined,
    where ? el('p', { className: 'where' }, `From ${where}`) : undefined,
    failed ? el('p', { className: 'why' }, `Why: ${failureWords(record)}`) : undefined,
  );
}

/** Day headings ("Today", "Yesterday", a date) over the records, newest first. */
function render() {
  const list = $('activity-list');
  // A batch is recorded whole and call by call: the calls say what was done, so a batch
  // that went through is not listed again (a refused one is).
  const calls = state.records.filter((r) => r.action !== 'callBatch' || isFailed(r));
  const shown = state.filter.refusedOnly ? calls.filter(isFailed) : calls;
  const today = new Date();
  today.setHours(0, 0, 0, 0);
  const dayLabel = (t) => {
    const d = new Date(t * 1000);
    d.setHours(0, 0, 0, 0);
    const days = Math.round((today - d) / 86_400_000);
    return days === 0 ? 'Today' : days === 1 ? 'Yesterday' : date(t);
  };
  const groups = [];
  for (const r of shown) {
    const label = dayLabel(r.time);
    if (groups.length === 0 || groups[groups.length - 1].label !== label) groups.push({ label, records: [] });
    groups[groups.length - 1].records.push(r);
  }
  for (const g of groups) g.records = collapseRepeats(g.records);
  list.replaceChildren(
    ...groups.map((g) =>
      el('section', { className: 'day' }, el('h2', {}, g.label), el('ol', { className: 'entries' }, g.records.map(entry))),
    ),
  );
  $('activity-more').hidden = state.done;
  const none = state.filter.refusedOnly ? 'No refused or failed call in this period.' : 'No call in this period.';
  setStatus(
    $('activity-status'),
    shown.length === 0 ? none : `${shown.length} call${shown.length === 1 ? '' : 's'} shown${state.done ? '' : ' (older ones below)'}.`,
  );
}

async function loadPage(reset) {
  const params = new URLSearchParams({ limit: String(PAGE) });
  if (state.filter.accessId) params.set('accessId', state.filter.accessId);
  if (state.filter.fromTime !== undefined) params.set('fromTime', String(state.filter.fromTime));
  const oldest = reset ? undefined : state.records[state.records.length - 1];
  const toTime = oldest ? oldest.time : state.filter.toTime;
  if (toTime !== undefined) params.set('toTime', String(toTime));
  const body = await call('GET', `audit/logs?${params}`);
  const seen = new Set(reset ? [] : state.records.map((r) => r.id));
  const fresh = (body.auditLogs ?? []).filter((r) => !seen.has(r.id));
  state.records = reset ? fresh : [...state.records, ...fresh];
  state.done = (body.auditLogs ?? []).length < PAGE;
}

async function load(reset) {
  const form = $('activity-filter');
  busy(form, true);
  $('activity-more').disabled = true;
  setStatus($('activity-status'), 'Loading the activity…');
  try {
    await loadPage(reset);
    // Refused calls are picked here, not by the API (it filters one status at a time):
    // read on a few pages so that a busy log still shows some.
    for (
      let pages = 1;
      state.filter.refusedOnly && !state.done && pages < MAX_PAGES_PER_LOAD && state.records.filter(isFailed).length < PAGE / 5;
      pages++
    ) {
      await loadPage(false);
    }
    state.loaded = true;
    render();
  } catch (err) {
    setStatus($('activity-status'), err.message, 'error');
  } finally {
    busy(form, false);
    $('activity-more').disabled = false;
  }
}

/** Midnight of a `<input type=date>` value in local time, as Pryv seconds. */
function dayStart(value) {
  if (!value) return undefined;
  const [y, m, d] = value.split('-').map(Number);
  return new Date(y, m - 1, d).getTime() / 1000;
}

function readFilter() {
  const form = $('activity-filter');
  const from = dayStart(form.elements.from.value);
  const to = dayStart(form.elements.to.value);
  return {
    accessId: form.elements.accessId.value || undefined,
    fromTime: from,
    toTime: to === undefined ? undefined : to + 86_400,
    refusedOnly: form.elements.refusedOnly.checked,
  };
}

function fillAccessChoices() {
  const select = $('activity-access');
  const current = select.value;
  const all = [...ctx.accesses, ...ctx.deletions].sort((a, b) => accessTitle(a).localeCompare(accessTitle(b)));
  select.replaceChildren(
    el('option', { value: '' }, 'Everyone'),
    ...all.map((a) => el('option', { value: a.id }, `${accessTitle(a)} (${accessKind(a).toLowerCase()}${a.deleted ? ', revoked' : ''})`)),
  );
  select.value = all.some((a) => a.id === current) ? current : '';
}

export async function show() {
  fillAccessChoices();
  state.filter = readFilter();
  await load(true);
}

export function init() {
  $('activity-filter').addEventListener('submit', async (event) => {
    event.preventDefault();
    const filter = readFilter();
    if (filter.fromTime !== undefined && filter.toTime !== undefined && filter.fromTime >= filter.toTime) {
      setStatus($('activity-status'), 'The “From” day must come before the “To” day.', 'error');
      return;
    }
    state.filter = filter;
    await load(true);
  });
  $('activity-more').addEventListener('click', () => load(false));
}
