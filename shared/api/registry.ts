import type { MethodDef } from './types';
import { greeting, serviceInfoMethod } from './methods/service';
import {
  cores,
  emailCheck,
  hostings,
  register,
  uidForEmail,
  userServer,
  usernameCheck,
  usernameForEmailMethod,
} from './methods/registration';
import { login, logout } from './methods/auth';
import { accountGet, accountUpdate, changePassword } from './methods/account';
import { callBatch, getAccessInfo } from './methods/utility';
import { deleteUser, systemCreateUser, systemGetUserInfo } from './methods/system';
import { eventsCreate, eventsDelete, eventsGet, eventsGetOne, eventsUpdate } from './methods/events';
import { streamsCreate, streamsDelete, streamsGet, streamsUpdate } from './methods/streams';
import {
  eventsAddAttachment,
  eventsConfirmAttachmentUpload,
  eventsCreateAttachmentUpload,
  eventsDeleteAttachment,
  eventsGetAttachment,
} from './methods/attachments';
import { accessesCheckApp, accessesCreate, accessesDelete, accessesGet, accessesUpdate } from './methods/accesses';
import { webhooksCreate, webhooksDelete, webhooksGet, webhooksGetOne, webhooksTest, webhooksUpdate } from './methods/webhooks';
import { auditGetLogs } from './methods/audit';
import { accountExport, accountGetExport, accountGetImport, accountImport, accountImportUpload } from './methods/export';
import { accessRequestCreate, accessRequestPoll, accessRequestUpdate } from './methods/access-requests';
import { accountRequestPasswordReset, accountResetPassword } from './methods/account-reset';
import {
  profileGetApp,
  profileGetPrivate,
  profileGetPublic,
  profileUpdateApp,
  profileUpdatePrivate,
  profileUpdatePublic,
} from './methods/profile';
import { followedSlicesCreate, followedSlicesDelete, followedSlicesGet, followedSlicesUpdate } from './methods/followed-slices';
import {
  mfaActivate,
  mfaChallenge,
  mfaConfirm,
  mfaDeactivate,
  mfaRecover,
  mfaVerify,
  systemDeactivateMfa,
} from './methods/mfa';

/**
 * Every API method, declared once (ARCHITECTURE §3). The CDK stack makes one Lambda and
 * its routes per entry, the local gateway mounts the same routes, callBatch and sockets
 * dispatch by id. Each entry's implementation is in ./methods/.
 */
export const METHODS: readonly MethodDef[] = [
  greeting,
  serviceInfoMethod,
  register,
  usernameCheck,
  emailCheck,
  usernameForEmailMethod,
  uidForEmail,
  userServer,
  cores,
  hostings,
  login,
  logout,
  getAccessInfo,
  callBatch,
  accountGet,
  accountUpdate,
  changePassword,
  systemCreateUser,
  systemGetUserInfo,
  deleteUser,
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
  streamsGet,
  streamsCreate,
  streamsUpdate,
  streamsDelete,
  accessesGet,
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
  accessRequestCreate,
  accessRequestPoll,
  accessRequestUpdate,
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

/** Pryv's documented aliases of method ids (spec §2.0 note). */
const ALIASES: Record<string, string> = {};

export function findMethod(id: string): MethodDef | undefined {
  return byId.get(ALIASES[id] ?? id);
}

/** The Lambda entry file of a method: functions/api/{id}.ts. */
export function functionEntryName(method: MethodDef): string {
  return method.id;
}
