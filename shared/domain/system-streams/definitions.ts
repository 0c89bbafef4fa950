/**
 * The account system streams (Pryv API reference §7): which exist, how they nest, which are
 * shown, editable, unique, and the event type of their values. The shape is this data table:
 * an operator adds a custom account field by adding an entry under `:system:` (README "Account
 * system streams"). Nothing here reads or writes data; every other part of the code asks these
 * functions, so the rules on system stream ids have this one home.
 */

/** A system stream: a branch (no values of its own) or an account field whose values are events. */
export interface SystemStreamDefinition {
  id: string;
  name: string;
  parentId: string | null;
  /** Shown in `streams.get` and readable as events (by the personal token, or an explicit permission). */
  shown: boolean;
  /** Values may be created/updated through `events.*` (and `account.update` for its legacy fields). */
  editable: boolean;
  /** Values are unique across the platform (409 on a clash). */
  unique: boolean;
  /** Event type of the values; absent on branches. */
  type?: string;
  /** Written at registration from this registration field (absent = not given, no event). */
  registrationField?: string;
  /** Value written at registration when the field is not given. */
  defaultValue?: string | number;
  /** Field of the legacy account view (`account.get`) and of the account item this value mirrors. */
  accountField?: 'email' | 'language' | 'appId' | 'invitationToken' | 'referer';
  /** Values computed when read (storage counters) rather than written on every change. */
  computed?: 'dbDocuments' | 'attachedFiles';
  /** Checks a value (string or number already); returns a problem message, or undefined when valid. */
  validate?: (value: string | number) => string | undefined;
}

export const ACCOUNT_ROOT = ':_system:account';
export const HELPERS_ROOT = ':_system:helpers';
/** Marks the current value of each account field. */
export const ACTIVE_STREAM = ':_system:active';
/** Marks values of unique fields. */
export const UNIQUE_STREAM = ':_system:unique';

const emailProblem = (v: string | number) =>
  typeof v === 'string' && v.length <= 300 && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v) ? undefined : 'Email is invalid.';
const languageProblem = (v: string | number) =>
  typeof v === 'string' && v.length >= 1 && v.length <= 5 ? undefined : 'Language must be 1-5 characters.';

const branch = (id: string, name: string, parentId: string | null, shown: boolean): SystemStreamDefinition => ({
  id,
  name,
  parentId,
  shown,
  editable: false,
  unique: false,
});

/** The built-in tree and the default custom field `:system:email`, parents before children. */
export const SYSTEM_STREAMS: readonly SystemStreamDefinition[] = [
  branch(ACCOUNT_ROOT, 'Account', null, true),
  {
    id: ':_system:language',
    name: 'Language',
    parentId: ACCOUNT_ROOT,
    shown: true,
    editable: true,
    unique: false,
    type: 'language/iso-639-1',
    registrationField: 'language',
    defaultValue: 'en',
    accountField: 'language',
    validate: languageProblem,
  },
  {
    id: ':_system:appId',
    name: 'App Id',
    parentId: ACCOUNT_ROOT,
    shown: false,
    editable: false,
    unique: false,
    type: 'identifier/string',
    registrationField: 'appId',
    accountField: 'appId',
  },
  {
    id: ':_system:invitationToken',
    name: 'Invitation Token',
    parentId: ACCOUNT_ROOT,
    shown: false,
    editable: false,
    unique: false,
    type: 'token/string',
    registrationField: 'invitationToken',
    accountField: 'invitationToken',
  },
  {
    id: ':_system:referer',
    name: 'Referer',
    parentId: ACCOUNT_ROOT,
    shown: false,
    editable: false,
    unique: false,
    type: 'identifier/string',
    registrationField: 'referer',
    accountField: 'referer',
  },
  branch(':_system:storageUsed', 'Storage used', ACCOUNT_ROOT, true),
  {
    id: ':_system:dbDocuments',
    name: 'Db Documents',
    parentId: ':_system:storageUsed',
    shown: true,
    editable: false,
    unique: false,
    type: 'data-quantity/b',
    defaultValue: 0,
    computed: 'dbDocuments',
  },
  {
    id: ':_system:attachedFiles',
    name: 'Attached files',
    parentId: ':_system:storageUsed',
    shown: true,
    editable: false,
    unique: false,
    type: 'data-quantity/b',
    defaultValue: 0,
    computed: 'attachedFiles',
  },
  // Custom account fields (`:system:` prefix): the default one; an operator adds more here.
  {
    id: ':system:email',
    name: 'Email',
    parentId: ACCOUNT_ROOT,
    shown: true,
    editable: true,
    unique: true,
    type: 'email/string',
    registrationField: 'email',
    accountField: 'email',
    validate: emailProblem,
  },
  branch(HELPERS_ROOT, 'Helpers', null, false),
  branch(ACTIVE_STREAM, 'Active', HELPERS_ROOT, false),
  branch(UNIQUE_STREAM, 'Unique', HELPERS_ROOT, false),
];

