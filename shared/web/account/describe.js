// The account app's words for accesses, API calls, clients and errors.
import { PAGES_APP_ID } from '../www/assets/api.js';
import { permissionWords } from '../www/assets/words.js';
import { accessById, ctx } from './context.js';

/** An access as a person would name it. */
export function accessTitle(access) {
  if (access.type === 'personal') return access.name === PAGES_APP_ID ? 'These account pages' : `Sign-in of ${access.name}`;
  if (access.type === 'app' && access.deviceName) return `${access.name} on ${access.deviceName}`;
  return access.name;
}

/** "App", "Share", "Sign-in". */
export function accessKind(access) {
  return { personal: 'Sign-in', app: 'App', shared: 'Share' }[access.type] ?? access.type;
}

/** Who gave an access: the person (a personal access), an app, or the system. */
export function givenBy(access) {
  const creator = access.createdBy ? accessById(access.createdBy.split(' ')[0]) : undefined;
  if (!creator) return access.createdBy === 'system' ? 'by this service' : 'by you';
  if (creator.type === 'personal') return 'by you';
  return `by ${accessTitle(creator)} (${accessKind(creator).toLowerCase()})`;
}

/** The permissions of an access as `{level, what}` lines (personal: everything). */
export function permissionLines(access) {
  if (access.type === 'personal') return [{ level: 'Full control', what: 'All your data and your account' }];
  return (access.permissions ?? []).map((p) => permissionWords(p, ctx.names));
}

