import { createHash } from 'node:crypto';
import type { AccessSnapshot, NamedScopes } from '../model/notifications';
import type { Webhook, WebhookState } from '../model/webhooks';
import { dynamo, table } from './clients';
import { GetCommand, UpdateCommand } from './commands';
import { ifConditionHolds } from './conditional';
import { keys } from './keys';
import { partitionPages, queryPages } from './query';
import { transactWrite } from './transact';

/**
 * Webhooks: one item per webhook under its user (`WEBHOOK#{id}`), plus a claim item per
 * (creating access, URL) (`WEBHOOKURL#{accessId}#{sha256(url)}`) that makes the URL unique
 * per access. Two versions guard concurrent writers without either clobbering the other:
 * `modified` for API changes (state), `runCount` for run statistics (test and delivery).
 * Both are UpdateItems touching only their own attributes.
 */

const urlHash = (url: string) => createHash('sha256').update(url).digest('hex');

/** A webhook as stored, without its keys (also read by ./listeners.ts). */
export function webhookOfItem(item: Record<string, unknown>): Webhook {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, ...webhook } = item;
  return webhook as unknown as Webhook;
}

/** Creates a webhook and its URL claim in one transaction; `url-taken` when the access already has that URL. */
export async function createWebhook(username: string, webhook: Webhook): Promise<'ok' | 'url-taken' | 'id-taken'> {
  const failed = await transactWrite([
    {
      Put: {
        TableName: undefined,
        Item: { ...keys.webhookUrl(username, webhook.accessId, urlHash(webhook.url)), webhookId: webhook.id },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    {
      Put: {
        TableName: undefined,
        Item: {
          ...keys.webhook(username, webhook.id),
          gsi1pk: keys.allWebhooksIndexKey,
          gsi1sk: `${username}#${webhook.id}`,
          ...webhook,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
  ]);
  if (failed.includes(0)) return 'url-taken';
  if (failed.length > 0) return 'id-taken';
  return 'ok';
}

export async function getWebhook(username: string, id: string): Promise<Webhook | undefined> {
  const out = await dynamo().send(new GetCommand({ TableName: table(), Key: keys.webhook(username, id), ConsistentRead: true }));
  return out.Item ? webhookOfItem(out.Item) : undefined;
}

/** The users that have webhooks, each once (gsi1, eventually consistent: for the boot message). */
export async function* usersWithWebhooks(): AsyncGenerator<string> {
  let last: string | undefined;
  const pages = queryPages({
    TableName: table(),
    IndexName: 'gsi1',
    KeyConditionExpression: 'gsi1pk = :pk',
    ExpressionAttributeValues: { ':pk': keys.allWebhooksIndexKey },
    ProjectionExpression: 'gsi1sk',
  });
  for await (const page of pages) {
    for (const item of page) {
      const username = String(item.gsi1sk).slice(0, String(item.gsi1sk).lastIndexOf('#'));
      if (username !== last) yield username; // sorted by gsi1sk: a user's webhooks are adjacent
      last = username;
    }
  }
}

/** All webhooks of a user, oldest first (ids are time-ordered); a user has a handful. */
export async function listWebhooks(username: string): Promise<Webhook[]> {
  const webhooks: Webhook[] = [];
  for await (const page of partitionPages(keys.userPartition(username), { prefix: keys.webhookPrefix }))
    webhooks.push(...page.map(webhookOfItem));
  return webhooks;
}

export interface WebhookStateChange {
  state: WebhookState;
  modified: number;
  modifiedBy: string;
  /** Set when the change reactivates the webhook (spec §2.5: `currentRetries` back to 0). */
  resetRetries: boolean;
  /** [v2] New named scopes (`{}` removes them); undefined leaves them as they are. */
  scopes?: NamedScopes;
}

/**
 * Applies an API change if nobody changed the webhook (through the API) since `before` was
 * read. Run statistics written meanwhile are kept. `stale` = changed or deleted meanwhile.
 */
export async function updateWebhook(
  username: string,
  before: Webhook,
  change: WebhookStateChange,
): Promise<{ outcome: 'ok'; webhook: Webhook } | { outcome: 'stale' }> {
  const sets = ['#state = :state', 'modified = :modified', 'modifiedBy = :modifiedBy'];
  const values: Record<string, unknown> = {
    ':state': change.state,
    ':modified': change.modified,
    ':modifiedBy': change.modifiedBy,
    ':before': before.modified,
  };
  if (change.resetRetries) {
    sets.push('currentRetries = :zero');
    values[':zero'] = 0;
  }
  const emptyScopes = change.scopes !== undefined && Object.keys(change.scopes).length === 0;
  if (change.scopes !== undefined && !emptyScopes) {
    sets.push('scopes = :scopes');
    values[':scopes'] = change.scopes;
  }
  const out = await ifConditionHolds(
    dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.webhook(username, before.id),
        UpdateExpression: `SET ${sets.join(', ')}${emptyScopes ? ' REMOVE scopes' : ''}`,
        ConditionExpression: 'attribute_exists(pk) AND modified = :before',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    ),
  );
  return out === false ? { outcome: 'stale' } : { outcome: 'ok', webhook: webhookOfItem(out.Attributes!) };
}

/** Replaces what a webhook keeps of its creating access (the access was updated); false if the webhook is gone. */
export async function setWebhookAccess(username: string, id: string, access: AccessSnapshot): Promise<boolean> {
  const out = await ifConditionHolds(
    dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.webhook(username, id),
        UpdateExpression: 'SET #access = :access',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#access': 'access' },
        ExpressionAttributeValues: { ':access': access },
      }),
    ),
  );
  return out !== false;
}

/**
 * Writes a webhook's run statistics (runCount, failCount, lastRun, runs) if no other run
 * was recorded since `before` was read (runCount as version): the webhook as written, or
 * `stale` (another run, or deleted).
 */
export async function writeWebhookRun(
  username: string,
  before: Webhook,
  stats: Pick<Webhook, 'runCount' | 'failCount' | 'lastRun' | 'runs'>,
): Promise<Webhook | 'stale'> {
  const out = await ifConditionHolds(
    dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.webhook(username, before.id),
        UpdateExpression: 'SET runCount = :runCount, failCount = :failCount, lastRun = :lastRun, runs = :runs',
        ConditionExpression: 'attribute_exists(pk) AND runCount = :before',
        ExpressionAttributeValues: {
          ':runCount': stats.runCount,
          ':failCount': stats.failCount,
          ':lastRun': stats.lastRun,
          ':runs': stats.runs,
          ':before': before.runCount,
        },
        ReturnValues: 'ALL_NEW',
      }),
    ),
  );
  return out === false ? 'stale' : webhookOfItem(out.Attributes!);
}

/** Deletes a webhook for good and frees its URL claim; false if it was already gone. */
export async function deleteWebhook(username: string, webhook: Webhook): Promise<boolean> {
  const failed = await transactWrite([
    {
      Delete: {
        TableName: undefined,
        Key: keys.webhook(username, webhook.id),
        ConditionExpression: 'attribute_exists(pk)',
      },
    },
    {
      Delete: {
        TableName: undefined,
        Key: keys.webhookUrl(username, webhook.accessId, urlHash(webhook.url)),
        ConditionExpression: 'attribute_not_exists(pk) OR webhookId = :id',
        ExpressionAttributeValues: { ':id': webhook.id },
      },
    },
  ]);
  return failed.length === 0;
}
