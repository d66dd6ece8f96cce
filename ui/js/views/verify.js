// 8. Verify a file: a signed PDF or envelope.json, checked on this computer.
import * as ipc from '../ipc.js';
import { t } from '../i18n.js';
import { h } from '../dom.js';
import { busy, showError } from '../shell.js';
import { verdictBlock } from './document.js';

export async function render() {
  const errors = h('div', { class: 'errors' });
  const result = h('div', { class: 'result' });
  const choose = h('button', { type: 'button', class: 'primary' }, t('verify_choose'));
  choose.addEventListener('click', () => busy(async () => {
    errors.replaceChildren();
    try {
      const answer = await ipc.verifyFile();
      if (!answer) return;
      const heading = h('h2', { id: 'verify-result', tabindex: '-1' }, t('verify_result', { file: answer.file_name }));
      result.replaceChildren(h('section', { 'aria-labelledby': 'verify-result' }, heading, verdictBlock(answer.verdict)));
      heading.focus();
    } catch (err) {
      result.replaceChildren();
      showError(errors, err);
    }
  }, choose));
  return {
    node: h('section', { class: 'view', 'aria-labelledby': 'verify-title' },
      h('h1', { id: 'verify-title' }, t('verify_title')),
      h('p', { class: 'lead' }, t('verify_intro')),
      errors,
      h('div', { class: 'actions' }, choose),
      result),
  };
}
