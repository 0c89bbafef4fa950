// Registration page: POST /users (spec §2.15) with the fields' own error messages.
import { $, api, busy, PAGES_APP_ID, serviceInfo, setStatus, showState, USERNAME_PATTERN } from './assets/api.js';
import { applyBranding } from './assets/brand.js';

applyBranding();

const PASSWORD_MIN = 6; // spec §8
const PASSWORD_MAX = 100;
const form = $('register-form');
const status = $('register-status');

function check(values) {
  if (!USERNAME_PATTERN.test(values.username)) return ['username', 'The username must be 5 to 60 lowercase letters, digits or dashes.'];
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(values.email)) return ['email', 'Enter a valid email address.'];
  if (values.password.length < PASSWORD_MIN || values.password.length > PASSWORD_MAX)
    return ['password', 'The password must be 6 to 100 characters.'];
  if (values.password !== values.passwordAgain) return ['passwordAgain', 'The two passwords differ.'];
  return undefined;
}

/** Pryv's registration errors name the field (data[].param) and the problem (code). */
function registrationError(err) {
  const details = Array.isArray(err.body?.error?.data) ? err.body.error.data : [];
  const conflict = err.body?.error?.data && !Array.isArray(err.body.error.data) ? err.body.error.data : undefined;
  if (err.status === 409 && conflict?.username) return 'This username is already taken.';
  if (err.status === 409 && conflict?.email) return 'This email is already used by another account.';
  if (details.length > 0) return details.map((d) => d.message).join(' ');
  return err.message;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const values = {
    username: form.elements.username.value.trim().toLowerCase(),
    email: form.elements.email.value.trim(),
    password: form.elements.password.value,
    passwordAgain: form.elements.passwordAgain.value,
    invitationToken: form.elements.invitationToken.value.trim(),
  };
  const problem = check(values);
  if (problem) {
    setStatus(status, problem[1], 'error');
    form.elements[problem[0]].focus();
    return;
  }
  busy(form, true);
  setStatus(status, 'Creating the account…');
  try {
    const info = await serviceInfo();
    await api('POST', `${info.register}users`, {
      body: {
        appId: PAGES_APP_ID,
        username: values.username,
        email: values.email,
        password: values.password,
        language: (navigator.language || 'en').slice(0, 2),
        ...(values.invitationToken ? { invitationToken: values.invitationToken } : {}),
      },
    });
    form.reset();
    for (const el of document.querySelectorAll('[data-field="username"]')) el.textContent = values.username;
    showState('done');
  } catch (err) {
    setStatus(status, registrationError(err), 'error');
  } finally {
    busy(form, false);
  }
});
