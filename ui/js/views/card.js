// The demo code card on screen: a real table with row and column headers,
// laid out in four key/code column pairs like the printed card.
import { t } from '../i18n.js';
import { h } from '../dom.js';

const COLUMNS = 4;

export function demoCardTable(card, id) {
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
        cells.push(h('th', { scope: 'row', class: 'card-key' }, pair.key), h('td', { class: 'card-code' }, pair.code));
      } else {
        cells.push(h('td', {}), h('td', {}));
      }
    }
    body.push(h('tr', {}, cells));
  }
  return h('div', { class: 'demo-card', id },
    h('table', {},
      h('caption', {}, t('demo_card_caption', { serial: card.serial }), ' · ', card.holder),
      h('thead', {}, h('tr', {}, header)),
      h('tbody', {}, body)));
}
