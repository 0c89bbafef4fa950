import type { Config } from '../../config';
import { RegisterError } from '../../errors';
import { randomKey } from '../../ids';
import type { AccessRequest } from '../../model/access-requests';
import type { Permission } from '../../model/accesses';
import { USERNAME_PATTERN } from '../accounts/registration';
import { hasForbiddenChars } from '../streams/query';

/**
 * What apps and the consent page send in the access-request flow (spec §2.14), checked:
 * a new request (`POST /reg/access`) and its answer (`POST /reg/access/{key}`). Errors on
 * these routes speak the register service's flat format (spec §1.6).
 */

export const ACCESS_REQUEST_KEY_LENGTH = 16; // spec §8
const KEY_PATTERN = /^[a-zA-Z0-9]{10,200}$/; // v1 register's accepted keys (spec §2.14)
const APP_ID_MIN = 6; // spec §8: requestingAppId 6–99 characters, trimmed
const APP_ID_MAX = 99;
const LANGUAGE_MAX = 5;
const TEXT_MAX = 1000; // free texts of an answer (reason, message, detail) and device names
const TOKEN_MAX = 255; // spec §2.14: token length < 256
/** Largest request body kept: the item must fit DynamoDB's 400 KB, with the answer added later. */
export const ACCESS_REQUEST_MAX_BYTES = 64 * 1024;
const LEVELS = new Set(['read', 'contribute', 'manage', 'create-only', 'none']);
const FEATURE_SETTINGS = new Set(['forbidden', 'allowed']);
/** URL schemes a consent page must never navigate to (script execution on its origin). */
const UNSAFE_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'blob:', 'file:']);

export const invalidData = (message: string, detail?: string) => new RegisterError('INVALID_DATA', 400, message, detail);

export const unknownKey = () => new RegisterError('INVALID_KEY', 400, 'Unknown or expired access request key.');

export function checkKey(key: string): void {
  if (!KEY_PATTERN.test(key)) throw unknownKey();
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Requested permissions, checked now rather than at acceptance so the user never consents
 * to something that cannot be granted: stream permissions `{streamId, level, defaultName}`
 * (defaultName required except for `*`, as `accesses.checkApp` requires) or feature ones.
 */
export function checkPermissions(value: unknown): Permission[] {
  if (!Array.isArray(value)) throw invalidData('"requestedPermissions" must be an array.');
  return value.map((p, i) => {
    const at = `requestedPermissions[${i}]`;
    if (!isObject(p)) throw invalidData(`${at} must be an object.`);
    if (p.feature !== undefined) {
      const extra = Object.keys(p).filter((k) => k !== 'feature' && k !== 'setting');
      if (
        typeof p.feature !== 'string' ||
        p.feature === '' ||
        typeof p.setting !== 'string' ||
        !FEATURE_SETTINGS.has(p.setting) ||
        extra.length > 0
      ) {
        throw invalidData(`${at}: a feature permission is {feature, setting: "forbidden"|"allowed"}.`);
      }
      return { feature: p.feature, setting: p.setting };
    }
    const extra = Object.keys(p).filter((k) => !['streamId', 'level', 'defaultName', 'name'].includes(k));
    if (extra.length > 0) throw invalidData(`${at}: unknown field(s) ${extra.join(', ')}.`);
    if (typeof p.streamId !== 'string' || p.streamId === '' || hasForbiddenChars(p.streamId)) {
      throw invalidData(`${at}.streamId must be a valid stream id.`);
    }
    if (typeof p.level !== 'string' || !LEVELS.has(p.level)) {
      throw invalidData(`${at}.level must be one of ${[...LEVELS].join(', ')}.`);
    }
    const out: Permission = { streamId: p.streamId, level: p.level as Permission['level'] };
    if (p.streamId !== '*') {
      if (typeof p.defaultName !== 'string' || p.defaultName.trim() === '') {
        throw invalidData(`${at}.defaultName is required: the name of the stream if it must be created.`);
      }
      out.defaultName = p.defaultName.trim();
    }
    return out;
  });
}

/** A return URL the consent page may navigate to: an absolute URL whose scheme runs no script. */
function checkReturnUrl(value: unknown): string | false | null {
  if (value === undefined || value === null) return null;
  if (value === false) return false;
  if (typeof value !== 'string') throw invalidData('"returnURL" must be a URL.');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidData('"returnURL" must be an absolute URL.');
  }
  if (UNSAFE_SCHEMES.has(url.protocol)) throw invalidData('"returnURL" cannot use this scheme.');
  return value;
}

/** `authUrl` honoured only when it starts with a trusted prefix (the default page or TRUSTED_AUTH_URLS). */
function checkAuthUrl(config: Config, value: unknown): string {
  if (value === undefined || value === null || value === '') return config.authUrl;
  if (typeof value !== 'string') throw new RegisterError('INVALID_AUTH_URL', 400, '"authUrl" must be a URL.');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new RegisterError('INVALID_AUTH_URL', 400, '"authUrl" must be an absolute URL.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new RegisterError('INVALID_AUTH_URL', 400, '"authUrl" must be an http(s) URL.');
  }
  const trusted = [config.authUrl, ...config.trustedAuthUrls];
  if (!trusted.some((prefix) => value.startsWith(prefix))) {
    throw new RegisterError('UNTRUSTED_AUTH_URL', 400, `The authUrl "${value}" is not trusted.`);
  }
  return value;
}

