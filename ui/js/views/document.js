// 5. A document: its full text, "I have read it", Sign and Decline;
// 7. Signed: this app's own check of the signature, details, save the PDF.
import * as ipc from '../ipc.js';
import { t, formatTime, formatDate } from '../i18n.js';
import { h } from '../dom.js';
import { show, busy, showError, clearError, announce, confirmInline } from '../shell.js';

export function verdictBlock(verdict) {
  const word = verdict.valid ? t('verdict_valid') : verdict.demo ? t('verdict_demo') : t('verdict_invalid');
  const mark = verdict.valid ? '✓' : verdict.demo ? '!' : '✗';
  const kind = verdict.valid ? 'valid' : verdict.demo ? 'demo' : 'invalid';
  const d = verdict.details;
  return h('div', { class: `verdict verdict-${kind}` },
    h('p', { class: 'verdict-word' }, h('span', { 'aria-hidden': 'true', class: 'verdict-mark' }, mark), ' ', word),
    h('p', {}, verdict.message),
    d ? h('details', {},
      h('summary', {}, t('details')),
      h('dl', { class: 'details' },
        [[t('d_title'), d.title], [t('d_signer'), d.signer_name], [t('d_signed_at'), formatTime(d.signed_at)],
         [t('d_key'), d.signer_key_id], [t('d_root'), d.root_key_id], [t('d_sha'), d.content_sha256]]
          .map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, h('code', {}, v)))))) : null);
}

export const reading = {
  /** `err`: why the citizen is back here (the text changed since it was shown). */
  async render({ id, err: why }) {
    const errors = h('div', { class: 'errors' });
    let doc;
    try {
      doc = await busy(() => ipc.documentView(id));
    } catch (err) {
      const node = h('section', { class: 'view' }, h('h1', {}, t('nav_home')), errors,
        h('button', { type: 'button', onclick: () => show('home') }, t('back_home')));
      queueMicrotask(() => showError(errors, err));
      return { node };
    }
    const pending = doc.status === 'pending';
    const readBox = h('input', { id: 'read-confirm', type: 'checkbox' });
    const sign = h('button', { type: 'button', class: 'primary' }, t('sign'));
    const declineButton = h('button', { type: 'button', class: 'secondary' }, t('decline'));
    const confirmBox = h('div', { class: 'confirm' });

    sign.addEventListener('click', () => {
      clearError(errors, readBox);
      if (!readBox.checked) {
        showError(errors, { code: 'not_read', message: t('read_needed') }, readBox);
        return;
      }
      busy(async () => {
        try {
          const prompt = await ipc.beginSign(doc.id);
          await show('code', { prompt, documentId: doc.id });
        } catch (err) {
          // The server holds another text than the one shown: show the
          // document again (fetched anew) with the reason, to be read again.
          if (err.next?.step === 'changed') await show('document', { id: doc.id, err });
          else showError(errors, err);
        }
      }, sign);
    });
    declineButton.addEventListener('click', () => confirmInline(confirmBox, {
      idPrefix: 'decline',
      question: t('decline_confirm'),
      yes: t('decline_yes'),
      no: t('decline_no'),
      back: declineButton,
      onYes: async () => {
        try {
          const view = await ipc.decline(doc.id);
          announce(t('declined_ok'));
          await show('home', { view });
        } catch (err) {
          showError(errors, err);
        }
      },
    }));

    const node = h('section', { class: 'view document', 'aria-labelledby': 'doc-title' },
      h('h1', { id: 'doc-title' }, doc.title),
      h('dl', { class: 'doc-facts' },
        h('div', {}, h('dt', {}, t('doc_from')), h('dd', {}, doc.issuer)),
        h('div', {}, h('dt', {}, t('doc_date')), h('dd', {}, formatDate(doc.created_at)))),
      h('h2', { id: 'doc-text-title' }, t('doc_text')),
      h('article', { class: 'doc-text', tabindex: '0', 'aria-labelledby': 'doc-text-title' },
        doc.content.split(/\n{2,}/).map((para) => h('p', {}, para))),
      h('p', { class: 'doc-sha' }, `${t('doc_sha')}: `, h('code', {}, doc.sha256)),
      errors,
      pending
        ? h('section', { class: 'sign-step', 'aria-labelledby': 'read-title' },
            h('h2', { id: 'read-title' }, t('read_title')),
            h('div', { class: 'check' }, readBox, h('label', { for: 'read-confirm' }, t('read_confirm'))),
            h('div', { class: 'actions' }, sign, declineButton),
            confirmBox)
        : h('p', { class: 'notice' }, t('already', { status: t(`status_${doc.status}`).toLowerCase() })),
      h('div', { class: 'actions' }, h('button', { type: 'button', class: 'link-button', onclick: () => show('home') }, t('back_home'))));
    // Focus goes to the reason (a named alert), so a screen reader reads it first.
    return { node, focus: why ? showError(errors, why) : undefined };
  },
};

export const signed = {
  async render({ result, id }) {
    const errors = h('div', { class: 'errors' });
    let view = result;
    if (!view) {
      try {
        view = await busy(() => ipc.signed(id));
      } catch (err) {
        const node = h('section', { class: 'view' }, h('h1', {}, t('signed_title')), errors);
        queueMicrotask(() => showError(errors, err));
        return { node };
      }
    }
    const saved = h('div', { class: 'saved' });
    const save = h('button', { type: 'button', class: 'primary' }, t('save_pdf'));
    save.addEventListener('click', () => busy(async () => {
      try {
        const answer = await ipc.saveSigned(view.document_id);
        if (answer) {
          saved.replaceChildren(h('p', { role: 'status' }, t('saved', { path: answer.path })));
        }
      } catch (err) {
        showError(errors, err);
      }
    }, save));
    const node = h('section', { class: 'view signed', 'aria-labelledby': 'signed-title' },
      h('h1', { id: 'signed-title' }, t('signed_title')),
      h('p', { class: 'lead' }, t('signed_ok', { title: view.title })),
      h('h2', {}, t('check_heading')),
      verdictBlock(view.verdict),
      errors,
      h('div', { class: 'actions' }, save,
        h('button', { type: 'button', class: 'secondary', onclick: () => show('home') }, t('back_home'))),
      saved);
    return { node };
  },
};
