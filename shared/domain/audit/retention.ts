import type { Config } from '../../config';
import { newToken } from '../../ids';
import type { Account } from '../../model/accounts';
import { auditPseudonymFor, moveAuditPartition } from '../../store/audit';
import { keys } from '../../store/keys';
import { deletePartition } from '../../store/purge';

/**
 * What account deletion does to the user's audit records (AUDIT_ON_ACCOUNT_DELETION):
 * - `erase`: removed with the rest of the account;
 * - `keep`: moved as they are to a partition of the deleted account (username + creation
 *   time), out of reach of a new account of the same name, until their TTL;
 * - `pseudonymise`: moved under a random pseudonym, without IP address and user agent,
 *   until their TTL.
 * Safe to repeat: the move removes a record only after copying it, and the pseudonym is
 * kept on the account item, which account deletion removes last.
 */
export async function settleAuditOnDeletion(
  username: string,
  account: Account | undefined,
  mode: Config['auditOnAccountDeletion'],
): Promise<void> {
  const live = keys.audit(username);
  if (mode === 'erase' || !account) {
    await deletePartition(live);
    return;
  }
  if (mode === 'keep') {
    await moveAuditPartition(live, keys.auditKept(username, account.created), (item) => item);
    return;
  }
  const pseudonym = await auditPseudonymFor(username, `anon-${newToken()}`);
  await moveAuditPartition(live, keys.auditPseudonymised(pseudonym), (item) => {
    const { userAgent: _ua, source, ...rest } = item;
    return { ...rest, source: { name: source.name }, pseudonym };
  });
}
