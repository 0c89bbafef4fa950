// The consent page of the access-request flow (spec §2.14): reads the request from its
// poll URL, signs the user in, lists what the app asks for in plain words, and answers.
import { $, ApiError, api, busy, queryParams, serviceInfo, setStatus, setupSignIn, showState, userRoot } from '../www/assets/api.js';
import { applyBranding } from '../www/assets/brand.js';
import { LEVEL_WORDS } from '../www/assets/words.js';

applyBranding();
const UNSAFE_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'blob:', 'file:']);
const SECONDS_PER_DAY = 86400;

const page = { poll: undefined, request: undefined, user: undefined };

function invalid(message) {
  $('invalid-reason').textContent = message;
  showState('invalid');
}

function fill(field, text) {
  for (const el of document.querySelectorAll(`[data-field="${field}"]`)) el.textContent = text;
}

/** The poll URL, only if it belongs to this server's access service (never another host's). */
function pollUrl(info) {
  const params = queryParams();
  const given = params.get('poll') ?? params.get('pollUrl');
  const key = params.get('key');
  const candidate = given ?? (key ? `${info.access}${key}` : undefined);
  if (!candidate) return undefined;
  if (!candidate.startsWith(info.access)) return undefined;
  const rest = candidate.slice(info.access.length);
  return /^[A-Za-z0-9]{10,200}$/.test(rest) ? candidate : undefined;
}

/** Why the link's access request cannot be polled: nothing named, another server's, or a key no request can have. */
function linkProblem(info) {
  const params = queryParams();
  const given = params.get('poll') ?? params.get('pollUrl');
  if (!given && !params.get('key')) return 'The link is incomplete: it names no access request (no "key" or "poll" parameter).';
  if (given && !given.startsWith(info.access))
    return 'The link names an access request of another server: open it again from the app that asked.';
  return 'This request has expired or does not exist.';
}

/** A URL's origin and path, or undefined for anything but http(s). */
function readableUrl(value) {
  if (typeof value !== 'string' || value === '') return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? `${url.origin}${url.pathname === '/' ? '' : url.pathname}` : undefined;
  } catch {
    return undefined;
  }
}

/** Where the request comes from, as far as the page can tell: its return URL, else the page that opened this one. */
function describeOrigin(request) {
  const back = readableUrl(request.returnURL);
  if (back) return `When you answer, you go back to ${back}.`;
  const opener = readableUrl(request.referer) ?? readableUrl(document.referrer);
  if (opener && new URL(opener).origin !== location.origin) return `The request was opened from ${new URL(opener).origin}.`;
  return 'The app did not say which web address it runs from.';
}

/** The app's own description, when it sends one the way Pryv's consent app reads it. */
function appDescription(request) {
  const entry = request.clientData?.['app-web-auth:description'];
  const text = typeof entry === 'string' ? entry : entry?.content;
  return typeof text === 'string' && text.trim() !== '' ? text.trim().slice(0, 500) : undefined;
}

function describePermission(p) {
  const li = document.createElement('li');
  const level = document.createElement('span');
  level.className = 'level';
  const what = document.createElement('span');
  if (p.feature) {
    level.textContent = `Setting: ${p.feature}`;
    what.textContent = p.setting === 'forbidden' ? 'not allowed' : 'allowed';
  } else {
    level.textContent = LEVEL_WORDS[p.level] ?? p.level;
    if (p.streamId === '*') {
      what.textContent = 'All your streams';
    } else {
      const name = p.name ?? p.defaultName ?? p.streamId;
      what.textContent = p.name ? `Stream “${name}”` : `Stream “${name}” (new, created if you accept)`;
      const id = document.createElement('span');
      id.className = 'stream-id';
      id.textContent = ` — id ${p.streamId}`;
      what.append(id);
    }
  }
  li.append(level, what);
  return li;
}

function listPermissions(permissions) {
  const list = $('permissions');
  list.replaceChildren(...permissions.map(describePermission));
  const extra = [];
  if (page.request.deviceName) extra.push(`Device: ${page.request.deviceName}.`);
  if (typeof page.request.expireAfter === 'number') {
    const days = page.request.expireAfter / SECONDS_PER_DAY;
    extra.push(
      days >= 1
        ? `The access ends after ${Math.round(days)} day(s).`
        : `The access ends after ${Math.round(page.request.expireAfter / 60)} minute(s).`,
    );
  }
  $('consent-extra').textContent = extra.join(' ');
}

/** The requested permissions with the names of the streams that exist (all do when the access exists). */
async function withStreamNames(info, username, token, permissions) {
  const { body } = await api('GET', `${userRoot(info, username)}streams`, { token });
  const names = new Map();
  const walk = (streams) => {
    for (const stream of streams) {
      names.set(stream.id, stream.name);
      walk(stream.children ?? []);
    }
  };
  walk(body.streams ?? []);
  return permissions.map((p) => (p.streamId && names.has(p.streamId) ? { ...p, name: names.get(p.streamId) } : p));
}

