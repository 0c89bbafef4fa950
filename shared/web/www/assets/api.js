// Shared by every page: talking to the API of the origin that served the page, and the
// sign-in step (password, then an MFA code when the account asks for one).
// The pages only ever call their own origin: an app cannot point them at another server.

/** App id of the service's own pages (a login session per app id, spec §2.9). */
export const PAGES_APP_ID = 'pryv-web-pages';

export class ApiError extends Error {
  constructor(status, body) {
    super(errorText(body, status));
    this.status = status;
    this.body = body;
    this.id = body?.error?.id ?? body?.id;
  }
}

/**
 * Pryv error ids (spec §1.6) as sentences a person can act on. Pages say something more
 * precise where they know the context; the server's own message is the last resort.
 */
const ERROR_SENTENCES = {
  'invalid-access-token': 'Your sign-in has ended. Please sign in again.',
  'invalid-credentials': 'Wrong username or password.',
  forbidden: 'You are not allowed to do this.',
  'unknown-resource': 'This was not found: it may have been removed already.',
  'unknown-referenced-resource': 'Something this refers to no longer exists. Reload the page and try again.',
  'item-already-exists': 'Something with the same name already exists. Choose another name.',
  'invalid-parameters-format': 'Some of the values given are not valid.',
  'invalid-request-structure': 'The request was not understood. Reload the page and try again.',
  'api-unavailable': 'The service is busy or down for a moment. Please try again shortly.',
  'unexpected-error': 'Something went wrong on the server. Please try again later.',
};

function errorText(body, status) {
  const id = body?.error?.id ?? body?.id;
  const message = body?.error?.message ?? body?.message;
  if (status === 429 || id === 'too-many-attempts') {
    const wait = Number(body?.error?.data?.retryAfterSeconds);
    const minutes = Number.isFinite(wait) && wait > 0 ? Math.ceil(wait / 60) : undefined;
    return minutes
      ? `Too many attempts: please wait ${minutes} minute${minutes === 1 ? '' : 's'} and try again.`
      : 'Too many attempts: please wait a few minutes and try again.';
  }
  // invalid-operation messages are the server's sentence for the rule that was broken.
  if (id === 'invalid-operation' && message) return message;
  if (id && ERROR_SENTENCES[id]) return ERROR_SENTENCES[id];
  if (status >= 500) return ERROR_SENTENCES['unexpected-error'];
  return message || `The server answered with an error (${status}).`;
}

/** One JSON call; resolves to the body, throws ApiError on a non-2xx answer. */
export async function api(method, url, { token, body, expect } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, { message: 'The server cannot be reached. Check your connection and try again.' });
  }
  let parsed;
  try {
    parsed = await response.json();
  } catch {
    parsed = undefined;
  }
  const accepted = expect ?? ((status) => status >= 200 && status < 300);
  if (!accepted(response.status, parsed)) throw new ApiError(response.status, parsed);
  return { status: response.status, body: parsed };
}

let infoPromise;
/** This server's service info (spec §1.2). */
export function serviceInfo() {
  infoPromise ??= api('GET', new URL('/reg/service/info', location.origin).toString()).then((r) => r.body);
  return infoPromise;
}

/** The API root of a user: service info's `api` template. */
export function userRoot(info, username) {
  return info.api.replace('{username}', encodeURIComponent(username));
}

export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9-]{3,58}[a-z0-9]$/;

// ---- the signed-in session of this tab ----

/*
 * The personal token of the service's own pages lives in this tab's sessionStorage (as
 * long as the tab, never in a URL, cookie or log): the account app survives a reload and
 * the login page can hand over to it, while closing the tab forgets it. The pages' CSP
 * runs no script but their own, which is what guards this storage.
 */
const SESSION_KEY = 'pryv-pages-session';

/** Keeps `{username, token, mfa}` for this tab. */
export function saveSession({ username, token, mfa = false }) {
  try {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({ username, token, mfa }));
  } catch {
    // Storage refused (private mode quotas): the page still works until it is reloaded.
  }
}

