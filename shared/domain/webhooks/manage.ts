import { postJson } from '../../adapters/webhook-post';
import { API_VERSION, WEBHOOK_CALL_TIMEOUT_MS } from '../../config';
import { errors, PryvError } from '../../errors';
import { newId } from '../../ids';
import type { NamedScopes } from '../../model/notifications';
import type { Webhook, WebhookState } from '../../model/webhooks';
import { scheduleWebhookAttempt } from '../../store/webhook-queue';
import { createWebhook, deleteWebhook, getWebhook, listWebhooks, updateWebhook } from '../../store/webhooks';
import type { Caller } from '../caller';
import { retryOnStale, STALE } from '../concurrency';
import { checkScopesFor, parseNamedScopes } from '../notifications/scopes';
import { accessSnapshot } from '../notifications/snapshot';
import { loadUserData } from '../user-data';
import { isSuccessStatus, newWebhookSecret, recordWebhookRun } from './webhook';

/**
 * Webhooks through the API (spec §2.5, §3.6). Delivery of change notifications is
 * shared/notify/webhook-delivery.ts (spec §6.2).
 */

/** Personal accesses manage every webhook of the account; others only those they created. */
const owns = (caller: Caller, webhook: Webhook) => caller.access.type === 'personal' || webhook.accessId === caller.access.id;

/** The webhooks the caller may see. */
export async function visibleWebhooks(caller: Caller): Promise<Webhook[]> {
  return (await listWebhooks(caller.username)).filter((w) => owns(caller, w));
}

/** The webhook the caller may handle: 404 if unknown, 403 if another access created it. */
export async function ownWebhook(caller: Caller, id: string): Promise<Webhook> {
  const webhook = await getWebhook(caller.username, id);
  if (!webhook) throw errors.unknownResource('webhook', id);
  if (!owns(caller, webhook)) throw errors.forbidden('The webhook was not created by this access.');
  return webhook;
}

function invalidUrl(message: string): PryvError {
  return errors.invalidParametersFormat("The parameters' format is invalid.", [{ code: 'PATTERN', message, path: '#/url', params: [] }]);
}

/** An absolute http(s) URL with a host (no credentials: they would be stored and shown in clear). */
function checkWebhookUrl(text: string): void {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalidUrl('url must be an absolute http or https URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidUrl('url must be an http or https URL.');
  if (!url.hostname) throw invalidUrl('url must name a host.');
  if (url.username || url.password) throw invalidUrl('url must not carry credentials.');
}

/**
 * [v2] Webhook `scopes` (spec §3.6): checked for shape, then against the caller's access and
 * stream tree as `events.get` checks a streams query (400 unknown stream, 403 unreadable).
 */
async function checkedScopes(caller: Caller, raw: unknown): Promise<NamedScopes> {
  const scopes = parseNamedScopes(raw);
  if (Object.keys(scopes).length > 0) {
    const { tree, permissions } = await loadUserData(caller);
    checkScopesFor(scopes, tree, permissions);
  }
  return scopes;
}

/** `webhooks.create`: one URL per creating access, with the service's delivery settings. */
export async function createWebhookFrom(caller: Caller, input: { url: string; state?: WebhookState; scopes?: unknown }): Promise<Webhook> {
  checkWebhookUrl(input.url);
  const scopes = input.scopes === undefined ? {} : await checkedScopes(caller, input.scopes);
  const { now, author, config } = caller;
  const webhook: Webhook = {
    id: newId(),
    accessId: caller.access.id,
    url: input.url,
    state: input.state ?? 'active',
    runCount: 0,
    failCount: 0,
    lastRun: { status: 0, timestamp: 0 },
    runs: [],
    currentRetries: 0,
    maxRetries: config.webhookMaxRetries,
    minIntervalMs: config.webhookMinIntervalMs,
    secret: newWebhookSecret(),
    created: now,
    createdBy: author,
    modified: now,
    modifiedBy: author,
    ...(Object.keys(scopes).length > 0 ? { scopes } : {}),
    // What the change fan-out needs of the creating access, so that it reads no access per change.
    access: accessSnapshot(caller.access),
  };
  const outcome = await createWebhook(caller.username, webhook);
  if (outcome === 'url-taken') throw errors.itemAlreadyExists('webhook', { url: input.url });
  if (outcome !== 'ok') throw new Error(`webhook id ${webhook.id} already taken`);
  return webhook;
}

/**
 * `webhooks.update` of a webhook read with {@link ownWebhook}: its state (spec §2.5). Reactivating resets the retries and delivers
 * the messages kept when delivery gave up.
 */
export async function updateWebhookState(
  caller: Caller,
  read: Webhook,
  state: WebhookState | undefined,
  rawScopes?: unknown,
): Promise<Webhook> {
  let webhook = read;
  const scopes = rawScopes === undefined ? undefined : await checkedScopes(caller, rawScopes);
  return retryOnStale(
    async (attempt) => {
      // Changed or deleted meanwhile: re-read (404 if gone) and apply the change again.
      if (attempt > 0) webhook = await ownWebhook(caller, read.id);
      const result = await updateWebhook(caller.username, webhook, {
        state: state ?? webhook.state,
        modified: caller.now,
        modifiedBy: caller.author,
        resetRetries: state === 'active',
        ...(scopes !== undefined ? { scopes } : {}),
      });
      if (result.outcome !== 'ok') return STALE;
      const updated = result.webhook;
      if (updated.state === 'active' && (updated.pending?.size ?? 0) > 0 && updated.nextAttempt === undefined) {
        await scheduleWebhookAttempt(caller.username, updated.id, Date.now() / 1000);
      }
      return updated;
    },
    { what: 'webhook' },
  );
}

/** `webhooks.delete`: for good, its URL free again. */
export async function deleteOwnWebhook(caller: Caller, id: string): Promise<Webhook> {
  const webhook = await ownWebhook(caller, id);
  if (!(await deleteWebhook(caller.username, webhook))) throw errors.unknownResource('webhook', id);
  return webhook;
}

/** `webhooks.test`: one call with a `test` message, recorded as a run like any other (refused targets included). */
export async function testWebhook(caller: Caller, id: string): Promise<Webhook> {
  const { config } = caller;
  const webhook = await ownWebhook(caller, id);
  const outcome = await postJson(
    webhook.url,
    { messages: ['test'], meta: { apiVersion: API_VERSION, serverTime: caller.now, serial: config.serial } },
    { timeoutMs: WEBHOOK_CALL_TIMEOUT_MS, allowPrivate: config.webhooksAllowPrivateTargets },
  );
  const recorded = await recordWebhookRun(caller.username, webhook, { status: outcome.status, timestamp: Date.now() / 1000 });
  if (!recorded) throw errors.unknownResource('webhook', id);
  if (!isSuccessStatus(outcome.status)) {
    const reason = outcome.status === 0 ? (outcome.error ?? 'no answer').replace(/\.$/, '') : `it answered HTTP ${outcome.status}`;
    throw new PryvError(
      'unknown-referenced-resource',
      400,
      outcome.refused ? outcome.error! : `The webhook URL could not be called successfully: ${reason}.`,
      { url: webhook.url },
    );
  }
  return recorded;
}
