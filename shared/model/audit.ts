/** One audit record (spec §2.10): a call that reached a user's data through one of their accesses. */
export interface AuditItem {
  id: string;
  time: number;
  accessId: string;
  action: string;
  status: number;
  errorId?: string;
  errorMessage?: string;
  source: { name: string; ip?: string };
  userAgent?: string;
  query?: unknown;
  /** Set on pseudonymised records instead of the username. */
  pseudonym?: string;
}
