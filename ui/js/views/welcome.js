// 1. Welcome: log in to the configured server, or start the demo.
import * as ipc from '../ipc.js';
import { t } from '../i18n.js';
import { h } from '../dom.js';
import { app, show, busy, showError, announce, updateChrome } from '../shell.js';

export function demoAccountsTable(accounts) {
  return h('table', { class: 'accounts' },
    h('caption', {}, t('demo_accounts_caption')),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, t('th_username')),
      h('th', { scope: 'col' }, t('th_password')),
      h('th', { scope: 'col' }, t('th_name')))),
    h('tbody', {}, accounts.map((a) => h('tr', {},
      h('td', {}, h('code', {}, a.username)),
      h('td', {}, h('code', {}, a.password)),
      h('td', {}, a.name)))));
}

/** Starts the demo (or waits for the one starting) and shows its welcome. */
async function enterDemo() {
  app.state = await ipc.startDemo();
  updateChrome();
  await show('welcome');
  announce(t('demo_started'));
}

// Started with --demo: the one wait for the demo being prepared, however
// often the preparing screen is drawn (a language switch draws it again).
let preparation = null;

/**
 * Started with --demo: the window shows while the demo is prepared (most of
 * a second to create the accounts). The screen says so, the sentence is
 * announced once the heading has focus, and the demo's welcome follows; if
 * the demo cannot start, the usual welcome with the error.
 */
function preparing() {
  const node = h('section', { class: 'view welcome', 'aria-labelledby': 'welcome-title', 'aria-busy': 'true' },
    h('h1', { id: 'welcome-title' }, t('welcome_title')),
    h('p', { class: 'lead' }, t('welcome_intro')),
    h('p', { class: 'preparing' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('demo_preparing')));
  if (!preparation) {
    setTimeout(() => announce(t('demo_preparing')), 0);
    preparation = enterDemo().catch(async (error) => {
      app.state = await ipc.appState();
      await show('welcome', { error });
    });
  }
  return { node };
}

export async function render({ notice, error } = {}) {
  const state = app.state;
  if (state.demo_starting && !state.demo) return preparing();
  const errors = h('div', { class: 'errors' });
  const loginButton = h('button', { type: 'button', id: 'start-login', class: 'primary' }, t('welcome_login'));
  loginButton.addEventListener('click', () => busy(async () => {
    try {
      if (!state.demo) app.state = await ipc.connect();
      // A session saved in the keyring may still be alive: then go straight home.
      await show(app.state.logged_in ? 'home' : 'login', { notices: app.state.notices });
    } catch (err) {
      showError(errors, err);
    }
  }, loginButton));
  const demoButton = h('button', { type: 'button', id: 'start-demo', class: state.server ? 'secondary' : 'primary' }, t('welcome_demo'));
  demoButton.addEventListener('click', () => busy(async () => {
    try {
      await enterDemo();
    } catch (err) {
      showError(errors, err);
    }
  }, demoButton));

  const node = h('section', { class: 'view welcome', 'aria-labelledby': 'welcome-title' },
    h('h1', { id: 'welcome-title' }, t('welcome_title')),
    notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
    h('p', { class: 'lead' }, t('welcome_intro')),
    errors,
    state.demo
      ? [h('div', { class: 'actions' }, loginButton),
         h('h2', {}, t('demo_accounts')),
         demoAccountsTable(state.demo_accounts)]
      : [state.server
          ? h('div', { class: 'choice' }, h('p', {}, t('welcome_server', { server: state.server })), loginButton)
          : h('p', {}, t('welcome_no_server')),
         h('div', { class: 'choice' }, h('p', {}, t('welcome_demo_hint')), demoButton)]);
  // A demo that could not start (--demo): said here, with focus on it.
  return { node, focus: error ? showError(errors, error) : undefined };
}
