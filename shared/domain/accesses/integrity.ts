import { config } from '../../config';
import type { Access } from '../../model/accesses';
import { accessIntegrity } from '../integrity/canonical';
import { accessFields } from './view';

/**
 * Accesses carry their `integrity` (Pryv API reference §3.8), computed as they are written:
 * every writer (creation, login sessions, update, deletion) seals the version it is about to
 * store, after `modified`/`modifiedBy` (and `deleted`) are set. The hash covers the access as
 * the API shows it (accessFields) less its usage (`lastUsed`, `calls`), which moves on every
 * call without a write of the access. With INTEGRITY=off the version is stored without.
 */
export function sealAccess<T extends Access>(access: T): T {
  const { integrity: _old, ...rest } = access;
  if (!config().integrity) return rest as T;
  return { ...rest, integrity: accessIntegrity(accessFields(rest as T)) } as T;
}

/** What an access version's integrity should be (the verifier). */
export const expectedAccessIntegrity = (access: Access): string => accessIntegrity(accessFields(access));
