// 9. Settings: language, text size, high contrast, reduced motion, whether
// to look for new versions (and the version found), and the server
// (advanced, read from the configuration file).
import * as ipc from '../ipc.js';
import { t, setLang } from '../i18n.js';
import { h } from '../dom.js';
import { app, show, busy, showError, applySettings, announce, updateChrome } from '../shell.js';

function radios(name, legend, options, checked) {
  return h('fieldset', {},
    h('legend', {}, legend),
    options.map(([value, label, lang]) => h('div', { class: 'check' },
      h('input', { type: 'radio', name, id: `${name}-${value}`, value, checked: String(value) === String(checked) }),
      h('label', { for: `${name}-${value}`, lang: lang ?? null }, label))));
}

export async function render({ notice } = {}) {
  const s = app.state.settings;
  const errors = h('div', { class: 'errors' });
  const contrast = h('input', { type: 'checkbox', id: 'high-contrast', checked: s.high_contrast });
  const motion = h('input', { type: 'checkbox', id: 'reduced-motion', checked: s.reduced_motion });
  const updates = h('input', { type: 'checkbox', id: 'check-updates', checked: s.check_updates, 'aria-describedby': 'check-updates-hint' });
  const save = h('button', { type: 'submit', class: 'primary' }, t('settings_save'));
  const form = h('form', { class: 'form', novalidate: true },
    errors,
    notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
    radios('lang', t('language'), [['da', 'Dansk', 'da'], ['en', 'English', 'en']], s.lang),
    radios('text-size', t('text_size'), [[100, t('size_100')], [125, t('size_125')], [150, t('size_150')], [200, t('size_200')]], s.text_size),
    h('fieldset', {}, h('legend', {}, t('display')),
      h('div', { class: 'check' }, contrast, h('label', { for: 'high-contrast' }, t('high_contrast'))),
      h('div', { class: 'check' }, motion, h('label', { for: 'reduced-motion' }, t('reduced_motion')))),
    h('fieldset', {}, h('legend', {}, t('updates_heading')),
      h('div', { class: 'check' }, updates, h('label', { for: 'check-updates' }, t('updates_check_label'))),
      h('p', { id: 'check-updates-hint', class: 'hint' }, t('updates_check_hint'))),
    app.state.demo ? h('p', { class: 'muted' }, t('settings_demo_note')) : null,
    h('div', { class: 'actions' }, save));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const next = {
      lang: data.get('lang'),
      text_size: Number(data.get('text-size')),
      high_contrast: contrast.checked,
      reduced_motion: motion.checked,
      check_updates: updates.checked,
    };
    busy(async () => {
      try {
        app.state = await ipc.setSettings(next);
        applySettings(app.state.settings);
        await setLang(app.state.settings.lang);
        await show('settings', { notice: t('settings_saved') });
        announce(t('settings_saved'));
      } catch (err) {
        showError(errors, err);
      }
    }, save);
  });

  const connectButton = h('button', { type: 'button', class: 'secondary' }, t('connect'));
  const serverErrors = h('div', { class: 'errors' });
  connectButton.addEventListener('click', () => busy(async () => {
    try {
      app.state = await ipc.connect();
      const notices = (app.state.notices ?? []).map((n) => h('p', { class: 'notice' }, n.message));
      serverErrors.replaceChildren(h('p', { role: 'status' }, t('connected')), ...notices);
    } catch (err) {
      showError(serverErrors, err);
    }
  }, connectButton));

  return {
    node: h('section', { class: 'view', 'aria-labelledby': 'settings-title' },
      h('h1', { id: 'settings-title' }, t('settings_title')),
      form,
      await versions(),
      h('section', { class: 'advanced', 'aria-labelledby': 'server-title' },
        h('h2', { id: 'server-title' }, t('server_heading')),
        h('p', {}, app.state.server ? t('server_current', { url: app.state.server }) : t('server_none')),
        h('p', { class: 'muted' }, t('server_help')),
        serverErrors,
        app.state.server && !app.state.demo ? h('div', { class: 'actions' }, connectButton) : null)),
  };
}

/**
 * The version that runs, and a newer one: found at start or by "Look now",
 * then installed. Each answer replaces the section's content, is announced,
 * and takes focus to what can be done next.
 */
async function versions() {
  const section = h('section', { class: 'versions', 'aria-labelledby': 'versions-title' });
  const fill = (view, { said, err } = {}) => {
    app.update = view;
    updateChrome();
    const errors = h('div', { class: 'errors' });
    const status = said ? h('p', { id: 'update-status', role: 'status', tabindex: '-1' }, said) : null;
    let action = null;
    if (view.available && !view.installed) {
      action = h('button', { type: 'button', class: 'primary', id: 'install-update' }, t('update_install', { version: view.available }));
      action.addEventListener('click', () => busy(async () => {
        try {
          const next = await ipc.installUpdate();
          fill(next, { said: next.installed ? t('update_installed', { version: next.installed }) : null });
        } catch (error) {
          fill(await ipc.updateStatus(), { err: error });
        }
      }, action));
    } else if (view.can_check && !view.installed) {
      action = h('button', { type: 'button', class: 'secondary', id: 'check-update' }, t('update_check_now'));
      action.addEventListener('click', () => busy(async () => {
        try {
          const next = await ipc.checkForUpdate();
          fill(next, { said: next.available ? t('update_ready', { version: next.available }) : t('update_none') });
        } catch (error) {
          fill(app.update, { err: error });
        }
      }, action));
    }
    // Not replaceChildren(…) with the nulls: it would write them as text.
    section.replaceChildren(...[
      h('h2', { id: 'versions-title' }, t('updates_heading')),
      h('p', {}, t('update_current', { version: view.current })),
      view.installed && !said ? h('p', { class: 'notice' }, t('update_installed', { version: view.installed })) : null,
      view.available && !view.installed && !said ? h('p', {}, t('update_ready', { version: view.available })) : null,
      view.can_check ? null : h('p', { class: 'muted' }, t('update_not_packaged')),
      status,
      errors,
      action ? h('div', { class: 'actions' }, action) : null,
    ].filter(Boolean));
    if (err) {
      showError(errors, err);
    } else if (said) {
      announce(said);
      (action ?? status).focus();
    }
  };
  fill(await ipc.updateStatus());
  return section;
}
