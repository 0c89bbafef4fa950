import { ACCESS_REQUEST_POLL_RATE_MS, type Config } from '../../config';
import { errors } from '../../errors';
import type { AccessRequest, AccessRequestStatus } from '../../model/access-requests';
import type { Access } from '../../model/accesses';
import { apiEndpoint } from '../accesses/api-endpoint';
import { assertAccessLive } from '../accesses/liveness';
import { type AccessRequestAnswer, invalidData } from './input';

/**
 * The access-request ("auth request") flow (spec §2.14): an app posts what it wants, the
 * user opens the consent page (`authUrl`), signs in and answers; the app polls the request
 * until it is ACCEPTED (with an app token), REFUSED or in ERROR. How a request is shown
 * and answered; what apps send is checked in ./input.ts.
 */

export const pollUrl = (config: Config, key: string) => `${config.publicUrl}/reg/access/${key}`;

/**
 * The consent page URL (documented form, spec §2.14) plus `pollUrl` for older consent
 * apps. The page reads the request itself from `poll`; the rest is informative.
 */
export function consentUrl(config: Config, request: AccessRequest): string {
  const url = new URL(request.authBase);
  const poll = pollUrl(config, request.key);
  url.searchParams.set('lang', request.lang);
  url.searchParams.set('key', request.key);
  url.searchParams.set('requestingAppId', request.requestingAppId);
  url.searchParams.set('poll', poll);
  url.searchParams.set('poll_rate_ms', String(ACCESS_REQUEST_POLL_RATE_MS));
  url.searchParams.set('serviceInfo', `${config.publicUrl}/reg/service/info`);
  if (typeof request.returnURL === 'string') url.searchParams.set('returnURL', request.returnURL);
  if (request.oauthState) url.searchParams.set('oauthState', request.oauthState);
  url.searchParams.set('pollUrl', poll);
  return url.toString();
}

/** HTTP status of each state (spec §2.14): pending 201, accepted 200, refused or failed 403. */
export const STATUS_CODES: Record<AccessRequestStatus, number> = { NEED_SIGNIN: 201, ACCEPTED: 200, REFUSED: 403, ERROR: 403 };

/** A request as the app (and the consent page) sees it, by state. */
export function requestView(config: Config, request: AccessRequest, serviceInfo: Record<string, unknown>): Record<string, unknown> {
  const code = STATUS_CODES[request.status];
  const info = request.serviceInfo ?? serviceInfo;
  switch (request.status) {
    case 'ACCEPTED':
      return {
        status: request.status,
        code,
        apiEndpoint: request.apiEndpoint,
        username: request.username,
        token: request.token,
        serviceInfo: info,
      };
    case 'REFUSED':
      return { status: request.status, code, reasonID: request.reasonID, message: request.message, serviceInfo: info };
    case 'ERROR':
      return { status: request.status, code, id: request.errorId, message: request.message, detail: request.detail, serviceInfo: info };
    default: {
      const authUrl = consentUrl(config, request);
      const out: Record<string, unknown> = {
        status: request.status,
        code,
        key: request.key,
        requestingAppId: request.requestingAppId,
        requestedPermissions: request.requestedPermissions,
        lang: request.lang,
        returnURL: request.returnURL,
        clientData: request.clientData,
        deviceName: request.deviceName,
        expireAfter: request.expireAfter,
        referer: request.referer,
        oauthState: request.oauthState,
        authUrl,
        url: authUrl, // deprecated alias, still read by older clients
        poll: pollUrl(config, request.key),
        poll_rate_ms: ACCESS_REQUEST_POLL_RATE_MS,
        serviceInfo: info,
      };
      for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
      return out;
    }
  }
}

/**
 * Who may accept: a live personal session of the user (the consent page after
 * auth.login), or — as Pryv's own consent app does it — the user's app access already
 * created for this very request (same app id and device name).
 */
export function acceptingAccessKind(request: AccessRequest, access: Access | undefined, now: number): 'personal' | 'app' {
  if (!access) throw errors.invalidAccessToken('The token does not open an access of this user.');
  assertAccessLive(access, now);
  if (access.type === 'personal') return 'personal';
  if (access.type === 'app' && access.name === request.requestingAppId && (access.deviceName ?? undefined) === request.deviceName) {
    return 'app';
  }
  throw errors.forbidden('Only a personal token, or the app access made for this request, can accept it.');
}

/** The accepted state of a request, with the granted app token. */
export function acceptedRequest(config: Config, request: AccessRequest, username: string, token: string): AccessRequest {
  return { ...request, status: 'ACCEPTED', username, token, apiEndpoint: apiEndpoint(config.publicUrl, username, token) };
}

/** The request answered without a grant. */
export function closedRequest(request: AccessRequest, answer: Exclude<AccessRequestAnswer, { status: 'ACCEPTED' }>): AccessRequest {
  if (answer.status === 'REFUSED') return { ...request, status: 'REFUSED', reasonID: answer.reasonID, message: answer.message };
  return {
    ...request,
    status: 'ERROR',
    errorId: answer.errorId,
    message: answer.message,
    ...(answer.detail ? { detail: answer.detail } : {}),
  };
}

export const alreadyAnswered = (request: AccessRequest) => invalidData(`This access request was already answered (${request.status}).`);
