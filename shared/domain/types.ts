/** Stored shapes. API shapes are derived from these in the methods. */

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
  /** Personal accesses only: the sliding end of the login session (Unix seconds). */
  sessionExpires?: number;
}

export interface Account {
  username: string;
  email: string;
  language: string;
  appId?: string;
  referer?: string;
  invitationToken?: string;
  passwordHash: string;
  passwordChanged: number;
  created: number;
  modified: number;
  /** Counters shown as storageUsed (spec §2.8). */
  dbDocuments?: number;
  attachedFiles?: number;
}
