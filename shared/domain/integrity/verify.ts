import { config } from '../../config';
import type { StoredEvent } from '../../model/events';
import { accessFromItem } from '../../store/accesses';
import { accountItemPages, eventHistoryPages } from '../../store/account-items';
import { getAccount } from '../../store/accounts';
import { stripItem } from '../../store/events/items';
import { expectedAccessIntegrity } from '../accesses/integrity';
import { wireAccessId } from '../accesses/versions';
import { expectedDeletionIntegrity, expectedEventIntegrity } from '../events/integrity';

/**
 * Checks an account's stored integrity values (README "Integrity"): every event (head,
 * previous versions, deletion records) and every access (live, previous versions, deletion
 * records) is read from the store and its hash computed again from what is stored. An item
 * whose stored `integrity` differs was changed after it was written, other than through the
 * API (or by a bug): a mismatch. An item without one was written before integrity existed,
 * or with INTEGRITY=off: missing, not a mismatch (its next write through the API adds it).
 */

export type ItemKind = 'event' | 'event-version' | 'event-deletion' | 'access' | 'access-version' | 'access-deletion';

export interface Mismatch {
  kind: ItemKind;
  /** The event id, or the access id as the API shows it (`{id}:{serial}` once updated). */
  id: string;
  /** When the item says it was last written (`modified`, or `deleted` for a deletion record). */
  modified?: number;
  /** The stored value (as JSON when it is not a string). */
  stored: string;
  computed: string;
}

export interface IntegrityReport {
  username: string;
  /** Whether this service writes integrity (INTEGRITY); missing values are expected when off. */
  writesIntegrity: boolean;
  checked: { events: number; accesses: number };
  /** Items whose stored integrity is not the hash of what is stored. */
  mismatches: Mismatch[];
  /**
   * Items stored without integrity: how many, and the first ones. One written (`modified`)
   * after integrity was turned on lost its value behind the API.
   */
  missing: number;
  missingItems: Array<{ kind: ItemKind; id: string; modified?: number }>;
}

/** At most this many items without integrity are named (an account written before integrity has them all). */
export const MISSING_LISTED = 100;

export class UnknownUserError extends Error {}

export async function verifyAccountIntegrity(username: string): Promise<IntegrityReport> {
  if (!(await getAccount(username))) throw new UnknownUserError(`no user "${username}"`);
  const report: IntegrityReport = {
    username,
    writesIntegrity: config().integrity,
    checked: { events: 0, accesses: 0 },
    mismatches: [],
    missing: 0,
    missingItems: [],
  };
  const check = (kind: ItemKind, id: string, stored: unknown, computed: () => string, modified: unknown) => {
    if (kind.startsWith('event')) report.checked.events++;
    else report.checked.accesses++;
    const when = typeof modified === 'number' ? { modified } : {};
    if (stored === undefined || stored === null) {
      report.missing++;
      if (report.missingItems.length < MISSING_LISTED) report.missingItems.push({ kind, id, ...when });
      return;
    }
    const expected = computed();
    if (expected !== stored) {
      report.mismatches.push({
        kind,
        id,
        ...when,
        stored: typeof stored === 'string' ? stored : JSON.stringify(stored),
        computed: expected,
      });
    }
  };

  for await (const page of accountItemPages(username, 'eventHeads')) {
    for (const item of page) {
      const id = String(item.id);
      if (item.deleted !== undefined) {
        const deleted = item.deleted as number;
        check('event-deletion', id, item.integrity, () => expectedDeletionIntegrity(id, deleted), deleted);
        continue;
      }
      const event = stripItem(item);
      check('event', id, event.integrity, () => expectedEventIntegrity(event), event.modified);
      // Only an event modified after its creation can have previous versions.
      if (event.modified > event.created) {
        for await (const versions of eventHistoryPages(username, id)) {
          for (const v of versions.map(stripItem) as StoredEvent[]) {
            check('event-version', id, v.integrity, () => expectedEventIntegrity({ ...v, id }), v.modified);
          }
        }
      }
    }
  }

  const kinds = [
    ['accesses', 'access'],
    ['accessVersions', 'access-version'],
    ['accessDeletions', 'access-deletion'],
  ] as const;
  for (const [stored, kind] of kinds) {
    for await (const page of accountItemPages(username, stored)) {
      for (const a of page.map(accessFromItem)) {
        check(kind, wireAccessId(a), a.integrity, () => expectedAccessIntegrity(a), a.deleted ?? a.modified);
      }
    }
  }
  return report;
}
