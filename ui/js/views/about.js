// 10. About: the accessibility statement, and diagnostics (a connection
// check and a redacted report saved to a file).
import * as ipc from '../ipc.js';
import { t } from '../i18n.js';
import { h } from '../dom.js';
import { busy, showError } from '../shell.js';

export async function render() {
  const errors = h('div', { class: 'errors' });
  const result = h('div', { class: 'result' });
  const check = h('button', { type: 'button', class: 'secondary' }, t('check_connection'));
  check.addEventListener('click', () => busy(async () => {
    const answer = await ipc.checkConnection();
    result.replaceChildren(answer.ok
      ? h('p', { role: 'status' }, t('connection_ok', { server: answer.server, ms: answer.millis }))
      : h('p', { role: 'alert', class: 'error' }, t('connection_failed', { message: answer.error?.message ?? '' })));
  }, check));
  const report = h('button', { type: 'button', class: 'secondary' }, t('save_report'));
  report.addEventListener('click', () => busy(async () => {
    try {
      const answer = await ipc.saveDiagnostics();
      if (answer) result.replaceChildren(h('p', { role: 'status' }, t('report_saved', { path: answer.path })));
    } catch (err) {
      showError(errors, err);
    }
  }, report));
  return {
    node: h('section', { class: 'view', 'aria-labelledby': 'about-title' },
      h('h1', { id: 'about-title' }, t('about_title')),
      h('p', {}, t('version', { version: '0.1.0' })),
      h('h2', {}, t('a11y_heading')),
      h('p', {}, t('a11y_text')),
      h('h2', {}, t('diagnostics')),
      h('p', { class: 'muted' }, t('report_contents')),
      errors,
      h('div', { class: 'actions' }, check, report),
      result),
  };
}