const byId = new Map(SYSTEM_STREAMS.map((s) => [s.id, s]));
const childrenOf = new Map<string | null, SystemStreamDefinition[]>();
for (const s of SYSTEM_STREAMS) childrenOf.set(s.parentId, [...(childrenOf.get(s.parentId) ?? []), s]);

/** The id carries a system prefix (`:_system:` built-in, `:system:` custom), known or not. */
export function isSystemStreamId(id: string): boolean {
  return id.startsWith(':_system:') || id.startsWith(':system:');
}

/** The definition of a known system stream. */
export function systemStream(id: string): SystemStreamDefinition | undefined {
  return byId.get(id);
}

/** A known system stream (of the table above). */
export const isKnownSystemStream = (id: string): boolean => byId.has(id);

/** Hidden: never listed, never read, never granted (helpers and hidden account fields). */
export const isHiddenSystemStream = (id: string): boolean => byId.get(id)?.shown === false;

/** A hidden account field (appId, invitationToken, referer): its value events are never read. */
export const isHiddenAccountField = (id: string): boolean => byId.get(id)?.shown === false && byId.get(id)?.type !== undefined;

/** The marker streams of values (`:_system:active`, `:_system:unique`): never named by clients. */
export const isHelperStream = (id: string): boolean => id === HELPERS_ROOT || id === ACTIVE_STREAM || id === UNIQUE_STREAM;

/** A stream holding values (not a branch). */
export const isAccountField = (id: string): boolean => byId.get(id)?.type !== undefined;

/** Account fields, in table order. */
export const accountFields = (): SystemStreamDefinition[] => SYSTEM_STREAMS.filter((s) => s.type !== undefined);

/** Ancestors of a system stream, nearest first (empty for roots and unknown ids). */
export function systemAncestors(id: string): string[] {
  const out: string[] = [];
  let cur = byId.get(id)?.parentId ?? null;
  while (cur !== null) {
    out.push(cur);
    cur = byId.get(cur)?.parentId ?? null;
  }
  return out;
}

/** Shown children of a system stream, or the shown system roots for `null`. */
export function shownChildren(parentId: string | null): SystemStreamDefinition[] {
  return (childrenOf.get(parentId) ?? []).filter((s) => s.shown);
}

/** The stream and its shown descendants (hidden ones are never part of an expansion). */
export function shownSubtree(id: string): string[] {
  const out: string[] = [id];
  for (const child of shownChildren(id)) out.push(...shownSubtree(child.id));
  return out;
}

/** Every shown system stream, roots first. */
export const shownSystemStreams = (): string[] => SYSTEM_STREAMS.filter((s) => s.shown).map((s) => s.id);

/** Every hidden account field: events in them are excluded from every read. */
export const hiddenAccountFields = (): string[] => SYSTEM_STREAMS.filter((s) => !s.shown && s.type !== undefined).map((s) => s.id);

/** Every system stream id (for account deletion's partition sweep). */
export const allSystemStreams = (): string[] => SYSTEM_STREAMS.map((s) => s.id);