/** A user agent in a few words ("Firefox on Linux"), or the raw string cut short. */
export function clientWords(userAgent) {
  if (typeof userAgent !== 'string' || userAgent === '') return undefined;
  const ua = userAgent;
  const browser =
    (/Edg\//.test(ua) && 'Edge') ||
    (/OPR\//.test(ua) && 'Opera') ||
    (/Firefox\//.test(ua) && 'Firefox') ||
    (/HeadlessChrome\//.test(ua) && 'Headless Chrome') ||
    (/Chrom(e|ium)\//.test(ua) && 'Chrome') ||
    (/Safari\//.test(ua) && /Version\//.test(ua) && 'Safari') ||
    (/^curl\//.test(ua) && 'curl') ||
    (/^node|undici/i.test(ua) && 'a Node.js program') ||
    (/^pryv/i.test(ua) && 'the pryv library') ||
    undefined;
  const system =
    (/iPhone|iPad|iOS/.test(ua) && 'iOS') ||
    (/Android/.test(ua) && 'Android') ||
    (/Windows/.test(ua) && 'Windows') ||
    (/Mac OS X|Macintosh/.test(ua) && 'macOS') ||
    (/Linux|X11/.test(ua) && 'Linux') ||
    undefined;
  if (browser && system) return `${browser} on ${system}`;
  if (browser) return browser;
  return ua.length > 60 ? `${ua.slice(0, 57)}…` : ua;
}

/** Where a call came from: "127.0.0.1, Firefox on Linux". */
export function whereWords(record) {
  if (!record) return undefined;
  const parts = [record.source?.ip, clientWords(record.userAgent)].filter(Boolean);
  if (record.source?.name && record.source.name !== 'http') parts.push(`over ${record.source.name}`);
  return parts.length > 0 ? parts.join(', ') : undefined;
}

const METHOD_WORDS = {
  'events.get': 'Read events',
  'events.getOne': 'Read an event',
  'events.create': 'Added an event',
  'events.update': 'Changed an event',
  'events.delete': 'Deleted an event',
  'events.addAttachment': 'Added a file to an event',
  'events.getAttachment': 'Downloaded a file',
  'events.deleteAttachment': 'Deleted a file',
  'events.createAttachmentUpload': 'Started a file upload',
  'events.confirmAttachmentUpload': 'Finished a file upload',
  'streams.get': 'Listed streams',
  'streams.create': 'Created a stream',
  'streams.update': 'Changed a stream',
  'streams.delete': 'Deleted a stream',
  'accesses.get': 'Listed accesses',
  'accesses.create': 'Gave an access',
  'accesses.delete': 'Revoked an access',
  'accesses.checkApp': 'Checked an app’s access',
  getAccessInfo: 'Checked its own access',
  callBatch: 'Sent several calls at once',
  'account.get': 'Read the account details',
  'account.update': 'Changed the account details',
  'account.changePassword': 'Changed the password',
  'account.export': 'Started a copy of the account',
  'account.getExport': 'Checked the copy of the account',
  'account.importUpload': 'Started an import',
  'account.import': 'Imported an archive',
  'account.getImport': 'Checked an import',
  'audit.getLogs': 'Read the activity',
  'auth.logout': 'Signed out',
  'mfa.activate': 'Started turning on two-step sign-in',
  'mfa.deactivate': 'Turned off two-step sign-in',
  'webhooks.get': 'Listed webhooks',
  'webhooks.getOne': 'Read a webhook',
  'webhooks.create': 'Created a webhook',
  'webhooks.update': 'Changed a webhook',
  'webhooks.delete': 'Deleted a webhook',
  'webhooks.test': 'Tested a webhook',
  'profile.getPublic': 'Read the public profile',
  'profile.updatePublic': 'Changed the public profile',
  'profile.getPrivate': 'Read the private profile',
  'profile.updatePrivate': 'Changed the private profile',
  'profile.getApp': 'Read its app settings',
  'profile.updateApp': 'Changed its app settings',
  'followedSlices.get': 'Listed followed slices',
  'followedSlices.create': 'Followed a slice',
  'followedSlices.update': 'Renamed a followed slice',
  'followedSlices.delete': 'Stopped following a slice',
  'service.info': 'Read the service information',
};

export const methodWords = (action) => METHOD_WORDS[action] ?? `Called ${action}`;

/** Why a call failed, as a sentence (by Pryv error id, spec §1.6). */
const ERROR_WORDS = {
  forbidden: 'The access did not allow it.',
  'invalid-access-token': 'The access had ended or was not valid.',
  'unknown-referenced-resource': 'It named a stream or item that does not exist.',
  'unknown-resource': 'It asked for something that does not exist.',
  'invalid-parameters-format': 'The request was not valid.',
  'invalid-request-structure': 'The request was not understood.',
  'invalid-operation': 'The service does not allow this operation.',
  'item-already-exists': 'It would have duplicated something that exists.',
  'too-many-results': 'It asked for too many results at once.',
  'too-many-attempts': 'Too many attempts: it was held back for a while.',
  'api-unavailable': 'The service was busy.',
  'unexpected-error': 'The server failed to answer.',
};

export function failureWords(record) {
  return ERROR_WORDS[record.errorId] ?? (record.errorMessage || `The call failed (${record.status}).`);
}

/** Refused: the access was not allowed (401/403); other 4xx/5xx answers failed. */
export const isRefused = (record) => record.status === 401 || record.status === 403;
export const isFailed = (record) => typeof record.status === 'number' && record.status >= 400;

/** The streams a recorded query names (ids as given: `streams`, `streamIds`, `streamId`, `parentId`). */
export function streamsOfQuery(action, query) {
  if (!query || typeof query !== 'object') return [];
  const ids = new Set();
  const add = (value) => {
    if (typeof value === 'string') {
      if (/^\s*[[{]/.test(value)) {
        try {
          add(JSON.parse(value));
        } catch {
          ids.add(value);
        }
      } else if (!value.startsWith('<')) ids.add(value);
    } else if (Array.isArray(value)) value.forEach(add);
    else if (value && typeof value === 'object') Object.values(value).forEach(add);
  };
  // A stream call names its stream by `id` (its parent is context, not what was touched).
  if (action?.startsWith('streams.') && typeof query.id === 'string') add(query.id);
  else add(query.parentId);
  add(query.streams);
  add(query.streamIds);
  add(query.streamId);
  return [...ids].filter((id) => !id.startsWith(':_audit:'));
}

/** Stream ids as names where known. */
export const streamLabel = (id) => (id === '*' ? 'all streams' : (ctx.names.get(id) ?? id));
