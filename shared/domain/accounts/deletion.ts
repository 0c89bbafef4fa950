import { config } from '../../config';
import { LIMITS } from '../../limits';
import { deleteAccountItem, getAccount } from '../../store/accounts';
import { purgeUserEvents } from '../../store/events/purge';
import { deletePrefix } from '../../store/files';
import { keys, objectKeys } from '../../store/keys';
import { deletePartition } from '../../store/purge';
import { loadStreams } from '../../store/streams';
import { settleAuditOnDeletion } from '../audit/retention';
import { beforeRewritingEvents } from '../events/answer-cache';
import { closeUserSockets } from '../sockets';
import { allSystemStreams } from '../system-streams/definitions';
import { releaseUniqueValues } from '../system-streams/values';

/**
 * Deletes a user and everything they own: events with their index items and history,
 * streams, accesses, webhooks, socket connections and every other item of the user's partitions, their
 * attachment files, then their email claim and account. The account item goes last, so an
 * interrupted deletion is finished by calling it again (it is idempotent), and the
 * username and email are free only once nothing is left. Audit records are erased, kept or
 * pseudonymised per AUDIT_ON_ACCOUNT_DELETION; export archives are deleted.
 * `checkpoint` is called between steps (tests use it to interrupt the deletion).
 */
export async function deleteAccount(username: string, checkpoint: (step: string) => Promise<void> = async () => {}): Promise<void> {
  const account = await getAccount(username);
  const { streams } = await loadStreams(username);
  // Account events (Pryv API reference §7) sit in the system streams' partitions; the unique
  // values they hold (custom fields; the email is freed last) are freed before they go.
  await releaseUniqueValues(username);
  // Event items go without tombstones while the accesses still work: answers kept from before must not be used.
  await beforeRewritingEvents(username, Date.now() / 1000, LIMITS.apiCallSeconds);
  await purgeUserEvents(username, [...streams.map((s) => s.id), ...allSystemStreams()]);
  await checkpoint('events');
  await deletePrefix(objectKeys.userFiles(username));
  await deletePrefix(objectKeys.userPendingFiles(username));
  await deletePrefix(objectKeys.exports(username));
  await checkpoint('files');
  // Open sockets are closed and forgotten before their user's items go.
  await closeUserSockets(username);
  await deletePartition(keys.userPartition(username), (sk) => sk === keys.account(username).sk);
  await checkpoint('user-items');
  // After the accesses are gone, so no new call adds records behind this step.
  await settleAuditOnDeletion(username, account, config().auditOnAccountDeletion);
  await checkpoint('audit');
  await deleteAccountItem(username, account?.email);
}
