/** Multi-factor authentication state as stored (spec §2.13): the active MFA of an account and its pending steps. */
export type MfaMethod = 'totp' | 'sms';

/** The MFA of an account, once confirmed. Kept apart from the private profile (never readable through the API). */
export interface MfaState {
  method: MfaMethod;
  /** TOTP secret, base32. */
  secret?: string;
  /** What the user gave at activation (e.g. `phone_number`), for the code sender. */
  content: Record<string, unknown>;
  recoveryCodeHashes: string[];
  /** Last TOTP time step accepted (replay guard). */
  lastUsedStep?: number;
  activated: number;
}

/** A pending MFA step behind an mfaToken (stored by the token's hash). */
export interface MfaSession {
  purpose: 'activate' | 'login';
  method: MfaMethod;
  /** activate: the pending TOTP secret. */
  secret?: string;
  content?: Record<string, unknown>;
  /** sms: hash of the code sent. */
  codeHash?: string;
  /** login: the app whose session opens once verified. */
  appId?: string;
  attempts?: number;
  created: number;
  expires: number;
}
