// Start-up: the app's state, the language, the display settings, then the
// first view. The header's buttons are wired here.
import * as ipc from './ipc.js';
import { setLang, currentLang, t } from './i18n.js';
import { app, show, currentView, registerView, applySettings, announce, updateChrome, sessionActive, sessionStopped, stayLoggedIn } from './shell.js';
import * as welcome from './views/welcome.js';
import * as login from './views/login.js';
import * as home from './views/home.js';
import * as documentViews from './views/document.js';
import * as verify from './views/verify.js';
import * as settings from './views/settings.js';
import * as about from './views/about.js';
import * as trainer from './views/trainer.js';
import * as guide from './views/guide.js';
import * as trust from './views/trust.js';

registerView('welcome', welcome);
registerView('login', login.credentials);
registerView('code', login.code);
registerView('blocked', login.blocked);
registerView('service-login', login.serviceLogin);
registerView('service-done', login.serviceDone);
registerView('service-link', login.serviceLink);
registerView('home', home);
registerView('document', documentViews.reading);
registerView('signed', documentViews.signed);
registerView('verify', verify);
registerView('settings', settings);
registerView('about', about);
registerView('trainer', trainer);
registerView('guide', guide);
registerView('trust', trust);

// Authenticated calls restart the idle clock; logging out stops it.
const SESSION_CALLS = new Set(['home', 'document', 'begin_sign', 'sign_code', 'decline', 'signed', 'save_signed', 'keep_alive', 'login_code']);
ipc.setOnCall((command) => {
  if (command === 'logout') sessionStopped();
  else if (SESSION_CALLS.has(command)) sessionActive();
});

// The server ended the session: back to the start, saying why.
ipc.setOnSessionEnded((err) => {
  sessionStopped();
  if (app.state) app.state.logged_in = false;
  queueMicrotask(() => show('welcome', { notice: err.message }));
});

// The server's identity could not be verified: stop and advise, whatever
// screen the citizen was on or going to. (The trust screen's own check
// answers a view, not an error, so this cannot loop.)
ipc.setOnUntrusted((err) => {
  queueMicrotask(() => show('trust', { err }));
});

async function start() {
  app.state = await ipc.appState();
  await setLang(app.state.settings.lang);
  applySettings(app.state.settings);
  if (app.state.demo) announce(t('demo_banner'));

  document.getElementById('nav').addEventListener('click', (event) => {
    const target = event.target.closest('[data-view]');
    if (target) show(target.dataset.view);
  });
  document.getElementById('logout').addEventListener('click', async () => {
    // Logging out always ends the session here, whatever the server says.
    try {
      app.state = await ipc.logout();
    } catch {
      if (app.state) app.state.logged_in = false;
    }
    sessionStopped();
    await show('welcome', { notice: t('logged_out') });
  });
  document.getElementById('lang-switch').addEventListener('click', async () => {
    const next = currentLang() === 'da' ? 'en' : 'da';
    try {
      app.state = await ipc.setSettings({ ...app.state.settings, lang: next });
      await setLang(next);
    } catch (err) {
      announce(err.message);
      return;
    }
    const { name, params } = currentView();
    await show(name, params);
  });
  document.getElementById('idle-stay').addEventListener('click', stayLoggedIn);
  // A login link reached the running app (src-tauri/lib.rs sends this event).
  window.addEventListener('kodekort-login-link', () => show('service-login', {}));
  // A new version found when the app started: the header says so. That
  // check may end before this page has loaded, or after: ask now, and again
  // when the shell says it found one (src-tauri/updates.rs).
  window.addEventListener('kodekort-update', updateFound);

  if (app.state.login_link) await show('service-login');
  else await show(app.state.logged_in ? 'home' : 'welcome');
  await updateFound();
}

async function updateFound() {
  const known = app.update?.available;
  try {
    app.update = await ipc.updateStatus();
  } catch {
    return;
  }
  updateChrome();
  if (app.update.available && app.update.available !== known) announce(t('update_ready', { version: app.update.available }));
}

start();
