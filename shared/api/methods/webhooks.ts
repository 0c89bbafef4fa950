import {
  createWebhookFrom,
  deleteOwnWebhook,
  ownWebhook,
  testWebhook,
  updateWebhookState,
  visibleWebhooks,
} from '../../domain/webhooks/manage';
import { PROTECTED_WEBHOOK_FIELDS, webhookForApi } from '../../domain/webhooks/webhook';
import { rejectProtectedFields } from '../../errors';
import type { WebhookState } from '../../model/webhooks';
import { callerOf } from '../caller';
import { ALL_ACCESS_TYPES, acceptedFields, defineMethod } from '../types';

/** Webhooks API (spec §2.5, §3.6): parameter schemas here, the rules in shared/domain/webhooks/. */

const URL_MAX_LENGTH = 2048;
const STATES: WebhookState[] = ['active', 'inactive'];

export const webhooksGet = /* @__PURE__ */ defineMethod<Record<string, never>>({
  id: 'webhooks.get',
  routes: [{ verb: 'GET', path: '/{username}/webhooks' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  params: { type: 'object', properties: {}, additionalProperties: false },
  run: async (ctx) => ({ webhooks: (await visibleWebhooks(callerOf(ctx))).map(webhookForApi) }),
});

export const webhooksGetOne = /* @__PURE__ */ defineMethod<{ id: string }>({
  id: 'webhooks.getOne',
  routes: [{ verb: 'GET', path: '/{username}/webhooks/{id}' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'], additionalProperties: false },
  run: async (ctx, params) => ({ webhook: webhookForApi(await ownWebhook(callerOf(ctx), params.id)) }),
});

export const webhooksCreate = /* @__PURE__ */ defineMethod<{ url: string; state?: WebhookState; scopes?: unknown }>({
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
      // [v2] named scopes {key: {kind, query}}: checked by the domain (shared/domain/notifications/scopes.ts)
      scopes: { type: 'object' },
    },
    required: ['url'],
    additionalProperties: false,
  },
  run: async (ctx, params) => {
    const webhook = await createWebhookFrom(callerOf(ctx), params);
    // The signing secret is shown here, once: no other answer carries it.
    return { webhook: { ...webhookForApi(webhook), secret: webhook.secret } };
  },
});

export const webhooksUpdate = /* @__PURE__ */ defineMethod<{
  id: string;
  update: { state?: WebhookState; scopes?: unknown } & Record<string, unknown>;
}>({
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
        properties: { state: { type: 'string', enum: STATES }, scopes: { type: 'object' }, ...acceptedFields(PROTECTED_WEBHOOK_FIELDS) },
        additionalProperties: false,
      },
    },
    required: ['id', 'update'],
    additionalProperties: false,
  },
  httpParams: (request) => ({ id: request.pathParams.id, update: request.body ?? {} }),
  run: async (ctx, params) => {
    const caller = callerOf(ctx);
    const webhook = await ownWebhook(caller, params.id);
    rejectProtectedFields(params.update, PROTECTED_WEBHOOK_FIELDS);
    return { webhook: webhookForApi(await updateWebhookState(caller, webhook, params.update.state, params.update.scopes)) };
  },
});

export const webhooksDelete = /* @__PURE__ */ defineMethod<{ id: string }>({
  id: 'webhooks.delete',
  routes: [{ verb: 'DELETE', path: '/{username}/webhooks/{id}' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'], additionalProperties: false },
  run: async (ctx, params) => {
    const webhook = await deleteOwnWebhook(callerOf(ctx), params.id);
    return { webhookDeletion: { id: webhook.id, deleted: ctx.now } };
  },
});

export const webhooksTest = /* @__PURE__ */ defineMethod<{ id: string }>({
  id: 'webhooks.test',
  routes: [{ verb: 'POST', path: '/{username}/webhooks/{id}/test' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'], additionalProperties: false },
  run: async (ctx, params) => ({ webhook: webhookForApi(await testWebhook(callerOf(ctx), params.id)) }),
});
