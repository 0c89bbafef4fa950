import type { Access } from '../../model/accesses';

/**
 * Versioned access ids (spec §2.4, §3.3 [v2]): an access never updated is shown with its id
 * as it was created; once updated, as `{id}:{serial}`, the serial counting its updates. A
 * client sends back the id it read; the server compares its serial with the current one.
 */

export interface AccessRef {
  /** The id the access was created with (what the store and `createdBy` know). */
  base: string;
  /** The serial the client read; `undefined` for a bare id (the version as created). */
  serial?: number;
}

/** Splits `{id}:{serial}`; an id without a numeric `:{serial}` suffix is a bare id. */
export function parseAccessRef(id: string): AccessRef {
  const m = /^(.+):(\d{1,9})$/.exec(id);
  if (!m) return { base: id };
  const serial = Number(m[2]);
  // `:0` names the version as created, which is shown bare.
  return serial === 0 ? { base: m[1]! } : { base: m[1]!, serial };
}

/** The id a version of an access is shown with. */
export function accessRefId(base: string, serial: number | undefined): string {
  return serial ? `${base}:${serial}` : base;
}

/** The id the API shows for an access (its current version, or the stored version given). */
export const wireAccessId = (access: Pick<Access, 'id' | 'serial'>): string => accessRefId(access.id, access.serial);
