// 4. Home: the documents by status, the card panel, log out (in the header).
import * as ipc from '../ipc.js';
import { t, formatClock, formatDate } from '../i18n.js';
import { h } from '../dom.js';
import { show, busy, showError, sessionActive, noticeList } from '../shell.js';

function documentList(id, heading, items) {
  return h('section', { class: 'doc-group', 'aria-labelledby': id },
    h('h2', { id }, heading, ' ', h('span', { class: 'count' }, `(${items.length})`)),
    items.length === 0
      ? h('p', { class: 'muted' }, t('none'))
      : h('ul', { class: 'doc-list' }, items.map((d) => h('li', {},
          h('button', { type: 'button', class: 'doc-link', dataset: { id: d.id },
            onclick: () => show(d.status === 'signed' ? 'signed' : 'document', { id: d.id }) },
            h('span', { class: 'doc-title' }, d.title),
            h('span', { class: 'visually-hidden' }, ` (${t(`status_${d.status}`)})`)),
          h('p', { class: 'doc-meta' }, `${t('from')}: ${d.issuer} · ${t('received')}: ${formatDate(d.created_at)}`)))));
}

function cardPanel(card) {
  const percent = card.total ? Math.round((card.remaining / card.total) * 100) : 0;
  const stateText = card.status === 'locked'
    ? t('card_state_locked')
    : card.status === 'used_up'
      ? t('card_state_used_up')
      : card.locked_until
        ? t('card_state_waiting', { time: formatClock(card.locked_until) })
        : t('card_state_active');
  return h('section', { class: 'card-panel', 'aria-labelledby': 'card-title' },
    h('h2', { id: 'card-title' }, t('card_panel')),
    h('p', { class: 'card-serial' }, t('card_serial', { serial: card.serial })),
    h('p', { id: 'card-count', class: 'card-count' }, t('card_count', { remaining: card.remaining, total: card.total })),
    h('progress', { max: String(card.total), value: String(card.remaining), 'aria-label': t('card_progress', { serial: card.serial }),
      'aria-valuetext': t('card_count', { remaining: card.remaining, total: card.total }), class: percent < 20 ? 'low' : '' }),
    h('p', { class: `card-state state-${card.status}` }, stateText),
    card.replacement_serial ? h('p', { class: 'notice' }, t('replacement', { serial: card.replacement_serial })) : null);
}

export async function render({ view, notices } = {}) {
  const errors = h('div', { class: 'errors' });
  let data = view;
  if (!data) {
    try {
      data = await busy(() => ipc.home());
    } catch (err) {
      const node = h('section', { class: 'view' }, h('h1', {}, t('home_title')), errors);
      queueMicrotask(() => showError(errors, err));
      return { node };
    }
  }
  sessionActive(data.idle_timeout_s);
  const node = h('section', { class: 'view home', 'aria-labelledby': 'home-title' },
    h('h1', { id: 'home-title' }, t('home_title')),
    h('p', { class: 'lead' }, t('hello', { name: data.name })),
    noticeList(data.notices?.length ? data.notices : notices),
    errors,
    h('div', { class: 'home-columns' },
      h('div', { class: 'documents' },
        documentList('pending-title', t('pending'), data.pending),
        documentList('signed-title', t('signed_h'), data.signed),
        documentList('declined-title', t('declined_h'), data.declined)),
      cardPanel(data.card)));
  return { node };
}
