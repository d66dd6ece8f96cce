// The frame around the views: showing a view and moving focus to it,
// announcing, the progress indicator, errors, the DEMO banner and the
// session's idle warning.
import * as ipc from './ipc.js';
import { t, formatClock } from './i18n.js';
import { h, uid } from './dom.js';

const views = new Map();
let current = { name: null, params: {} };
// `update`: what update_status last said (a new version found, installed).
export const app = { state: null, update: null };

export function registerView(name, module) {
  views.set(name, module);
}

/**
 * Shows a view. `render(params)` returns {node, focus?}: the element to
 * focus, else the view's h1. Focus moves on every step (WCAG 2.4.3).
 */
let navigation = 0;

export async function show(name, params = {}) {
  const view = views.get(name);
  navigation += 1;
  const mine = navigation;
  const main = document.getElementById('main');
  const { node, focus } = await view.render(params);
  // A later show() (say, "session ended" during a render) wins.
  if (mine !== navigation) return;
  current = { name, params };
  main.replaceChildren(node);
  // A new screen starts at the top, with the DEMO banner in view.
  window.scrollTo(0, 0);
  const heading = main.querySelector('h1');
  document.title = [heading?.textContent, app.state?.demo ? t('demo_title') : t('app_name')]
    .filter(Boolean)
    .join(' — ');
  updateChrome();
  const target = focus ?? heading;
  if (target) {
    if (!target.hasAttribute('tabindex') && target.tagName === 'H1') target.setAttribute('tabindex', '-1');
    target.focus();
  }
}

/** The view now shown and its parameters (to re-render after a language switch). */
export function currentView() {
  return current;
}

/** Says `text` to screen readers by inserting a new node: WebKitGTK reports insertions, not text changes. */
export function announce(text) {
  const region = document.getElementById('announce');
  region.replaceChildren(h('p', {}, text));
}

/**
 * What the app reports that stops nothing (where the session is kept, a
 * trust file that could not be read): paragraphs for the screen, each also
 * announced, or null when there are none.
 */
export function noticeList(notices) {
  if (!notices?.length) return null;
  announce(notices.map((n) => n.message).join(' '));
  return h('div', { class: 'notices' },
    notices.map((n) => h('p', { class: 'notice', dataset: { notice: n.code } }, n.message)));
}

/** Runs `work`, showing progress after 300 ms and marking `main` busy. */
export async function busy(work, button) {
  // A second press while the first is in flight does nothing: a repeated
  // login or sign would open a second prompt and abandon the first.
  if (button?.getAttribute('aria-disabled') === 'true') return undefined;
  const indicator = document.getElementById('busy');
  const main = document.getElementById('main');
  const timer = setTimeout(() => {
    indicator.hidden = false;
    main.setAttribute('aria-busy', 'true');
  }, 300);
  if (button) button.setAttribute('aria-disabled', 'true');
  try {
    return await work();
  } finally {
    clearTimeout(timer);
    indicator.hidden = true;
    main.removeAttribute('aria-busy');
    if (button) button.removeAttribute('aria-disabled');
  }
}

/**
 * Shows an error in `box` (a new role=alert node, so it is announced), ties
 * it to `field` with aria-describedby and aria-invalid, and moves focus to
 * the field, or to the message when there is no field.
 */
export function showError(box, err, field) {
  const id = uid('error');
  // Named by its own text, so a screen reader that lands on it reads it.
  const message = h('p', { id, class: 'error', role: 'alert', 'aria-labelledby': id, tabindex: '-1' },
    h('strong', {}, `${t('error_heading')}: `), err.message || err.code);
  box.replaceChildren(message);
  if (field) {
    const hints = (field.getAttribute('aria-describedby') ?? '').split(' ').filter((x) => x && !x.startsWith('error-'));
    field.setAttribute('aria-describedby', [id, ...hints].join(' '));
    field.setAttribute('aria-invalid', 'true');
    visitThenReturn(message, field);
  } else {
    message.focus();
  }
  return message;
}

/**
 * Orca on WebKitGTK speaks neither an inserted alert nor a focus that did
 * not move: focus `message` (a named alert), then return to `field`, which
 * has it first in its description, unless focus moved on meanwhile.
 */
export function visitThenReturn(message, field, then) {
  message.focus();
  setTimeout(() => {
    if (document.activeElement !== message) return;
    field.focus();
    then?.();
  }, 300);
}

/**
 * Asks `question` inline in `box`: focus goes to the question; "yes" runs
 * `onYes` (as busy work), "no" clears the box and returns focus to `back`.
 */
export function confirmInline(box, { idPrefix, question, yes, no, onYes, back }) {
  const asked = h('p', { id: `${idPrefix}-question`, tabindex: '-1' }, question);
  const yesButton = h('button', { type: 'button', class: 'danger', id: `${idPrefix}-yes` }, yes);
  const noButton = h('button', { type: 'button', class: 'secondary' }, no);
  yesButton.addEventListener('click', () => busy(onYes, yesButton));
  noButton.addEventListener('click', () => {
    box.replaceChildren();
    back.focus();
  });
  box.replaceChildren(h('div', { role: 'group', 'aria-labelledby': asked.id, class: 'confirm-box' },
    asked, h('div', { class: 'actions' }, yesButton, noButton)));
  asked.focus();
}

