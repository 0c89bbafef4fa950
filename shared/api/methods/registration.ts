import { apiEndpoint } from '../../domain/accesses/api-endpoint';
import { hashPassword } from '../../domain/accounts/passwords';
import {
  checkInvitationToken,
  createUser,
  RESERVED_USERNAMES,
  USERNAME_PATTERN,
  validateRegistration,
} from '../../domain/accounts/registration';
import { errors, PryvError, RegisterError } from '../../errors';
import { LIMITS } from '../../limits';
import { userExists, usernameForEmail } from '../../store/accounts';
import { defineMethod } from '../types';

/**
 * `auth.register` (spec §2.15): `POST /users`, `POST /reg/users` (what the `pryv` library
 * posts to) and the legacy `POST /reg/user`, whose `appid` field is read as `appId`.
 */
export const authRegister = /* @__PURE__ */ defineMethod<Record<string, unknown>>({
  id: 'auth.register',
  routes: [
    { verb: 'POST', path: '/users' },
    { verb: 'POST', path: '/reg/users' },
    { verb: 'POST', path: '/reg/user' },
  ],
  auth: 'none',
  batchable: false,
  status: 201,
  params: { type: 'object' },
  httpParams: (request) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body)) return body;
    if (body.appId === undefined && body.appid !== undefined) return { ...body, appId: body.appid };
    return body;
  },
  run: async (ctx, body) => {
    const input = validateRegistration(body, { passwordField: 'password', appIdRequired: true });
    checkInvitationToken(ctx.config, input.invitationToken);
    const passwordHash = await hashPassword(input.password!);
    const { access } = await createUser({ ...input, passwordHash }, ctx.now, ctx.config.sessionMaxAgeS);
    return { username: input.username, apiEndpoint: apiEndpoint(ctx.config.publicUrl, input.username, access?.token) };
  },
});

function decoded(value: string | undefined): string {
  if (value === undefined) return '';
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function checkUsernameFormat(username: string): void {
  if (!USERNAME_PATTERN.test(username)) {
    throw errors.invalidParametersFormat("The parameters' format is invalid.", [
      {
        code: 'username-invalid',
        message: 'Username must be 5-60 lowercase letters, digits or dashes.',
        path: '#/username',
        param: 'username',
      },
    ]);
  }
}

export const authUsernameCheck = /* @__PURE__ */ defineMethod({
  id: 'auth.usernameCheck',
  routes: [{ verb: 'GET', path: '/reg/{key}/check_username' }],
  auth: 'none',
  batchable: false,
  params: { type: 'object' },
  httpParams: (request) => ({ username: decoded(request.pathParams.key) }),
  run: async (_ctx, params: { username: string }) => {
    checkUsernameFormat(params.username);
    const reserved = RESERVED_USERNAMES.has(params.username) || (await userExists(params.username));
    return { reserved };
  },
});

/** Core single-node behaviour (spec §9.8): free → `{reserved:false}`, taken → 409. */
export const authEmailCheck = /* @__PURE__ */ defineMethod({
  id: 'auth.emailCheck',
  routes: [{ verb: 'GET', path: '/reg/{key}/check_email' }],
  auth: 'none',
  batchable: false,
  params: { type: 'object' },
  httpParams: (request) => ({ email: decoded(request.pathParams.key) }),
  run: async (_ctx, params: { email: string }) => {
    if (params.email.length > LIMITS.emailMaxLength) {
      throw errors.invalidParametersFormat("The parameters' format is invalid.", [
        { code: 'email-invalid', message: `Email must be at most ${LIMITS.emailMaxLength} characters.`, path: '#/email', param: 'email' },
      ]);
    }
    if ((await usernameForEmail(params.email)) !== undefined) {
      throw errors.itemAlreadyExists('user', { email: params.email });
    }
    return { reserved: false };
  },
});

/** `GET /reg/{email}/username` and its deprecated alias `/uid` (the `pryv` library's `userIdForEmail`). */
function emailLookup(id: string, path: string, field: 'username' | 'uid') {
  return defineMethod({
    id,
    routes: [{ verb: 'GET', path }],
    auth: 'none',
    batchable: false,
    params: { type: 'object' },
    httpParams: (request) => ({ email: decoded(request.pathParams.key) }),
    run: async (_ctx, params: { email: string }) => {
      // No account has an email that long: unknown, without a lookup.
      const username = params.email.length > LIMITS.emailMaxLength ? undefined : await usernameForEmail(params.email);
      if (username === undefined) throw new RegisterError('UNKNOWN_EMAIL', 404, 'Unknown email address.');
      return { [field]: username };
    },
  });
}

export const regUsernameForEmail = /* @__PURE__ */ emailLookup('reg.usernameForEmail', '/reg/{key}/username', 'username');
export const regUidForEmail = /* @__PURE__ */ emailLookup('reg.uidForEmail', '/reg/{key}/uid', 'uid');

/** Where a user lives; single node: here. `POST` answers JSON, `GET` redirects. */
export const regServer = /* @__PURE__ */ defineMethod({
  id: 'reg.server',
  routes: [
    { verb: 'POST', path: '/reg/{key}/server' },
    { verb: 'GET', path: '/reg/{key}/server' },
  ],
  auth: 'none',
  batchable: false,
  params: { type: 'object' },
  httpParams: (request) => ({ username: decoded(request.pathParams.key) }),
  run: async (ctx, params: { username: string }) => {
    if (!USERNAME_PATTERN.test(params.username) || !(await userExists(params.username))) {
      throw new PryvError('unknown-user', 404, `Unknown user "${params.username}".`);
    }
    const server = `${ctx.config.publicUrl}/`;
    if (ctx.request.verb === 'GET') {
      ctx.response.status = 302;
      ctx.response.headers.Location = `${server}${params.username}/`;
    }
    return { server, alias: server };
  },
});

export const regCores = /* @__PURE__ */ defineMethod({
  id: 'reg.cores',
  routes: [{ verb: 'GET', path: '/reg/cores' }],
  auth: 'none',
  batchable: false,
  params: {
    type: 'object',
    properties: { username: { type: 'string', minLength: 1 }, email: { type: 'string', minLength: 1 } },
    oneOf: [{ required: ['username'] }, { required: ['email'] }],
  },
  run: async (ctx) => ({ core: { url: `${ctx.config.publicUrl}/` } }),
});

/** One region, one zone, one `default` hosting: this node (what the `pryv` library expects). */
export const regHostings = /* @__PURE__ */ defineMethod({
  id: 'reg.hostings',
  routes: [{ verb: 'GET', path: '/reg/hostings' }],
  auth: 'none',
  batchable: false,
  params: { type: 'object' },
  run: async (ctx) => ({
    regions: {
      region1: {
        name: 'Region 1',
        localizedName: { en: 'Region 1' },
        zones: {
          zone1: {
            name: 'Zone 1',
            localizedName: { en: 'Zone 1' },
            hostings: {
              default: {
                url: ctx.config.publicUrl,
                name: ctx.config.serviceName,
                description: 'This server',
                localizedDescription: { en: 'This server' },
                available: true,
                availableCore: `${ctx.config.publicUrl}/`,
              },
            },
          },
        },
      },
    },
  }),
});
