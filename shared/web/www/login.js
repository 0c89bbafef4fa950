// Sign-in page: password, then the MFA code when the account has MFA on (spec §2.9, §2.13).
// The session token stays in memory only: closing the page forgets it.
import { $, api, serviceInfo, setStatus, setupSignIn, showState, userRoot } from './assets/api.js';

let session;

setupSignIn({
  form: $('signin-form'),
  mfaForm: $('mfa-form'),
  status: $('signin-status'),
  mfaStatus: $('mfa-status'),
  onSignedIn: async ({ username, token }) => {
    session = { username, token };
    for (const el of document.querySelectorAll('[data-field="username"]')) el.textContent = username;
    showState('signed-in');
  },
});

$('signout-button').addEventListener('click', async () => {
  if (!session) return;
  try {
    const info = await serviceInfo();
    await api('POST', `${userRoot(info, session.username)}auth/logout`, { token: session.token });
  } catch (err) {
    setStatus($('signout-status'), err.message, 'error');
    return;
  }
  session = undefined;
  showState('signin');
});
