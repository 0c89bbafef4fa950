import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { dynamo } from '../store/clients';
import { keys } from '../store/keys';
import { config } from '../config';
import { getAccount } from '../store/accounts';
import { loadStreams } from '../store/streams';
import { purgeUserEvents } from '../store/events';
import { deletePartition } from '../store/purge';
import { deletePrefix, userFilesPrefix } from '../store/files';
import { settleAuditOnDeletion } from './audit-retention';
import { exportsPrefix } from '../store/exports';
import { closeUserSockets } from '../notify/socketio/server';

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
  await purgeUserEvents(username, streams.map((s) => s.id));
  await checkpoint('events');
  await deletePrefix(userFilesPrefix(username));
  await deletePrefix(`pending/${username}/`);
  await deletePrefix(exportsPrefix(username));
  await checkpoint('files');
  // Open sockets are closed and forgotten before their user's items go.
  await closeUserSockets(username);
  await deletePartition(keys.userPartition(username), (sk) => sk === 'ACCOUNT');
  await checkpoint('user-items');
  // After the accesses are gone, so no new call adds records behind this step.
  await settleAuditOnDeletion(username, account, config().auditOnAccountDeletion);
  await checkpoint('audit');
  const table = config().tableName;
  if (account) {
    try {
      await dynamo().send(
        new DeleteCommand({
          TableName: table,
          Key: keys.email(account.email),
          ConditionExpression: 'attribute_not_exists(pk) OR username = :u',
          ExpressionAttributeValues: { ':u': username },
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err; // the email belongs to someone else now
    }
  }
  await dynamo().send(new DeleteCommand({ TableName: table, Key: keys.account(username) }));
}
