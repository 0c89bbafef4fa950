import { sealAccess } from '../../shared/domain/accesses/integrity';
import { newId, newToken } from '../../shared/ids';
import type { Access, AccessType } from '../../shared/model/accesses';
import { createAccessItems } from '../../shared/store/accesses';
import { transactWrite } from '../../shared/store/transact';

/**
 * Puts a non-personal access straight into the store, for tests of rules that depend on
 * the access type before accesses.create exists over the API. Call useRuntimeStore() first.
 */
export async function insertAccess(username: string, type: Exclude<AccessType, 'personal'>, extra: Partial<Access> = {}): Promise<Access> {
  const now = Date.now() / 1000;
  const access: Access = sealAccess({
    id: newId(),
    token: newToken(),
    type,
    name: `${type}-${newId()}`,
    permissions: [{ streamId: '*', level: 'manage' }],
    calls: {},
    created: now,
    createdBy: 'test',
    modified: now,
    modifiedBy: 'test',
    ...extra,
  });
  const failed = await transactWrite(createAccessItems(username, access));
  if (failed.length > 0) throw new Error('test access not inserted');
  return access;
}
