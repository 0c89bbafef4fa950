import type { Access } from '../../model/accesses';
import type { AccessSnapshot } from '../../model/notifications';

/**
 * What a socket connection or a webhook keeps of its access for the change fan-out
 * (shared/domain/notifications/audience.ts): its id, type, permissions and lifetime. Only
 * accesses.update changes an access's permissions; the fan-out sees that in the table's
 * stream and replaces the copies (shared/notify/changes.ts accessUpdateOf). An access that
 * ends (deleted, expired, logged out) is seen in the stream or from `expires` / `liveUntil`.
 */
export function accessSnapshot(access: Access): AccessSnapshot {
  return {
    accessId: access.id,
    accessType: access.type,
    permissions: (access.permissions ?? []).map(({ streamId, level, feature, setting }) => ({
      ...(streamId !== undefined ? { streamId } : {}),
      ...(level !== undefined ? { level } : {}),
      ...(feature !== undefined ? { feature } : {}),
      ...(setting !== undefined ? { setting } : {}),
    })),
    ...(typeof access.expires === 'number' ? { expires: access.expires } : {}),
    ...(access.type === 'personal' && typeof access.sessionExpires === 'number' ? { liveUntil: access.sessionExpires } : {}),
  };
}

/**
 * Whether a kept snapshot still opens data, as far as it can tell without reading the
 * access: `false` once `expires` passed, `true` while it may (a personal session only until
 * the end seen when it was taken), `undefined` when the access must be read to know.
 */
export function snapshotOpens(snapshot: AccessSnapshot, now: number): boolean | undefined {
  if (snapshot.expires !== undefined && snapshot.expires <= now) return false;
  if (snapshot.accessType !== 'personal' || (snapshot.liveUntil ?? 0) > now) return true;
  return undefined;
}
