// What accesses and permissions mean, in words: shared by the consent page and the account app.

/** Permission levels (spec §4.1) as what they let someone do. */
export const LEVEL_WORDS = {
  read: 'Read',
  contribute: 'Read and add or change entries',
  manage: 'Full control (read, change, share, and edit the stream)',
  'create-only': 'Add entries, without reading them',
  none: 'No access',
};

/** Feature permissions (spec §3.3) as sentences. */
const FEATURE_WORDS = {
  selfRevoke: { forbidden: 'Cannot revoke itself', allowed: 'May revoke itself' },
  selfAudit: { forbidden: 'Cannot read its own activity', allowed: 'May read its own activity' },
};

/**
 * One permission as `{level, what}` words. `names` maps stream ids to their path of names
 * (e.g. "Health › Weight"); a stream not in it is named by its id.
 */
export function permissionWords(p, names = new Map()) {
  if (p.feature) {
    const words = FEATURE_WORDS[p.feature]?.[p.setting];
    return { level: 'Setting', what: words ?? `${p.feature}: ${p.setting}` };
  }
  if (p.tag !== undefined) return { level: LEVEL_WORDS[p.level] ?? p.level, what: `Entries tagged “${p.tag}”` };
  if (p.streamId === '*') return { level: LEVEL_WORDS[p.level] ?? p.level, what: 'All your data' };
  const name = names.get(p.streamId);
  return { level: LEVEL_WORDS[p.level] ?? p.level, what: name ? `“${name}”` : `Stream ${p.streamId} (no longer exists)` };
}

/** Stream id → path of names ("Health › Weight") over a `streams.get` tree. */
export function streamNames(streams) {
  const names = new Map();
  const walk = (list, prefix) => {
    for (const s of list ?? []) {
      const path = prefix ? `${prefix} › ${s.name}` : s.name;
      names.set(s.id, path);
      walk(s.children, path);
    }
  };
  walk(streams, '');
  return names;
}

const DATE_TIME = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short' });
const DATE = new Intl.DateTimeFormat('en', { dateStyle: 'medium' });
const RELATIVE = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** A Pryv time (seconds) as a date and time. */
export const dateTime = (seconds) => DATE_TIME.format(new Date(seconds * 1000));
export const date = (seconds) => DATE.format(new Date(seconds * 1000));

/** "3 minutes ago", "in 2 days". */
export function relative(seconds, now = Date.now() / 1000) {
  const delta = seconds - now;
  const abs = Math.abs(delta);
  if (abs < 45) return delta < 0 ? 'just now' : 'in a moment';
  const units = [
    ['year', 365 * 86400],
    ['month', 30 * 86400],
    ['week', 7 * 86400],
    ['day', 86400],
    ['hour', 3600],
    ['minute', 60],
  ];
  const [unit, size] = units.find(([, s]) => abs >= s) ?? ['minute', 60];
  return RELATIVE.format(Math.round(delta / size), unit);
}
