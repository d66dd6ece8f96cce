// Texts from the catalogue shared with the CLI (crates/client/catalogue),
// fetched over IPC once per language. <html lang> follows the language.
import * as ipc from './ipc.js';

let lang = 'da';
let table = {};

export async function setLang(next) {
  table = await ipc.catalogue(next);
  lang = next;
  document.documentElement.lang = next;
  translateStatic();
}

export function currentLang() {
  return lang;
}

/** `ui.key` with {placeholders} filled; a missing key shows itself. */
export function t(key, args = {}) {
  const template = table.ui?.[key];
  if (template === undefined) return `ui.${key}`;
  return template.replace(/\{(\w+)\}/g, (_, name) => (name in args ? String(args[name]) : `{${name}}`));
}

/** A time the citizen reads, in their time zone and language. */
export function formatTime(rfc3339) {
  if (!rfc3339) return '';
  const locale = lang === 'da' ? 'da-DK' : 'en-GB';
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(rfc3339));
}

/** A moment soon (a wait's end, a key's expiry): the time alone if it is today. */
export function formatClock(rfc3339) {
  if (!rfc3339) return '';
  const when = new Date(rfc3339);
  if (when.toDateString() !== new Date().toDateString()) return formatTime(rfc3339);
  const locale = lang === 'da' ? 'da-DK' : 'en-GB';
  return new Intl.DateTimeFormat(locale, { timeStyle: 'short' }).format(when);
}

export function formatDate(rfc3339) {
  const locale = lang === 'da' ? 'da-DK' : 'en-GB';
  return new Intl.DateTimeFormat(locale, { dateStyle: 'long' }).format(new Date(rfc3339));
}

/** The fixed parts of index.html: [data-t] text, [data-t-label] aria-label. */
function translateStatic() {
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  for (const el of document.querySelectorAll('[data-t-label]')) el.setAttribute('aria-label', t(el.dataset.tLabel));
  const other = document.getElementById('lang-switch');
  if (other) {
    other.textContent = t('lang_other');
    other.setAttribute('aria-label', t('lang_other_label'));
    other.lang = lang === 'da' ? 'en' : 'da';
  }
}
