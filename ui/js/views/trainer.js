// The trainer panel (demo only): the demo's clock, every account at a
// glance, scenarios, the code cards, the class kit, and reset. Every
// control is a native form control or button, reachable by Tab; results
// are spoken through a status region next to the control that caused them.
import * as ipc from '../ipc.js';
import { t, formatClock } from '../i18n.js';
import { h, uid } from '../dom.js';
import { app, show, busy, showError, announce, updateChrome, sessionActive, sessionStopped, confirmInline } from '../shell.js';
import { demoCardTable } from './card.js';

function stateText(account) {
  const card = account.card;
  const parts = [];
  if (card.status === 'locked') parts.push(t('state_locked'));
  else if (card.status === 'used_up') parts.push(t('card_state_used_up'));
  else if (card.locked_until) parts.push(t('state_locked_until', { time: formatClock(card.locked_until) }));
  else parts.push(t('state_active'));
  if (card.replacement_serial) parts.push(t('state_replacement'));
  return parts.join(', ');
}

function overviewTable(view) {
  // A region that can take focus, so a keyboard can scroll it when it is wider than the window.
  return h('div', { class: 'table-scroll', id: 'trainer-overview', role: 'region', tabindex: '0', 'aria-label': t('accounts_caption') },
    h('table', { class: 'overview', id: 'trainer-accounts' },
      h('caption', {}, t('accounts_caption')),
      h('thead', {}, h('tr', {},
        [t('th_username'), t('th_password'), t('th_name'), t('th_card'), t('th_codes'), t('th_documents'), t('th_state')]
          .map((text) => h('th', { scope: 'col' }, text)))),
      h('tbody', {}, view.accounts.map((a) => h('tr', { dataset: { username: a.username } },
        h('th', { scope: 'row' }, h('code', {}, a.username),
          a.username === view.signed_in_as ? h('span', { class: 'muted' }, ` (${t('state_here')})`) : null),
        h('td', {}, h('code', {}, a.password)),
        h('td', {}, a.name),
        h('td', {}, a.card.serial),
        h('td', { class: 'codes-left' }, t('card_count', { remaining: a.card.remaining, total: a.card.total })),
        h('td', { class: 'documents-state' }, t('docs_summary', { pending: a.pending, signed: a.signed, declined: a.declined })),
        h('td', { class: 'account-state' }, stateText(a)))))));
}

function accountSelect(id, view) {
  return h('select', { id },
    view.accounts.map((a) => h('option', { value: a.username, selected: a.username === view.signed_in_as },
      `${a.username} — ${a.name}`)));
}

/** What a scenario did, in words, with a button to go and see it. */
function scenarioResult(applied) {
  const user = { username: applied.username };
  switch (applied.scenario) {
    case 'card_locked': return t('applied_card_locked', { ...user, time: formatClock(applied.locked_until) });
    case 'session_expiring': {
      const end = new Date(Date.now() + applied.idle_left_s * 1000).toISOString();
      return t('applied_session_expiring', { ...user, time: formatClock(end) });
    }
    case 'server_identity': return t('applied_server_identity');
    default: return t(`applied_${applied.scenario}`, user);
  }
}

function seeIt(applied) {
  switch (applied.next) {
    case 'home': return { label: t('see_it'), go: () => show('home') };
    case 'trust_error': return { label: t('see_it'), go: () => show('trust') };
    case 'login': return {
      label: t('see_login', { username: applied.username }),
      go: async () => {
        // Whoever is logged in here leaves first, as at a shared PC.
        if (app.state.logged_in) app.state = await ipc.logout();
        await show('login', { username: applied.username });
      },
    };
    default: return null;
  }
}

