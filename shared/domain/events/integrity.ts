import { config } from '../../config';
import type { StoredEvent } from '../../model/events';
import { eventIntegrity } from '../integrity/canonical';
import { eventForApi } from './fields';

/**
 * Events carry their `integrity` (Pryv API reference §3.8), computed as they are written and
 * stored with them: every writer seals the version it is about to store, after `modified`
 * and `modifiedBy` are set. The hash covers the event as the API shows it (eventForApi),
 * so no internal attribute of the stored items can change it. With INTEGRITY=off the
 * version is stored without.
 */
export function sealEvent<T extends StoredEvent>(event: T): T {
  const { integrity: _old, ...rest } = event;
  if (!config().integrity) return rest as T;
  return { ...rest, integrity: eventIntegrity(eventForApi(rest as T)) } as T;
}

/** What an event's integrity should be, or undefined for a version written without (the verifier). */
export const expectedEventIntegrity = (event: StoredEvent): string => eventIntegrity(eventForApi(event));

/**
 * The deletion record of an event (`{id, deleted}`, its tombstone) sealed like an event. Pryv
 * answers deletions without it (they do not keep the content, Pryv API reference §2.2.1);
 * it is kept with the tombstone for the verifier.
 */
export function deletionIntegrity(id: string, deleted: number): string | undefined {
  return config().integrity ? expectedDeletionIntegrity(id, deleted) : undefined;
}

/** What a deletion record's integrity should be (the verifier). */
export const expectedDeletionIntegrity = (id: string, deleted: number): string => eventIntegrity({ id, deleted });