async function onSignedIn({ username, token }) {
  page.user = { username, token };
  fill('username', username);
  const info = await serviceInfo();
  // checkApp names the existing streams and says whether the app already has this access.
  let permissions = page.request.requestedPermissions;
  try {
    const { body } = await api('POST', `${userRoot(info, username)}accesses/check-app`, {
      token,
      body: {
        requestingAppId: page.request.requestingAppId,
        requestedPermissions: page.request.requestedPermissions,
        ...(page.request.deviceName ? { deviceName: page.request.deviceName } : {}),
        ...(page.request.clientData ? { clientData: page.request.clientData } : {}),
      },
    });
    if (body.matchingAccess) {
      $('consent-existing').hidden = false;
      permissions = await withStreamNames(info, username, token, permissions);
    } else if (body.checkedPermissions) {
      permissions = body.checkedPermissions;
    }
  } catch {
    // The list stays as the app sent it; accepting still checks everything server-side.
  }
  listPermissions(permissions);
  showState('consent');
}

function returnTo(status) {
  const target = page.request.returnURL;
  if (typeof target !== 'string' || target === '') return false;
  let url;
  try {
    url = new URL(target);
  } catch {
    return false;
  }
  if (UNSAFE_SCHEMES.has(url.protocol)) return false;
  const last = target.slice(-1);
  const joiner = last === '?' || last === '&' || last === '#' ? '' : target.includes('?') ? '&' : '?';
  const params = new URLSearchParams({ prYvkey: page.request.key, prYvstatus: status, prYvpoll: page.poll });
  location.assign(`${target}${joiner}${params}`);
  return true;
}

function finish(status) {
  const accepted = status === 'ACCEPTED';
  $('done-title').textContent = accepted ? 'Access given' : 'Access refused';
  $('done-message').textContent = accepted
    ? `${page.request.requestingAppId} can now use the access you gave.`
    : `${page.request.requestingAppId} did not get any access.`;
  showState('done');
  if (returnTo(status)) return;
  // Opened as a popup by the app: close it (browsers ignore this for other windows).
  if (window.opener) setTimeout(() => window.close(), 1500);
}

async function answer(body, status) {
  const section = document.querySelector('section[data-state]:not([hidden])');
  const statusElement = section.querySelector('.status');
  busy(section, true);
  setStatus(statusElement, status === 'ACCEPTED' ? 'Giving access…' : 'Refusing…');
  try {
    await api('POST', page.poll, { body, expect: (code, reply) => code === 200 || (code === 403 && reply?.status === status) });
    finish(status);
  } catch (err) {
    if (err instanceof ApiError && err.id === 'INVALID_KEY')
      return invalid('This request has expired. Go back to the app and start again.');
    if (err instanceof ApiError && err.id === 'INVALID_DATA') return invalid('This request was already answered.');
    setStatus(statusElement, err.message, 'error');
  } finally {
    busy(section, false);
  }
}

/** "Not you?": ends this sign-in (best effort) and asks for another one; the request stays open. */
async function switchAccount() {
  const user = page.user;
  page.user = undefined;
  $('consent-existing').hidden = true;
  if (user) {
    try {
      const info = await serviceInfo();
      await api('POST', `${userRoot(info, user.username)}auth/logout`, { token: user.token });
    } catch {
      // The token is forgotten here either way; an unreachable server ends it at expiry.
    }
  }
  $('signin-form').reset();
  showState('signin');
  setStatus($('signin-status'), 'Signed out. Sign in with your own account.', 'ok');
}

async function start() {
  let info;
  try {
    info = await serviceInfo();
  } catch (err) {
    return invalid(err.message);
  }
  page.poll = pollUrl(info);
  if (!page.poll) return invalid(linkProblem(info));
  try {
    const { body } = await api('GET', page.poll, {
      expect: (code, reply) => code < 300 || (code === 403 && typeof reply?.status === 'string'),
    });
    page.request = body;
  } catch (err) {
    return invalid(err.id === 'INVALID_KEY' ? 'This request has expired or does not exist.' : err.message);
  }
  if (page.request.status !== 'NEED_SIGNIN') return invalid('This request was already answered.');
  fill('app', page.request.requestingAppId);
  fill('app-origin', describeOrigin(page.request));
  const description = appDescription(page.request);
  if (description) {
    $('app-description').textContent = `The app says: “${description}”`;
    $('app-description').hidden = false;
  }

  setupSignIn({
    form: $('signin-form'),
    mfaForm: $('mfa-form'),
    status: $('signin-status'),
    mfaStatus: $('mfa-status'),
    onSignedIn,
  });
  $('accept-button').addEventListener('click', () =>
    answer({ status: 'ACCEPTED', username: page.user.username, token: page.user.token }, 'ACCEPTED'),
  );
  const refuse = () => answer({ status: 'REFUSED', reasonID: 'REFUSED_BY_USER', message: 'The user refused to give access.' }, 'REFUSED');
  $('refuse-button').addEventListener('click', refuse);
  $('cancel-button').addEventListener('click', refuse);
  $('switch-button').addEventListener('click', switchAccount);
  showState('signin');
}

start();
