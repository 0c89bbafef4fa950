// The account app: one page, four views (#apps, #activity, #data, #security) over the
// public API with the person's own personal token (sign-in as on the other pages, MFA
// included). The token is kept for this tab only (see api.js); URLs carry view names only.
import { $, api, clearSession, loadSession, saveSession, serviceInfo, setStatus, setupSignIn, showState } from '../www/assets/api.js';
import { applyBranding } from '../www/assets/brand.js';
import * as accesses from './accesses.js';
import * as activity from './activity.js';
import { call, ctx, refresh, setRoot } from './context.js';
import * as data from './data.js';
import * as security from './security.js';

const VIEWS = { apps: accesses, activity, data, security };
const DEFAULT_VIEW = 'apps';
const VIEW_TITLES = { apps: 'Apps and shares', activity: 'Activity', data: 'My data', security: 'Security' };
let pageTitle = document.title; // with the service's name once branded

function currentView() {
  const name = location.hash.replace(/^#/, '');
  return VIEWS[name] ? name : DEFAULT_VIEW;
}

async function openView(focus = true) {
  const name = currentView();
  for (const panel of document.querySelectorAll('[data-view]')) panel.hidden = panel.dataset.view !== name;
  for (const link of document.querySelectorAll('[data-view-link]')) {
    if (link.dataset.viewLink === name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${VIEW_TITLES[name]} · ${pageTitle}`;
  if (focus) document.querySelector(`[data-view="${name}"] h1`)?.focus();
  await VIEWS[name].show();
}

function signedInChrome(on) {
  $('session-bar').hidden = !on;
  $('views-nav').hidden = !on;
  for (const el of document.querySelectorAll('[data-field="username"]')) el.textContent = on ? ctx.session.username : '';
}

/** Back to the sign-in form, saying why. */
function toSignIn(message, kind = '') {
  clearSession();
  ctx.session = undefined;
  ctx.self = undefined;
  ctx.lastSeen.clear();
  signedInChrome(false);
  showState('signin');
  setStatus($('signin-status'), message ?? '', kind);
}

async function enter(session) {
  ctx.session = session;
  ctx.info = await serviceInfo();
  setRoot();
  const self = await call('GET', 'access-info');
  if (self.type !== 'personal') throw new Error('This page needs a personal sign-in.');
  ctx.self = self;
  await refresh();
  signedInChrome(true);
  showState('account');
  await openView(true);
}

async function start() {
  await applyBranding();
  pageTitle = document.title;
  for (const view of Object.values(VIEWS)) view.init();
  ctx.onSessionEnded = () => toSignIn('Your sign-in has ended. Please sign in again.', 'error');
  ctx.onSignedOut = (message) => toSignIn(message, 'ok');
  ctx.onErased = (username) => {
    ctx.session = undefined;
    signedInChrome(false);
    $('erased-message').textContent = `Everything of “${username}” was removed, and you are signed out.`;
    showState('erased');
  };

  setupSignIn({
    form: $('signin-form'),
    mfaForm: $('mfa-form'),
    status: $('signin-status'),
    mfaStatus: $('mfa-status'),
    onSignedIn: async (session) => {
      saveSession(session);
      try {
        await enter(session);
      } catch (err) {
        toSignIn(err.message, 'error');
      }
    },
  });

  $('signout-button').addEventListener('click', async () => {
    try {
      await api('POST', `${ctx.root}auth/logout`, { token: ctx.session.token });
    } catch (err) {
      if (err.id !== 'invalid-access-token') {
        setStatus($('session-status'), err.message, 'error');
        return;
      }
    }
    toSignIn('You are signed out.', 'ok');
  });

  window.addEventListener('hashchange', () => {
    if (ctx.session && ctx.self) openView(true);
  });

  const kept = loadSession();
  if (!kept) return showState('signin');
  try {
    await enter(kept);
  } catch (err) {
    if (err.id === 'invalid-access-token') return; // onSessionEnded showed the sign-in
    toSignIn(err.message, 'error');
  }
}

start();
