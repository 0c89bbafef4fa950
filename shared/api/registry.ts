import { callBatch } from './method-loaders';
import { getAccessInfo } from './methods/access-info';
import { accessRequestsCreate, accessRequestsPoll, accessRequestsUpdate } from './methods/access-requests';
import { accessesCheckApp, accessesCreate, accessesDelete, accessesGet, accessesGetOne, accessesUpdate } from './methods/accesses';
import { accountChangePassword, accountGet, accountUpdate } from './methods/account';
import { accountRequestPasswordReset, accountResetPassword } from './methods/account-reset';
import {
  eventsAddAttachment,
  eventsConfirmAttachmentUpload,
  eventsCreateAttachmentUpload,
  eventsDeleteAttachment,
  eventsGetAttachment,
} from './methods/attachments';
import { auditGetLogs } from './methods/audit';
import { authDelete, authLogin, authLogout } from './methods/auth';
import { eventsCreate, eventsDelete, eventsGet, eventsGetOne, eventsUpdate } from './methods/events';
import { accountExport, accountGetExport, accountGetImport, accountImport, accountImportUpload } from './methods/export';
import { followedSlicesCreate, followedSlicesDelete, followedSlicesGet, followedSlicesUpdate } from './methods/followed-slices';
import { mfaActivate, mfaChallenge, mfaConfirm, mfaDeactivate, mfaRecover, mfaVerify, systemDeactivateMfa } from './methods/mfa';
import {
  profileGetApp,
  profileGetPrivate,
  profileGetPublic,
  profileUpdateApp,
  profileUpdatePrivate,
  profileUpdatePublic,
} from './methods/profile';
import {
  authEmailCheck,
  authRegister,
  authUsernameCheck,
  regCores,
  regHostings,
  regServer,
  regUidForEmail,
  regUsernameForEmail,
} from './methods/registration';
import { seriesAdd, seriesBatch, seriesGet } from './methods/series';
import { serviceGreeting, serviceInfo } from './methods/service';
import { streamsCreate, streamsDelete, streamsGet, streamsUpdate } from './methods/streams';
import { systemCreateUser, systemGetUserInfo } from './methods/system';
import { webhooksCreate, webhooksDelete, webhooksGet, webhooksGetOne, webhooksTest, webhooksUpdate } from './methods/webhooks';
import type { MethodDef } from './types';

/**
 * Every API method, declared once. The CDK stack makes one Lambda and its routes per
 * entry, the local gateway mounts the same routes, callBatch and sockets dispatch by id.
 * Each entry's declaration is in ./methods/, exported under its id in camelCase
 * (`events.get` → `eventsGet`).
 *
 * Only entry points (functions/, infra/) import this module: it imports every method.
 * callBatch and socket calls find methods by id through method-loaders.ts, which loads
 * each on its first use.
 */

/** `callBatch` loads the methods it runs on their first use (method-loaders.ts), from sources as from its bundle. */
export { callBatch };

export const METHODS: readonly MethodDef[] = [
  serviceGreeting,
  serviceInfo,
  authRegister,
  authUsernameCheck,
  authEmailCheck,
  regUsernameForEmail,
  regUidForEmail,
  regServer,
  regCores,
  regHostings,
  authLogin,
  authLogout,
  getAccessInfo,
  callBatch,
  accountGet,
  accountUpdate,
  accountChangePassword,
  systemCreateUser,
  systemGetUserInfo,
  authDelete,
  eventsGet,
  eventsGetOne,
  eventsCreate,
  eventsUpdate,
  eventsDelete,
  eventsAddAttachment,
  eventsGetAttachment,
  eventsDeleteAttachment,
  eventsCreateAttachmentUpload,
  eventsConfirmAttachmentUpload,
  seriesGet,
  seriesAdd,
  seriesBatch,
  streamsGet,
  streamsCreate,
  streamsUpdate,
  streamsDelete,
  accessesGet,
  accessesGetOne,
  accessesCreate,
  accessesUpdate,
  accessesDelete,
  accessesCheckApp,
  webhooksGet,
  webhooksGetOne,
  webhooksCreate,
  webhooksUpdate,
  webhooksDelete,
  webhooksTest,
  auditGetLogs,
  accountExport,
  accountGetExport,
  accountImportUpload,
  accountImport,
  accountGetImport,
  accessRequestsCreate,
  accessRequestsPoll,
  accessRequestsUpdate,
  accountRequestPasswordReset,
  accountResetPassword,
  profileGetPublic,
  profileUpdatePublic,
  profileGetPrivate,
  profileUpdatePrivate,
  profileGetApp,
  profileUpdateApp,
  followedSlicesGet,
  followedSlicesCreate,
  followedSlicesUpdate,
  followedSlicesDelete,
  mfaActivate,
  mfaConfirm,
  mfaChallenge,
  mfaVerify,
  mfaDeactivate,
  mfaRecover,
  systemDeactivateMfa,
];

const byId = new Map(METHODS.map((m) => [m.id, m]));

export function findMethod(id: string): MethodDef | undefined {
  return byId.get(id);
}

/**
 * The Lambda entry file of a method, under functions/api/: its id with `.` turned into `-`
 * (`events.get` → functions/api/events-get.ts), so no entry is named like a test file.
 * The one place that maps a method to its entry (the stack and the local gateway use it).
 */
export function functionEntryName(method: MethodDef): string {
  return method.id.replace(/\./g, '-');
}
