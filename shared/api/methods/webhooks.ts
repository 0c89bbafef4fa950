import { acceptedFields, defineMethod, ALL_ACCESS_TYPES, type MethodContext } from '../types';
import { errors, PryvError, rejectProtectedFields } from '../../errors';
import { API_VERSION, WEBHOOK_CALL_TIMEOUT_MS } from '../../config';
import { author } from '../../domain/user-data';
import { newId } from '../../ids';
import { newWebhookSecret, PROTECTED_WEBHOOK_FIELDS, isSuccessStatus, recordWebhookRun, webhookForApi } from '../../domain/webhooks/webhook';
import { createWebhook, deleteWebhook, getWebhook, listWebhooks, updateWebhook } from '../../store/webhooks';
import { postJson } from '../../adapters/webhook-post';
import { scheduleWebhookAttempt } from '../../store/webhook-queue';
import type { Webhook, WebhookState } from '../../model/webhooks';

/** Webhooks API (spec §2.5, §3.6). Delivery of change notifications is not here (spec §6.2). */

const URL_MAX_LENGTH = 2048;
const STATES: WebhookState[] = ['active', 'inactive'];

/** Personal accesses manage every webhook of the account; others only those they created. */
const owns = (ctx: MethodContext, webhook: Webhook) => ctx.access!.type === 'personal' || webhook.accessId === ctx.access!.id;

/** The webhook the caller may handle: 404 if unknown, 403 if another access created it. */
async function ownWebhook(ctx: MethodContext, id: string): Promise<Webhook> {
  const webhook = await getWebhook(ctx.username!, id);
  if (!webhook) throw errors.unknownResource('webhook', id);
  if (!owns(ctx, webhook)) throw errors.forbidden('The webhook was not created by this access.');
  return webhook;
}

