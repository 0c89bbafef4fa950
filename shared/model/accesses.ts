/** Accesses as stored (spec §3.3): the token, its type and permissions, its usage. */

export type AccessType = 'personal' | 'app' | 'shared';

export interface Permission {
  streamId?: string;
  level?: 'read' | 'contribute' | 'manage' | 'create-only' | 'none';
  feature?: string;
  setting?: string;
  defaultName?: string;
  /** Accepted at creation and stripped (spec §2.4). */
  name?: string;
  /** v1 legacy tag permission (deprecated, not enforced). */
  tag?: string;
}

export interface Access {
  id: string;
  token: string;
  type: AccessType;
  name: string;
  deviceName?: string | null;
  permissions: Permission[];
  expires?: number;
  lastUsed?: number;
  calls?: Record<string, number>;
  clientData?: Record<string, unknown> | null;
  created: number;
  createdBy: string;
  modified: number;
  modifiedBy: string;
  deleted?: number;
  /** `ACCESS:0:sha256-…` of this version, computed when it was written (domain/integrity/canonical.ts); absent on items written without. */
  integrity?: string;
  /**
   * [v2] How many times the access was updated (spec §2.4): absent until its first update.
   * The API shows the id as `{id}:{serial}` once it is set; `id` itself never changes.
   */
  serial?: number;
  /** Personal accesses only: the sliding end of the login session (Unix seconds). */
  sessionExpires?: number;
}
