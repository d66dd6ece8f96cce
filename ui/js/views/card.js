// The demo code card on screen: a real table with row and column headers,
// laid out in four key/code column pairs like the printed card, and a
// "find key" field that answers in words ("Key 0423: code 123456"), for
// learners who cannot scan a grid.
import { t } from '../i18n.js';
import { h, uid } from '../dom.js';
import { visitThenReturn } from '../shell.js';

const COLUMNS = 4;

function cardTable(card) {
  const rows = Math.ceil(card.pairs.length / COLUMNS);
  const header = [];
  for (let c = 0; c < COLUMNS; c += 1) {
    header.push(h('th', { scope: 'col' }, t('th_key')), h('th', { scope: 'col' }, t('th_code')));
  }
  const body = [];
  for (let r = 0; r < rows; r += 1) {
    const cells = [];
    for (let c = 0; c < COLUMNS; c += 1) {
      const pair = card.pairs[c * rows + r];
      if (pair) {
        cells.push(h('th', { scope: 'row', class: 'card-key', dataset: { key: pair.key } }, pair.key),
          h('td', { class: 'card-code', dataset: { key: pair.key } }, pair.code));
      } else {
        cells.push(h('td', {}), h('td', {}));
      }
    }
    body.push(h('tr', {}, cells));
  }
  return h('table', {},
    h('caption', {}, t('demo_card_caption', { serial: card.serial }), ' · ', card.holder),
    h('thead', {}, h('tr', {}, header)),
    h('tbody', {}, body));
}

/** The "find key" form: it answers in words and marks the pair in the table. */
function findKey(card, table) {
  const ids = { input: uid('find-key'), hint: uid('find-hint') };
  const input = h('input', {
    id: ids.input, type: 'text', inputmode: 'numeric', maxlength: '4', size: '5', autocomplete: 'off',
    class: 'find-key-input', 'aria-describedby': ids.hint,
  });
  const answer = h('div', { class: 'find-answer' });
  const form = h('form', { class: 'find-key', novalidate: true },
    h('label', { for: ids.input }, t('find_key')),
    h('p', { id: ids.hint, class: 'hint' }, t('find_key_hint')),
    h('div', { class: 'find-row' }, input, h('button', { type: 'submit', class: 'secondary' }, t('find_key_button'))),
    answer);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    for (const el of table.querySelectorAll('.found')) el.classList.remove('found');
    const key = input.value.trim();
    let text;
    if (!/^\d{4}$/.test(key)) {
      text = t('find_key_format');
    } else {
      const pair = card.pairs.find((p) => p.key === key);
      text = pair ? t('find_key_found', { key, code: pair.code }) : t('find_key_missing', { key });
      if (pair) {
        const cells = table.querySelectorAll(`[data-key="${key}"]`);
        for (const el of cells) el.classList.add('found');
        cells[0]?.scrollIntoView({ block: 'nearest' });
      }
    }
    // A new alert node each time, named by its own text, so the same answer
    // twice is announced twice and a screen reader that lands on it reads it.
    const id = uid('find-answer');
    const said = h('p', { id, role: 'alert', 'aria-labelledby': id, tabindex: '-1' }, text);
    answer.replaceChildren(said);
    // Back in the field, the key is selected so the next one can simply be typed.
    input.setAttribute('aria-describedby', `${id} ${ids.hint}`);
    visitThenReturn(said, input, () => input.select());
  });
  return form;
}

/** The card with its find-key field, in a block with the given id. */
export function demoCardTable(card, id) {
  const table = cardTable(card);
  return h('div', { class: 'demo-card', id },
    findKey(card, table),
    // Focusable, so a keyboard can scroll the card when it is wider than the window.
    h('div', { class: 'card-scroll', role: 'region', tabindex: '0', 'aria-label': t('demo_card_caption', { serial: card.serial }) }, table));
}
