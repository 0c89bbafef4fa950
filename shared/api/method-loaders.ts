import { callBatchMethod } from './methods/batch';
import { loadParamsValidators } from './params-validators-load';
import type { MethodDef } from './types';

/**
 * Every API method by id, each loaded on its first call: for the functions that run any
 * method (callBatch, the socket message function). Built with esbuild `splitting`
 * (infra/bundling/function-code.ts), each `import()` here is a chunk of their asset, so a
 * cold start loads the entry alone and a call loads the chunks of its own method's module and
 * of its parameter validators (./params-validators.ts).
 * The registry (registry.ts) lists the same methods for the stack and the local gateway;
 * test/unit/method-loaders.test.ts checks that the two agree.
 */
const LOADERS: Record<string, () => Promise<MethodDef>> = {
  'service.greeting': () => import('./methods/service').then((m) => m.serviceGreeting),
  'service.info': () => import('./methods/service').then((m) => m.serviceInfo),
  'auth.register': () => import('./methods/registration').then((m) => m.authRegister),
  'auth.usernameCheck': () => import('./methods/registration').then((m) => m.authUsernameCheck),
  'auth.emailCheck': () => import('./methods/registration').then((m) => m.authEmailCheck),
  'reg.usernameForEmail': () => import('./methods/registration').then((m) => m.regUsernameForEmail),
  'reg.uidForEmail': () => import('./methods/registration').then((m) => m.regUidForEmail),
  'reg.server': () => import('./methods/registration').then((m) => m.regServer),
  'reg.cores': () => import('./methods/registration').then((m) => m.regCores),
  'reg.hostings': () => import('./methods/registration').then((m) => m.regHostings),
  'auth.login': () => import('./methods/auth').then((m) => m.authLogin),
  'auth.logout': () => import('./methods/auth').then((m) => m.authLogout),
  getAccessInfo: () => import('./methods/access-info').then((m) => m.getAccessInfo),
  'account.get': () => import('./methods/account').then((m) => m.accountGet),
  'account.update': () => import('./methods/account').then((m) => m.accountUpdate),
  'account.changePassword': () => import('./methods/account').then((m) => m.accountChangePassword),
  'system.createUser': () => import('./methods/system').then((m) => m.systemCreateUser),
  'system.getUserInfo': () => import('./methods/system').then((m) => m.systemGetUserInfo),
  'auth.delete': () => import('./methods/auth').then((m) => m.authDelete),
  'events.get': () => import('./methods/events').then((m) => m.eventsGet),
  'events.getOne': () => import('./methods/events').then((m) => m.eventsGetOne),
  'events.create': () => import('./methods/events').then((m) => m.eventsCreate),
  'events.update': () => import('./methods/events').then((m) => m.eventsUpdate),
  'events.delete': () => import('./methods/events').then((m) => m.eventsDelete),
  'events.addAttachment': () => import('./methods/attachments').then((m) => m.eventsAddAttachment),
  'events.getAttachment': () => import('./methods/attachments').then((m) => m.eventsGetAttachment),
  'events.deleteAttachment': () => import('./methods/attachments').then((m) => m.eventsDeleteAttachment),
  'events.createAttachmentUpload': () => import('./methods/attachments').then((m) => m.eventsCreateAttachmentUpload),
  'events.confirmAttachmentUpload': () => import('./methods/attachments').then((m) => m.eventsConfirmAttachmentUpload),
  'series.get': () => import('./methods/series').then((m) => m.seriesGet),
  'series.add': () => import('./methods/series').then((m) => m.seriesAdd),
  'series.batch': () => import('./methods/series').then((m) => m.seriesBatch),
  'streams.get': () => import('./methods/streams').then((m) => m.streamsGet),
  'streams.create': () => import('./methods/streams').then((m) => m.streamsCreate),
  'streams.update': () => import('./methods/streams').then((m) => m.streamsUpdate),
  'streams.delete': () => import('./methods/streams').then((m) => m.streamsDelete),
  'accesses.get': () => import('./methods/accesses').then((m) => m.accessesGet),
  'accesses.getOne': () => import('./methods/accesses').then((m) => m.accessesGetOne),
  'accesses.create': () => import('./methods/accesses').then((m) => m.accessesCreate),
  'accesses.update': () => import('./methods/accesses').then((m) => m.accessesUpdate),
  'accesses.delete': () => import('./methods/accesses').then((m) => m.accessesDelete),
  'accesses.checkApp': () => import('./methods/accesses').then((m) => m.accessesCheckApp),
  'webhooks.get': () => import('./methods/webhooks').then((m) => m.webhooksGet),
  'webhooks.getOne': () => import('./methods/webhooks').then((m) => m.webhooksGetOne),
  'webhooks.create': () => import('./methods/webhooks').then((m) => m.webhooksCreate),
  'webhooks.update': () => import('./methods/webhooks').then((m) => m.webhooksUpdate),
  'webhooks.delete': () => import('./methods/webhooks').then((m) => m.webhooksDelete),
  'webhooks.test': () => import('./methods/webhooks').then((m) => m.webhooksTest),
  'audit.getLogs': () => import('./methods/audit').then((m) => m.auditGetLogs),
  'account.export': () => import('./methods/export').then((m) => m.accountExport),
  'account.getExport': () => import('./methods/export').then((m) => m.accountGetExport),
  'account.importUpload': () => import('./methods/export').then((m) => m.accountImportUpload),
  'account.import': () => import('./methods/export').then((m) => m.accountImport),
  'account.getImport': () => import('./methods/export').then((m) => m.accountGetImport),
  'accessRequests.create': () => import('./methods/access-requests').then((m) => m.accessRequestsCreate),
  'accessRequests.poll': () => import('./methods/access-requests').then((m) => m.accessRequestsPoll),
  'accessRequests.update': () => import('./methods/access-requests').then((m) => m.accessRequestsUpdate),
  'account.requestPasswordReset': () => import('./methods/account-reset').then((m) => m.accountRequestPasswordReset),
  'account.resetPassword': () => import('./methods/account-reset').then((m) => m.accountResetPassword),
  'profile.getPublic': () => import('./methods/profile').then((m) => m.profileGetPublic),
  'profile.updatePublic': () => import('./methods/profile').then((m) => m.profileUpdatePublic),
  'profile.getPrivate': () => import('./methods/profile').then((m) => m.profileGetPrivate),
  'profile.updatePrivate': () => import('./methods/profile').then((m) => m.profileUpdatePrivate),
  'profile.getApp': () => import('./methods/profile').then((m) => m.profileGetApp),
  'profile.updateApp': () => import('./methods/profile').then((m) => m.profileUpdateApp),
  'followedSlices.get': () => import('./methods/followed-slices').then((m) => m.followedSlicesGet),
  'followedSlices.create': () => import('./methods/followed-slices').then((m) => m.followedSlicesCreate),
  'followedSlices.update': () => import('./methods/followed-slices').then((m) => m.followedSlicesUpdate),
  'followedSlices.delete': () => import('./methods/followed-slices').then((m) => m.followedSlicesDelete),
  'mfa.activate': () => import('./methods/mfa').then((m) => m.mfaActivate),
  'mfa.confirm': () => import('./methods/mfa').then((m) => m.mfaConfirm),
  'mfa.challenge': () => import('./methods/mfa').then((m) => m.mfaChallenge),
  'mfa.verify': () => import('./methods/mfa').then((m) => m.mfaVerify),
  'mfa.deactivate': () => import('./methods/mfa').then((m) => m.mfaDeactivate),
  'mfa.recover': () => import('./methods/mfa').then((m) => m.mfaRecover),
  'system.deactivateMfa': () => import('./methods/mfa').then((m) => m.systemDeactivateMfa),
};

const loaded = new Map<string, Promise<MethodDef>>();

/** The method `id`, loaded once (undefined for an id no method has). */
export async function loadMethod(id: string): Promise<MethodDef | undefined> {
  if (id === 'callBatch') return loadParamsValidators(id).then(() => callBatch);
  const load = Object.hasOwn(LOADERS, id) ? LOADERS[id] : undefined;
  if (!load) return undefined;
  let method = loaded.get(id);
  if (!method) {
    method = Promise.all([load(), loadParamsValidators(id)]).then(([loadedMethod]) => loadedMethod);
    // A failed load (a chunk missing from the asset) is tried again on the next call.
    method.catch(() => loaded.delete(id));
    loaded.set(id, method);
  }
  return method;
}

/** `callBatch` running the methods of LOADERS. */
export const callBatch = callBatchMethod(loadMethod);

/** The ids LOADERS knows (for the check against the registry). */
export const LOADABLE_METHOD_IDS: readonly string[] = ['callBatch', ...Object.keys(LOADERS)];