/** Validates `POST /reg/access` (spec §2.14) into a new pending request. */
export function newAccessRequest(config: Config, body: unknown, now: number): AccessRequest {
  if (!isObject(body)) throw invalidData('The access request must be a JSON object.');
  if (Buffer.byteLength(JSON.stringify(body)) > ACCESS_REQUEST_MAX_BYTES) {
    throw invalidData(`The access request exceeds ${ACCESS_REQUEST_MAX_BYTES} bytes.`);
  }
  const appId = typeof body.requestingAppId === 'string' ? body.requestingAppId.trim() : '';
  if (appId.length < APP_ID_MIN || appId.length > APP_ID_MAX) {
    throw new RegisterError('INVALID_APP_ID', 400, `"requestingAppId" must be ${APP_ID_MIN} to ${APP_ID_MAX} characters.`);
  }
  const requestedPermissions = checkPermissions(body.requestedPermissions);
  const lang = body.languageCode ?? 'en';
  if (typeof lang !== 'string' || lang.length === 0 || lang.length > LANGUAGE_MAX) {
    throw new RegisterError('INVALID_LANGUAGE', 400, `"languageCode" must be 1 to ${LANGUAGE_MAX} characters.`);
  }
  const request: AccessRequest = {
    key: randomKey(ACCESS_REQUEST_KEY_LENGTH),
    status: 'NEED_SIGNIN',
    requestingAppId: appId,
    requestedPermissions,
    lang,
    returnURL: checkReturnUrl(body.returnURL),
    authBase: checkAuthUrl(config, body.authUrl),
    created: now,
    expires: now + config.accessRequestTtlS,
  };
  if (body.clientData !== undefined && body.clientData !== null) {
    if (!isObject(body.clientData)) throw invalidData('"clientData" must be an object.');
    request.clientData = body.clientData;
  }
  if (body.deviceName !== undefined && body.deviceName !== null) {
    if (typeof body.deviceName !== 'string' || body.deviceName.length > TEXT_MAX) {
      throw new RegisterError('INVALID_DEVICE_NAME', 400, '"deviceName" must be a string.');
    }
    if (body.deviceName !== '') request.deviceName = body.deviceName;
  }
  if (body.expireAfter !== undefined && body.expireAfter !== null) {
    if (typeof body.expireAfter !== 'number' || !Number.isFinite(body.expireAfter) || body.expireAfter < 0) {
      throw new RegisterError('INVALID_EXPIRE_AFTER', 400, '"expireAfter" must be a number of seconds (0 or more).');
    }
    request.expireAfter = body.expireAfter;
  }
  if (body.referer !== undefined && body.referer !== null) {
    if (typeof body.referer !== 'string' || body.referer.length > TEXT_MAX) {
      throw new RegisterError('INVALID_REFERER', 400, '"referer" must be a string.');
    }
    request.referer = body.referer;
  }
  if (body.oauthState !== undefined && body.oauthState !== null) {
    if (typeof body.oauthState !== 'string' || body.oauthState.length > TEXT_MAX) throw invalidData('"oauthState" must be a string.');
    request.oauthState = body.oauthState;
  }
  if (body.serviceInfo !== undefined && body.serviceInfo !== null) {
    if (!isObject(body.serviceInfo) || typeof body.serviceInfo.name !== 'string') {
      throw invalidData('"serviceInfo" must be an object with a "name".');
    }
    request.serviceInfo = body.serviceInfo;
  }
  return request;
}

function optionalText(body: Record<string, unknown>, field: string, fallback: string): string {
  const value = body[field];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string' || value.length > TEXT_MAX)
    throw invalidData(`"${field}" must be a string of at most ${TEXT_MAX} characters.`);
  return value;
}

/** What `POST /reg/access/{key}` asks for (spec §2.14). */
export type AccessRequestAnswer =
  | { status: 'ACCEPTED'; username: string; token: string }
  | { status: 'REFUSED'; reasonID: string; message: string }
  | { status: 'ERROR'; errorId: string; message: string; detail?: string };

export function parseAnswer(body: unknown): AccessRequestAnswer {
  if (!isObject(body)) throw invalidData('The answer must be a JSON object.');
  switch (body.status) {
    case 'ACCEPTED': {
      if (typeof body.username !== 'string' || !USERNAME_PATTERN.test(body.username)) {
        throw new RegisterError('INVALID_USER_NAME', 400, '"username" is not a valid username.');
      }
      if (typeof body.token !== 'string' || body.token.length === 0 || body.token.length > TOKEN_MAX) {
        throw invalidData('"token" must be a token.');
      }
      return { status: 'ACCEPTED', username: body.username, token: body.token };
    }
    case 'REFUSED':
      return {
        status: 'REFUSED',
        reasonID: optionalText(body, 'reasonID', 'REASON_UNDEFINED'),
        message: optionalText(body, 'message', ''),
      };
    case 'ERROR':
      return {
        status: 'ERROR',
        errorId: optionalText(body, 'id', 'INTERNAL_ERROR'),
        message: optionalText(body, 'message', ''),
        detail: optionalText(body, 'detail', '') || undefined,
      };
    default:
      return { status: 'ERROR', errorId: 'INTERNAL_ERROR', message: 'Unknown status code', detail: undefined };
  }
}