export function loadSession() {
  try {
    const value = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null');
    return value && typeof value.username === 'string' && typeof value.token === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

export function clearSession() {
  try {
    sessionStorage.removeItem(SESSION_KEY);
  } catch {
    // nothing kept
  }
}

// ---- small DOM helpers ----

export const $ = (id) => document.getElementById(id);

export function show(...elements) {
  for (const el of elements) el.hidden = false;
}

export function hide(...elements) {
  for (const el of elements) el.hidden = true;
}

/** Shows one of a page's sections (each a <section data-state="…">) and hides the others. */
export function showState(name) {
  for (const section of document.querySelectorAll('[data-state]')) section.hidden = section.dataset.state !== name;
  document.body.dataset.currentState = name;
  const heading = document.querySelector(`[data-state="${name}"] h1, [data-state="${name}"] h2`);
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
}

/** Writes a message into a status element (an aria-live region). */
export function setStatus(element, message, kind = '') {
  element.textContent = message;
  element.className = `status ${kind}`.trim();
}

export function busy(form, isBusy) {
  for (const el of form.querySelectorAll('button, input')) el.disabled = isBusy;
}

export function queryParams() {
  return new URLSearchParams(location.search);
}

// ---- sign-in with the optional MFA step ----

/**
 * Wires a sign-in form and its MFA form. Resolves `onSignedIn({username, token, mfa})`
 * once the user is signed in: after the password, or after the MFA code when auth.login
 * answers with an `mfaToken` (spec §2.13); `mfa` says which (the API has no call that
 * tells whether MFA is on, so the account app starts from this).
 */
export function setupSignIn({ form, mfaForm, status, mfaStatus, appId = PAGES_APP_ID, onSignedIn, onMfa }) {
  let pending; // {username, mfaToken, root}

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const username = form.elements.username.value.trim().toLowerCase();
    const password = form.elements.password.value;
    if (!USERNAME_PATTERN.test(username)) {
      setStatus(status, 'Enter your username: 5 to 60 lowercase letters, digits or dashes.', 'error');
      form.elements.username.focus();
      return;
    }
    if (!password) {
      setStatus(status, 'Enter your password.', 'error');
      form.elements.password.focus();
      return;
    }
    busy(form, true);
    setStatus(status, 'Signing in…');
    try {
      const info = await serviceInfo();
      const root = userRoot(info, username);
      const { body } = await api('POST', `${root}auth/login`, { body: { username, password, appId } });
      form.elements.password.value = '';
      if (body.mfaToken) {
        pending = { username, mfaToken: body.mfaToken, root };
        setStatus(status, '');
        if (onMfa) onMfa();
        hide(form);
        show(mfaForm);
        mfaForm.elements.code.focus();
        return;
      }
      setStatus(status, '');
      await onSignedIn({ username, token: body.token, mfa: false });
    } catch (err) {
      setStatus(status, loginError(err), 'error');
    } finally {
      busy(form, false);
    }
  });

  if (!mfaForm) return;
  mfaForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!pending) return;
    const code = mfaForm.elements.code.value.trim();
    if (!/^\d{4,10}$/.test(code)) {
      setStatus(mfaStatus, 'Enter the code: digits only.', 'error');
      return;
    }
    busy(mfaForm, true);
    setStatus(mfaStatus, 'Checking the code…');
    try {
      const { body } = await api('POST', `${pending.root}mfa/verify`, { token: pending.mfaToken, body: { code } });
      const { username } = pending;
      pending = undefined;
      mfaForm.elements.code.value = '';
      setStatus(mfaStatus, '');
      hide(mfaForm);
      show(form);
      await onSignedIn({ username, token: body.token, mfa: true });
    } catch (err) {
      if (err.status === 401) {
        pending = undefined;
        hide(mfaForm);
        show(form);
        setStatus(status, 'The sign-in expired: please sign in again.', 'error');
      } else {
        setStatus(mfaStatus, err.status === 400 ? 'This code is not valid. Try again.' : err.message, 'error');
      }
    } finally {
      busy(mfaForm, false);
    }
  });

  const resend = mfaForm.querySelector('[data-action="resend"]');
  resend?.addEventListener('click', async () => {
    if (!pending) return;
    try {
      await api('POST', `${pending.root}mfa/challenge`, { token: pending.mfaToken });
      setStatus(mfaStatus, 'A new code was sent.', 'ok');
    } catch (err) {
      setStatus(mfaStatus, err.message, 'error');
    }
  });
}

function loginError(err) {
  if (err.status === 401 || err.status === 404) return 'Wrong username or password.';
  return err.message;
}
