import { config } from '../../config';
import { newId, newToken } from '../../ids';
import type { Access } from '../../model/accesses';
import { createAccessItems, endSession, extendSession, findAccessByName, replaceAccessToken } from '../../store/accesses';
import { transactWrite } from '../../store/transact';
import { sealAccess } from '../accesses/integrity';
import { sessionEnded } from '../accesses/liveness';
import type { Caller } from '../caller';
import { commitAccessChange, socketsHinted } from '../sockets';

/** A new personal access (a login session for one app id), not yet stored. */
export function newPersonalAccess(appId: string, now: number, sessionMaxAgeS: number): Access {
  return sealAccess({
    id: newId(),
    token: newToken(),
    type: 'personal',
    name: appId,
    permissions: [],
    calls: {},
    created: now,
    createdBy: 'system',
    modified: now,
    modifiedBy: 'system',
    sessionExpires: now + sessionMaxAgeS,
  });
}

const MAX_ATTEMPTS = 3; // two logins racing for one (user, app) session: the loser reads the winner's

/**
 * Opens the session of (username, appId) or reuses a live one (Pryv: one session per
 * user and app; the session token is the personal access token). Returns the access.
 */
export async function openSession(username: string, appId: string, now: number): Promise<Access> {
  const maxAge = config().sessionMaxAgeS;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const existing = await findAccessByName(username, 'personal', appId, null);
    if (existing && !sessionEnded(existing, now)) {
      const sessionExpires = now + maxAge;
      await extendSession(username, existing.token, sessionExpires);
      return { ...existing, sessionExpires };
    }
    if (existing) {
      const replacement: Access = sealAccess({
        ...existing,
        token: newToken(),
        sessionExpires: now + maxAge,
        modified: now,
        modifiedBy: 'system',
      });
      if (await replaceAccessToken(username, existing, replacement)) return replacement;
      continue;
    }
    const created = newPersonalAccess(appId, now, maxAge);
    const failed = await transactWrite(createAccessItems(username, created));
    if (failed.length === 0) return created;
  }
  throw new Error('could not open a session after concurrent attempts');
}

/**
 * `auth.logout` of a personal session: the token stops working, the access stays. Its
 * sockets hear nothing more from writing calls (held first when the user may have some); the
 * fan-out closes them.
 */
export async function logout(caller: Caller): Promise<void> {
  const { username, access, now } = caller;
  await commitAccessChange(
    caller,
    socketsHinted(caller),
    { tokens: [access.token] },
    async (guard) => (await endSession(username, access.token, now, guard)) === 'ended',
  );
}
