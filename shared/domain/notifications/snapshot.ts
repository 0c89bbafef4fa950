import type { Access } from '../../model/accesses';
import type { AccessSnapshot } from '../../model/notifications';

/**
 * What a socket connection or a webhook keeps of its access for the change fan-out
 * (shared/domain/notifications/audience.ts): its id, type, permissions and lifetime. Access
 * permissions never change once created, so the copy stays true; an access that ends (deleted,
 * expired, logged out) is seen in the table's stream or from `expires` / `liveUntil`.
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