function scenarioSection(view, refresh) {
  const errors = h('div', { class: 'errors' });
  const result = h('div', { class: 'result', role: 'status' });
  const selectId = uid('scenario-account');
  const select = accountSelect(selectId, view);
  const options = view.scenarios.map((name, i) => {
    const id = `scenario-${name}`;
    const hintId = `${id}-hint`;
    return h('li', {},
      h('div', { class: 'check' },
        h('input', { type: 'radio', name: 'scenario', id, value: name, checked: i === 0, 'aria-describedby': hintId }),
        h('label', { for: id }, t(`scenario_${name}`))),
      h('p', { id: hintId, class: 'hint' }, t(`scenario_${name}_hint`)));
  });
  const apply = h('button', { type: 'submit', class: 'primary', id: 'apply-scenario' }, t('scenario_apply'));
  const form = h('form', { novalidate: true },
    errors,
    h('div', { class: 'field' }, h('label', { for: selectId }, t('scenario_account')), select),
    h('fieldset', {}, h('legend', {}, t('scenario_choice')), h('ul', { class: 'scenario-list' }, options)),
    h('div', { class: 'actions' }, apply),
    result);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const scenario = form.querySelector('input[name="scenario"]:checked')?.value;
    busy(async () => {
      try {
        const applied = await ipc.applyScenario(select.value, scenario);
        app.state = applied.state;
        const next = seeIt(applied);
        // The button's description is the result, so landing on it reads both.
        const said = h('p', { id: uid('scenario-result') }, scenarioResult(applied));
        const button = next ? h('button', { type: 'button', class: 'secondary', id: 'see-it', 'aria-describedby': said.id, onclick: next.go }, next.label) : null;
        result.replaceChildren(...[said, button].filter(Boolean));
        await refresh();
        if (applied.next === 'idle_warning') {
          // The server now counts the session as nearly idle: so does the
          // clock here, and the warning shows (and takes focus) at once.
          sessionActive(undefined, applied.idle_left_s);
        } else {
          (button ?? apply).focus();
        }
      } catch (err) {
        showError(errors, err);
      }
    }, apply);
  });
  return h('section', { 'aria-labelledby': 'scenarios-title' },
    h('h2', { id: 'scenarios-title' }, t('scenarios_heading')), identityNote(view, refresh), form);
}

/** While "server identity" is on: a notice, and the button that ends it. */
function identityNote(view, refresh) {
  const holder = h('div', { id: 'identity-note' });
  if (!view.server_identity_scenario) return holder;
  const errors = h('div', { class: 'errors' });
  const end = h('button', { type: 'button', class: 'secondary', id: 'end-identity' }, t('server_identity_end'));
  end.addEventListener('click', () => busy(async () => {
    try {
      await ipc.endServerIdentityScenario();
      announce(t('server_identity_ended'));
      await refresh();
      // The button is gone with the scenario: go on where scenarios are chosen.
      document.getElementById('apply-scenario')?.focus();
    } catch (err) {
      showError(errors, err);
    }
  }, end));
  holder.append(h('div', { class: 'notice' }, h('p', {}, t('server_identity_on')), errors, end));
  return holder;
}

function cardsSection(view) {
  const selectId = uid('card-account');
  const select = accountSelect(selectId, view);
  const holder = h('div', {});
  const render = () => {
    const account = view.accounts.find((a) => a.username === select.value) ?? view.accounts[0];
    holder.replaceChildren(demoCardTable(account.printed, 'trainer-card'));
  };
  select.addEventListener('change', render);
  render();
  return h('section', { 'aria-labelledby': 'cards-title' },
    h('h2', { id: 'cards-title' }, t('cards_heading')),
    h('div', { class: 'field' }, h('label', { for: selectId }, t('card_for')), select),
    holder);
}

