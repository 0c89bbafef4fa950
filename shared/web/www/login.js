// Sign-in page: password, then the MFA code when the account has MFA on (spec §2.9, §2.13).
// The session is kept for this tab only (sessionStorage, see api.js), so the account app
// it links to opens signed in; closing the tab forgets it.
import { $, api, clearSession, loadSession, saveSession, serviceInfo, setStatus, setupSignIn, showState, userRoot } from './assets/api.js';
import { applyBranding } from './assets/brand.js';

applyBranding();
let session;

function signedIn(value) {
  session = value;
  for (const el of document.querySelectorAll('[data-field="username"]')) el.textContent = value.username;
  showState('signed-in');
}

setupSignIn({
  form: $('signin-form'),
  mfaForm: $('mfa-form'),
  status: $('signin-status'),
  mfaStatus: $('mfa-status'),
  onSignedIn: async (value) => {
    saveSession(value);
    signedIn(value);
  },
});

const kept = loadSession();
if (kept) signedIn(kept);

$('signout-button').addEventListener('click', async () => {
  if (!session) return;
  try {
    const info = await serviceInfo();
    await api('POST', `${userRoot(info, session.username)}auth/logout`, { token: session.token });
  } catch (err) {
    // An ended session is signed out already; anything else is said and kept.
    if (err.id !== 'invalid-access-token') {
      setStatus($('signout-status'), err.message, 'error');
      return;
    }
  }
  session = undefined;
  clearSession();
  showState('signin');
});
