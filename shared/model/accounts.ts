/** An account as stored: its fields and password hash (never shown), its storage counters. */
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