function invalidUrl(message: string): PryvError {
  return errors.invalidParametersFormat("The parameters' format is invalid.", [
    { code: 'PATTERN', message, path: '#/url', params: [] },
  ]);
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

export const webhooksGet = defineMethod<Record<string, never>>({
  id: 'webhooks.get',
  routes: [{ verb: 'GET', path: '/{username}/webhooks' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  params: { type: 'object', properties: {}, additionalProperties: false },
  run: async (ctx) => {
    const webhooks = (await listWebhooks(ctx.username!)).filter((w) => owns(ctx, w));
    return { webhooks: webhooks.map(webhookForApi) };
  },
});

export const webhooksGetOne = defineMethod<{ id: string }>({
  id: 'webhooks.getOne',
  routes: [{ verb: 'GET', path: '/{username}/webhooks/{id}' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'], additionalProperties: false },
  run: async (ctx, params) => ({ webhook: webhookForApi(await ownWebhook(ctx, params.id)) }),
});

export const webhooksCreate = defineMethod<{ url: string; state?: WebhookState }>({
  id: 'webhooks.create',
  routes: [{ verb: 'POST', path: '/{username}/webhooks' }],
  auth: 'token',
  // Pryv: app and shared accesses only; personal → 403 (spec §2.0, §9 note 4).
  accessTypes: ['app', 'shared'],
  status: 201,
  params: {
    type: 'object',
    properties: {
      url: { type: 'string', minLength: 1, maxLength: URL_MAX_LENGTH },
      state: { type: 'string', enum: STATES },
    },
    required: ['url'],
    additionalProperties: false,
  },
  run: async (ctx, params) => {
    checkWebhookUrl(params.url);
    const by = author(ctx);
    const webhook: Webhook = {
      id: newId(),
      accessId: ctx.access!.id,
      url: params.url,
      state: params.state ?? 'active',
      runCount: 0,
      failCount: 0,
      lastRun: { status: 0, timestamp: 0 },
      runs: [],
      currentRetries: 0,
      maxRetries: ctx.config.webhookMaxRetries,
      minIntervalMs: ctx.config.webhookMinIntervalMs,
      secret: newWebhookSecret(),
      created: ctx.now,
      createdBy: by,
      modified: ctx.now,
      modifiedBy: by,
    };
    const outcome = await createWebhook(ctx.username!, webhook);
    if (outcome === 'url-taken') throw errors.itemAlreadyExists('webhook', { url: params.url });
    if (outcome !== 'ok') throw new Error(`webhook id ${webhook.id} already taken`);
    // The signing secret is shown here, once: no other answer carries it.
    return { webhook: { ...webhookForApi(webhook), secret: webhook.secret } };
  },
});

export const webhooksUpdate = defineMethod<{ id: string; update: { state?: WebhookState } & Record<string, unknown> }>({
  id: 'webhooks.update',
  routes: [{ verb: 'PUT', path: '/{username}/webhooks/{id}' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  params: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      update: {
        type: 'object',
        properties: { state: { type: 'string', enum: STATES }, ...acceptedFields(PROTECTED_WEBHOOK_FIELDS) },
        additionalProperties: false,
      },
    },
    required: ['id', 'update'],
    additionalProperties: false,
  },
  httpParams: (request) => ({ id: request.pathParams.id, update: request.body ?? {} }),
  run: async (ctx, params) => {
    let webhook = await ownWebhook(ctx, params.id);
    rejectProtectedFields(params.update, PROTECTED_WEBHOOK_FIELDS);
    const state = params.update.state ?? webhook.state;
    for (let attempt = 0; attempt < 5; attempt++) {
      const result = await updateWebhook(ctx.username!, webhook, {
        state,
        modified: ctx.now,
        modifiedBy: author(ctx),
        resetRetries: params.update.state === 'active',
      });
      if (result.outcome === 'ok') {
        const updated = result.webhook;
        // Reactivated with undelivered messages (kept when delivery gave up): deliver them now.
        if (updated.state === 'active' && (updated.pending?.size ?? 0) > 0 && updated.nextAttempt === undefined) {
          await scheduleWebhookAttempt(ctx.username!, updated.id, Date.now() / 1000);
        }
        return { webhook: webhookForApi(updated) };
      }
      // Changed or deleted meanwhile: re-read (404 if gone) and apply the change again.
      webhook = await ownWebhook(ctx, params.id);
    }
    throw errors.apiUnavailable('The webhook is being changed concurrently; please retry.');
  },
});

export const webhooksDelete = defineMethod<{ id: string }>({
  id: 'webhooks.delete',
  routes: [{ verb: 'DELETE', path: '/{username}/webhooks/{id}' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'], additionalProperties: false },
  run: async (ctx, params) => {
    const webhook = await ownWebhook(ctx, params.id);
    if (!(await deleteWebhook(ctx.username!, webhook))) throw errors.unknownResource('webhook', params.id);
    return { webhookDeletion: { id: webhook.id, deleted: ctx.now } };
  },
});

export const webhooksTest = defineMethod<{ id: string }>({
  id: 'webhooks.test',
  routes: [{ verb: 'POST', path: '/{username}/webhooks/{id}/test' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'], additionalProperties: false },
  run: async (ctx, params) => {
    const webhook = await ownWebhook(ctx, params.id);
    const outcome = await postJson(
      webhook.url,
      { messages: ['test'], meta: { apiVersion: API_VERSION, serverTime: ctx.now, serial: ctx.config.serial } },
      { timeoutMs: WEBHOOK_CALL_TIMEOUT_MS, allowPrivate: ctx.config.webhooksAllowPrivateTargets },
    );
    // A test is a run like any other (runCount, failCount, lastRun, runs), refused targets included.
    const recorded = await recordWebhookRun(ctx.username!, webhook, { status: outcome.status, timestamp: Date.now() / 1000 });
    if (!recorded) throw errors.unknownResource('webhook', params.id);
    if (!isSuccessStatus(outcome.status)) {
      const reason = outcome.status === 0 ? (outcome.error ?? 'no answer').replace(/\.$/, '') : `it answered HTTP ${outcome.status}`;
      throw new PryvError(
        'unknown-referenced-resource',
        400,
        outcome.refused ? outcome.error! : `The webhook URL could not be called successfully: ${reason}.`,
        { url: webhook.url },
      );
    }
    return { webhook: webhookForApi(recorded) };
  },
});