export function clearError(box, field) {
  box.replaceChildren();
  if (field) {
    field.removeAttribute('aria-invalid');
    const hints = (field.getAttribute('aria-describedby') ?? '').split(' ').filter((x) => x && !x.startsWith('error-'));
    if (hints.length) field.setAttribute('aria-describedby', hints.join(' '));
    else field.removeAttribute('aria-describedby');
  }
}

/** Header state: the DEMO banner, and what the menu offers. */
export function updateChrome() {
  const state = app.state ?? {};
  const banner = document.getElementById('demo-banner');
  banner.hidden = !state.demo;
  banner.textContent = state.demo ? t('demo_banner') : '';
  for (const el of document.querySelectorAll('[data-view="home"], #logout')) el.hidden = !state.logged_in;
  for (const el of document.querySelectorAll('[data-view="trainer"], [data-view="guide"]')) el.hidden = !state.demo;
  for (const el of document.querySelectorAll('#nav [data-view]')) {
    if (el.dataset.view === current.name) el.setAttribute('aria-current', 'page');
    else el.removeAttribute('aria-current');
  }
  updateNotice();
}

/** "Kodekort 0.2.0 is ready to install", on every screen but Settings, which says more. */
function updateNotice() {
  const notice = document.getElementById('update-notice');
  const ready = app.update?.available && !app.update.installed && current.name !== 'settings';
  notice.hidden = !ready;
  if (!ready) {
    notice.replaceChildren();
    return;
  }
  const open = h('button', { type: 'button', class: 'link-button' }, t('update_open'));
  open.addEventListener('click', () => show('settings'));
  notice.replaceChildren(t('update_ready', { version: app.update.available }), ' ', open);
}

/** Applies the display settings to the page. */
export function applySettings(settings) {
  const root = document.documentElement;
  root.style.fontSize = `${settings.text_size}%`;
  root.classList.toggle('high-contrast', settings.high_contrast);
  root.classList.toggle('reduce-motion', settings.reduced_motion);
}

// ---- session idle warning (WCAG 2.2.1) ------------------------------------

const WARN_BEFORE_S = 120;
let idle = { timeoutS: 0, lastCall: 0, warnTimer: null, endTimer: null };

/**
 * Starts (or restarts) the idle clock after a login or an authenticated
 * call. `leftS`, when the server says the session has been idle already
 * (the trainer's "about to expire"), is what remains of it.
 */
export function sessionActive(timeoutS, leftS) {
  if (timeoutS) idle.timeoutS = timeoutS;
  if (!idle.timeoutS || !app.state?.logged_in) return;
  const remainingS = Math.min(leftS ?? idle.timeoutS, idle.timeoutS);
  idle.lastCall = Date.now() - (idle.timeoutS - remainingS) * 1000;
  clearTimeout(idle.warnTimer);
  clearTimeout(idle.endTimer);
  hideIdleWarning();
  const warnInMs = Math.max(0, (remainingS - WARN_BEFORE_S) * 1000);
  idle.warnTimer = setTimeout(showIdleWarning, warnInMs);
  idle.endTimer = setTimeout(sessionEnded, remainingS * 1000);
}

export function sessionStopped() {
  clearTimeout(idle.warnTimer);
  clearTimeout(idle.endTimer);
  idle.timeoutS = 0;
  hideIdleWarning();
}

/** Shows the warning now (also used by tests and the trainer's scenario). */
let focusBeforeWarning = null;

export function showIdleWarning() {
  const box = document.getElementById('idle-warning');
  if (box.hidden) focusBeforeWarning = document.activeElement;
  const end = new Date(idle.lastCall + idle.timeoutS * 1000).toISOString();
  document.getElementById('idle-text').textContent = t('idle_text', { time: formatClock(end) });
  box.hidden = false;
  document.getElementById('idle-stay').focus();
}

function hideIdleWarning() {
  document.getElementById('idle-warning').hidden = true;
}

async function sessionEnded() {
  sessionStopped();
  try {
    app.state = await ipc.logout();
  } catch {
    if (app.state) app.state.logged_in = false;
  }
  await show('welcome', { notice: t('idle_logged_out') });
}

export async function stayLoggedIn() {
  try {
    const view = await ipc.keepAlive();
    sessionActive(view.idle_timeout_s);
    announce(t('stayed'));
  } catch (err) {
    hideIdleWarning();
    announce(err.message);
  }
  // Back to where the citizen was (WCAG 2.4.3).
  const back = focusBeforeWarning && document.body.contains(focusBeforeWarning) ? focusBeforeWarning : document.getElementById('main');
  focusBeforeWarning = null;
  back.focus();
}
