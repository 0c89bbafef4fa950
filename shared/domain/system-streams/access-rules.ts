import { errors } from '../../errors';
import type { Permission } from '../../model/accesses';
import { isHiddenSystemStream, isKnownSystemStream, isSystemStreamId } from './definitions';

/**
 * What an access may be granted on account system streams (Pryv API reference §7), checked
 * by accesses.create and accesses.update before the delegation rules: an unknown system id is
 * `403 forbidden`; a hidden stream `400 invalid-operation` (denied-stream-access); `manage` on
 * a shown one `400 invalid-operation` (too-high-access) — their values are written by the
 * account rules, never managed as streams.
 */
export function checkSystemStreamPermissions(permissions: readonly Permission[]): void {
  for (const p of permissions) {
    if (!p || typeof p.streamId !== 'string' || !isSystemStreamId(p.streamId)) continue;
    if (!isKnownSystemStream(p.streamId)) {
      throw errors.forbidden(`The stream "${p.streamId}" is not a known system stream: it cannot be granted.`);
    }
    if (isHiddenSystemStream(p.streamId)) {
      throw errors.invalidOperation(`The system stream "${p.streamId}" cannot be granted to any access.`, {
        reason: 'denied-stream-access',
        streamId: p.streamId,
      });
    }
    if (p.level === 'manage') {
      throw errors.invalidOperation(
        `The level "manage" cannot be granted on the system stream "${p.streamId}": use "read", "create-only" or "contribute".`,
        { reason: 'too-high-access', streamId: p.streamId, level: p.level },
      );
    }
  }
}
