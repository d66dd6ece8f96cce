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

/**
 * Started with --demo: the window shows while the demo is prepared (a few
 * seconds to create the accounts). The screen says so, the message is
 * announced once the heading has focus, and the demo's welcome follows.
 */
function preparing() {
  const errors = h('div', { class: 'errors' });
  const node = h('section', { class: 'view welcome', 'aria-labelledby': 'welcome-title', 'aria-busy': 'true' },
    h('h1', { id: 'welcome-title' }, t('welcome_title')),
    h('p', { class: 'lead' }, t('welcome_intro')),
    h('p', { class: 'preparing' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('demo_preparing')),
    errors);
  setTimeout(() => {
    announce(t('demo_preparing'));
    demoReady(errors);
  }, 0);
  return { node };
}

async function demoReady(errors) {
  try {
    app.state = await ipc.startDemo();
  } catch (err) {
    app.state = { ...(await ipc.appState()), demo_starting: false };
    await show('welcome');
    showError(document.querySelector('.welcome .errors') ?? errors, err);
    return;
  }
  updateChrome();
  await show('welcome');
  announce(t('demo_started'));
}

export async function render({ notice } = {}) {
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
      app.state = await ipc.startDemo();
      updateChrome();
      announce(t('demo_started'));
      await show('welcome');
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
  return { node };
}
