import { hash } from 'node:crypto';

/**
 * Integrity of events and accesses (Pryv API reference §3.8): the one home of the canonical
 * form and of the hash. Pure: no I/O, no settings (whether integrity is on is decided by the
 * writers, domain/events/integrity.ts and domain/accesses/integrity.ts).
 *
 * `integrity` = `{CODE}:0:sha256-{base64 of the SHA-256 of the canonical form, UTF-8}`, CODE
 * `EVENT` or `ACCESS`. The canonical form is JSON without whitespace where
 *   - object keys are sorted by UTF-16 code units (JavaScript's default string order; a key
 *     that is a prefix of another comes first), at every depth;
 *   - properties whose value is null (or absent) are left out, at every depth; null items
 *     of arrays stay (`null`), and arrays keep their order;
 *   - numbers are written as JavaScript writes them (`String(n)`: `1`, `0.5`, `1e+21`);
 *   - strings escape `"` and `\` and use `\b \t \n \f \r`; the other control characters
 *     (U+0000–U+001F, U+007F–U+009F) and the invisible or line-breaking ones U+00AD,
 *     U+0600–U+0604, U+070F, U+17B4, U+17B5, U+200C–U+200F, U+2028–U+202F, U+2060–U+206F,
 *     U+FEFF, U+FFF0–U+FFFF are written `\uXXXX` (lowercase hex); everything else as is.
 * Then, per kind, before that:
 *   - an event loses `integrity`, `headId` (history versions), the attachments' `readToken`
 *     (per reader), v1 `streamId` (it is `streamIds[0]`; alone, it stands for `streamIds`),
 *     `tags` when empty, `trashed` when false and `duration` when 0 (the same as none);
 *   - an access loses `integrity`, `lastUsed` and `calls` (usage: they move on every call,
 *     not with the access) and `apiEndpoint` (built from the token and the service's URL).
 * Clients can check an item they read: drop those fields, hash, compare.
 */

export const INTEGRITY_ALGORITHM = 'sha256';
const EVENT_CODE = 'EVENT:0:';
const ACCESS_CODE = 'ACCESS:0:';

/** Characters written as `\uXXXX` (besides those with a short escape). */
const ESCAPED =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this escapes
  /[\\"\u0000-\u001f\u007f-\u009f\u00ad\u0600-\u0604\u070f\u17b4\u17b5\u200c-\u200f\u2028-\u202f\u2060-\u206f\ufeff\ufff0-\uffff]/g;
const SHORT_ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r' };

/** The same set, for a test: most keys and values hold none of them, and skip the replace. */
const HAS_ESCAPED = new RegExp(ESCAPED.source);

const escapeChar = (c: string): string => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

function quote(text: string): string {
  return HAS_ESCAPED.test(text) ? `"${text.replace(ESCAPED, escapeChar)}"` : `"${text}"`;
}

/** The canonical JSON text of a value (rules above). Throws on what JSON cannot hold (non-finite numbers, functions…). */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON has no form for the number ${value}`);
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      // Built by concatenation (no array of parts to join): the seal of every event write.
      if (Array.isArray(value)) {
        let text = '[';
        for (let i = 0; i < value.length; i++) text += (i === 0 ? '' : ',') + canonicalJson(value[i]);
        return `${text}]`;
      }
      const keys = Object.keys(value).sort();
      let text = '{';
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const v = (value as Record<string, unknown>)[key];
        if (v === null || v === undefined) continue;
        text += `${text.length === 1 ? '' : ','}${quote(key)}:${canonicalJson(v)}`;
      }
      return `${text}}`;
    }
    default:
      throw new TypeError(`canonical JSON has no form for a ${typeof value}`);
  }
}

/** `sha256-{base64}` of a text's UTF-8 bytes (the Subresource Integrity form attachments use too). */
export function sri(data: string | Buffer): string {
  return `${INTEGRITY_ALGORITHM}-${hash(INTEGRITY_ALGORITHM, data, 'base64')}`;
}

/** The fields of an event that its integrity covers, as an object (rules above). */
export function eventIntegrityFields(event: Record<string, unknown>): Record<string, unknown> {
  const { integrity: _i, headId: _h, streamId, ...rest } = event;
  if (streamId !== undefined && streamId !== null && rest.streamIds === undefined) rest.streamIds = [streamId];
  if (Array.isArray(rest.tags) && rest.tags.length === 0) delete rest.tags;
  if (rest.trashed === false) delete rest.trashed;
  if (rest.duration === 0) delete rest.duration;
  if (Array.isArray(rest.attachments)) {
    rest.attachments = rest.attachments.map((a) => {
      if (typeof a !== 'object' || a === null) return a;
      const { readToken: _r, ...attachment } = a as Record<string, unknown>;
      return attachment;
    });
  }
  return rest;
}

/** The fields of an access that its integrity covers (rules above). */
export function accessIntegrityFields(access: Record<string, unknown>): Record<string, unknown> {
  const { integrity: _i, lastUsed: _l, calls: _c, apiEndpoint: _a, ...rest } = access;
  return rest;
}

export const eventCanonicalForm = (event: Record<string, unknown>) => canonicalJson(eventIntegrityFields(event));
export const accessCanonicalForm = (access: Record<string, unknown>) => canonicalJson(accessIntegrityFields(access));

/** `EVENT:0:sha256-…` of an event as the API shows it (or as stored: the same fields). */
export const eventIntegrity = (event: Record<string, unknown>) => EVENT_CODE + sri(eventCanonicalForm(event));

/** `ACCESS:0:sha256-…` of an access as the API shows it. */
export const accessIntegrity = (access: Record<string, unknown>) => ACCESS_CODE + sri(accessCanonicalForm(access));
