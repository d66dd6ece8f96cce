// The trainer guide (demo only): numbered exercises, each with what the
// learner does and what they should see. Plain headings and a description
// list, so a screen reader can jump from exercise to exercise.
import { t } from '../i18n.js';
import { h } from '../dom.js';
import { app, show } from '../shell.js';

const EXERCISES = 8;

export async function render() {
  const key = app.state?.demo_guide_key ?? '';
  const items = [];
  for (let n = 1; n <= EXERCISES; n += 1) {
    const id = `exercise-${n}`;
    items.push(h('li', { 'aria-labelledby': id },
      h('h2', { id }, t(`guide_${n}_title`, { key })),
      h('dl', {},
        h('dt', {}, t('guide_do')), h('dd', {}, t(`guide_${n}_do`, { key })),
        h('dt', {}, t('guide_see')), h('dd', {}, t(`guide_${n}_see`, { key })))));
  }
  const node = h('section', { class: 'view guide', 'aria-labelledby': 'guide-title' },
    h('h1', { id: 'guide-title' }, t('guide_title')),
    h('p', { class: 'lead' }, t('guide_intro')),
    h('ol', { class: 'guide-list' }, items),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', onclick: () => show('trainer') }, t('nav_trainer'))));
  return { node };
}
