// The server's identity could not be verified: a screen of its own, not a
// line of red text, because the right move is to stop. Plain advice first;
// "Try again" checks the connection and goes back only if it is trusted.
import * as ipc from '../ipc.js';
import { t } from '../i18n.js';
import { h } from '../dom.js';
import { app, show, busy, showError, announce } from '../shell.js';

export async function render({ err } = {}) {
  let problem = err;
  if (!problem) {
    const check = await busy(() => ipc.checkConnection());
    problem = check.ok ? null : check.error;
  }
  const errors = h('div', { class: 'errors' });
  const retry = h('button', { type: 'button', class: 'primary', id: 'trust-retry' }, t('trust_retry'));
  retry.addEventListener('click', () => busy(async () => {
    const check = await ipc.checkConnection();
    if (check.ok) {
      announce(t('trust_ok'));
      await show(app.state?.logged_in ? 'home' : 'welcome');
    } else {
      showError(errors, check.error ?? { code: 'unknown', message: '' });
    }
  }, retry));
  const node = h('section', { class: 'view trust', 'aria-labelledby': 'trust-title' },
    h('h1', { id: 'trust-title' }, t('trust_title')),
    problem ? h('p', { class: 'error', role: 'alert' }, problem.message) : null,
    h('h2', { id: 'advice-title' }, t('trust_advice_heading')),
    h('ul', { class: 'advice', 'aria-labelledby': 'advice-title' },
      [1, 2, 3, 4].map((n) => h('li', {}, t(`trust_advice_${n}`)))),
    app.state?.demo ? h('p', { class: 'notice' }, t('trust_demo_note')) : null,
    errors,
    h('div', { class: 'actions' }, retry,
      app.state?.demo ? h('button', { type: 'button', class: 'secondary', onclick: () => show('trainer') }, t('nav_trainer')) : null));
  return { node };
}
