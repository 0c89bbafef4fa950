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

function errorText(body, status) {
  const message = body?.error?.message ?? body?.message;
  if (status === 429) return message || 'Too many attempts: please wait a few minutes and try again.';
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
 * Wires a sign-in form and its MFA form. Resolves `onSignedIn({username, token})` once
 * the user is signed in: after the password, or after the MFA code when auth.login
 * answers with an `mfaToken` (spec §2.13).
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
      await onSignedIn({ username, token: body.token });
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
      await onSignedIn({ username, token: body.token });
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
