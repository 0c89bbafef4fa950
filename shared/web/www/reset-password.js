// Password reset (spec §2.8): ask for a link (by username or email), then, from the
// link's `username` and `resetToken`, set the new password.
import { $, api, busy, PAGES_APP_ID, queryParams, serviceInfo, setStatus, showState, USERNAME_PATTERN, userRoot } from './assets/api.js';
import { applyBranding } from './assets/brand.js';

applyBranding();

const PASSWORD_MIN = 6; // spec §8
const PASSWORD_MAX = 100;

async function usernameFor(account) {
  if (!account.includes('@')) return account.toLowerCase();
  const info = await serviceInfo();
  try {
    const { body } = await api('GET', `${info.register}${encodeURIComponent(account)}/username`);
    return body.username;
  } catch {
    return undefined; // say nothing about which emails exist
  }
}

function setupRequest() {
  const form = $('request-form');
  const status = $('request-status');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const account = form.elements.account.value.trim();
    if (!account) {
      setStatus(status, 'Enter your username or email.', 'error');
      return;
    }
    busy(form, true);
    setStatus(status, 'Sending…');
    try {
      const username = await usernameFor(account);
      if (username && USERNAME_PATTERN.test(username)) {
        const info = await serviceInfo();
        try {
          await api('POST', `${userRoot(info, username)}account/request-password-reset`, { body: { appId: PAGES_APP_ID } });
        } catch (err) {
          // An unknown account gets the same answer as a known one.
          if (err.status !== 404) throw err;
        }
      }
      showState('requested');
    } catch (err) {
      setStatus(status, err.message, 'error');
    } finally {
      busy(form, false);
    }
  });
}

function setupReset(username, resetToken) {
  for (const el of document.querySelectorAll('[data-field="username"]')) el.textContent = username;
  const form = $('reset-form');
  const status = $('reset-status');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const newPassword = form.elements.newPassword.value;
    if (newPassword.length < PASSWORD_MIN || newPassword.length > PASSWORD_MAX) {
      setStatus(status, 'The password must be 6 to 100 characters.', 'error');
      form.elements.newPassword.focus();
      return;
    }
    if (newPassword !== form.elements.newPasswordAgain.value) {
      setStatus(status, 'The two passwords differ.', 'error');
      form.elements.newPasswordAgain.focus();
      return;
    }
    busy(form, true);
    setStatus(status, 'Changing the password…');
    try {
      const info = await serviceInfo();
      await api('POST', `${userRoot(info, username)}account/reset-password`, {
        body: { resetToken, newPassword, appId: PAGES_APP_ID },
      });
      form.reset();
      // The token is single-use: drop it from the address bar and history.
      history.replaceState(null, '', location.pathname);
      showState('done');
    } catch (err) {
      if (err.status === 401 || err.status === 404) {
        $('invalid-reason').textContent = 'The link has expired or was already used.';
        showState('invalid');
      } else {
        setStatus(status, err.body?.error?.data?.[0]?.message ?? err.message, 'error');
      }
    } finally {
      busy(form, false);
    }
  });
  showState('reset');
}

const params = queryParams();
const username = params.get('username');
const resetToken = params.get('resetToken');
setupRequest();
if (resetToken) {
  if (username && USERNAME_PATTERN.test(username)) setupReset(username, resetToken);
  else {
    $('invalid-reason').textContent = 'The link is incomplete.';
    showState('invalid');
  }
}