function kitSection() {
  const errors = h('div', { class: 'errors' });
  const result = h('div', { class: 'result', role: 'status' });
  const large = h('input', { type: 'checkbox', id: 'kit-large' });
  const save = h('button', { type: 'button', class: 'primary', id: 'save-kit' }, t('kit_save'));
  save.addEventListener('click', () => busy(async () => {
    try {
      const saved = await ipc.saveClassKit(large.checked);
      if (saved) result.replaceChildren(h('p', {}, t('kit_saved', { path: saved.path })));
    } catch (err) {
      showError(errors, err);
    }
  }, save));
  return h('section', { 'aria-labelledby': 'kit-title' },
    h('h2', { id: 'kit-title' }, t('kit_heading')),
    h('p', {}, t('kit_intro')),
    errors,
    h('div', { class: 'check' }, large, h('label', { for: 'kit-large' }, t('kit_large'))),
    h('div', { class: 'actions' }, save),
    result);
}

function resetSection(refresh) {
  const errors = h('div', { class: 'errors' });
  const confirmBox = h('div', { class: 'confirm' });
  const reset = h('button', { type: 'button', class: 'danger', id: 'reset-demo' }, t('reset_button'));
  reset.addEventListener('click', () => confirmInline(confirmBox, {
    idPrefix: 'reset',
    question: t('reset_confirm'),
    yes: t('reset_yes'),
    no: t('reset_no'),
    back: reset,
    onYes: async () => {
      // The app forgets the session before it resets, whatever happens: so does the page.
      app.state = { ...app.state, logged_in: false };
      sessionStopped();
      updateChrome();
      try {
        const view = await ipc.resetDemo();
        announce(t('reset_done', { time: formatClock(view.last_reset) }));
        confirmBox.replaceChildren();
        await refresh(view);
        document.getElementById('trainer-status')?.focus();
      } catch (err) {
        showError(errors, err);
      }
    },
  }));
  return h('section', { 'aria-labelledby': 'reset-title' },
    h('h2', { id: 'reset-title' }, t('reset_heading')),
    h('p', {}, t('reset_intro')),
    errors,
    h('div', { class: 'actions' }, reset),
    confirmBox);
}

/** The parts of the panel that follow the demo's state: its status and the accounts. */
function statusSection(view) {
  return h('section', { 'aria-labelledby': 'status-title', id: 'trainer-status-section' },
    h('h2', { id: 'status-title' }, t('trainer_status')),
    h('p', { id: 'trainer-status', tabindex: '-1' },
      t('trainer_started', { time: formatClock(view.started_at) }), ' ',
      h('span', { id: 'last-reset' }, view.last_reset ? t('trainer_last_reset', { time: formatClock(view.last_reset) }) : t('trainer_never_reset'))),
    h('p', {}, view.signed_in_as ? t('trainer_signed_in', { username: view.signed_in_as }) : t('trainer_nobody')),
    h('p', {}, h('button', { type: 'button', class: 'link-button', onclick: () => show('guide') }, t('nav_guide'))));
}

export async function render() {
  const errors = h('div', { class: 'errors' });
  let view;
  try {
    view = await busy(() => ipc.trainer());
  } catch (err) {
    const node = h('section', { class: 'view' }, h('h1', {}, t('trainer_title')), errors);
    queueMicrotask(() => showError(errors, err));
    return { node };
  }
  // After a scenario, a reset or the end of one: swap in the parts that
  // changed, leaving the forms (and where the trainer is) as they are.
  const refresh = async (fresh) => {
    const next = fresh ?? await ipc.trainer();
    document.getElementById('trainer-status-section')?.replaceWith(statusSection(next));
    document.getElementById('trainer-overview')?.replaceWith(overviewTable(next));
    document.getElementById('identity-note')?.replaceWith(identityNote(next, refresh));
  };
  const node = h('section', { class: 'view trainer', 'aria-labelledby': 'trainer-title' },
    h('h1', { id: 'trainer-title' }, t('trainer_title')),
    h('p', { class: 'lead' }, t('trainer_intro')),
    errors,
    statusSection(view),
    h('section', { 'aria-labelledby': 'accounts-title' },
      h('h2', { id: 'accounts-title' }, t('accounts_heading')),
      overviewTable(view)),
    scenarioSection(view, refresh),
    kitSection(),
    resetSection(refresh),
    cardsSection(view));
  return { node };
}
