import type { Permission } from './accesses';

export type AccessRequestStatus = 'NEED_SIGNIN' | 'ACCEPTED' | 'REFUSED' | 'ERROR';

/** An access request as stored (spec §2.14): what the app asked for and, once answered, the answer. */
export interface AccessRequest {
  key: string;
  status: AccessRequestStatus;
  requestingAppId: string;
  requestedPermissions: Permission[];
  lang: string;
  returnURL: string | false | null;
  clientData?: Record<string, unknown>;
  deviceName?: string;
  expireAfter?: number;
  referer?: string;
  oauthState?: string;
  /** The app's own `serviceInfo` override (Pryv echoes it back), if it sent one. */
  serviceInfo?: Record<string, unknown>;
  /** Consent page base URL: the default one or the request's trusted `authUrl`. */
  authBase: string;
  created: number;
  /** Unix seconds; the request is gone from then on (TTL). */
  expires: number;
  // The answer:
  username?: string;
  token?: string;
  apiEndpoint?: string;
  reasonID?: string;
  message?: string;
  errorId?: string;
  detail?: string;
}
