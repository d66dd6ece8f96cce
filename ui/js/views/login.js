// 2. Log in, 3./6. the code step (for logging in and for signing), and the
// screen for a wait or a locked card.
import * as ipc from '../ipc.js';
import { t, formatClock } from '../i18n.js';
import { h, uid } from '../dom.js';
import { app, show, busy, showError, clearError, announce, sessionActive, noticeList } from '../shell.js';
import { demoCardTable } from './card.js';

const BLOCKING = new Set(['too_many_attempts', 'card_locked']);

function field(label, input, hint) {
  const id = input.id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), hint, input);
}

export const credentials = {
  /** `username` pre-fills the field (the trainer's "log in as demo2 to see it"). */
  async render({ username: given, notices } = {}) {
    const errors = h('div', { class: 'errors' });
    const username = h('input', { id: 'username', name: 'username', type: 'text', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', 'aria-required': 'true' });
    const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', 'aria-required': 'true' });
    const publicComputer = h('input', { id: 'public-computer', type: 'checkbox' });
    if (given) username.value = given;
    const submit = h('button', { type: 'submit', class: 'primary' }, t('next'));
    const form = h('form', { novalidate: true, class: 'form' },
      errors,
      field(t('username'), username),
      field(t('password'), password),
      h('div', { class: 'check' }, publicComputer, h('label', { for: 'public-computer' }, t('public_computer'))),
      h('div', { class: 'actions' }, submit,
        h('button', { type: 'button', class: 'secondary', onclick: () => show('welcome') }, t('back'))));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      clearError(errors, username);
      clearError(errors, password);
      for (const [input, label] of [[username, t('username')], [password, t('password')]]) {
        if (!input.value.trim()) {
          showError(errors, { code: 'required', message: t('field_required', { field: label }) }, input);
          return;
        }
      }
      busy(async () => {
        try {
          const prompt = await ipc.login(username.value, password.value, publicComputer.checked);
          password.value = '';
          await show('code', { prompt });
        } catch (err) {
          password.value = '';
          if (BLOCKING.has(err.code)) await show('blocked', { err });
          else showError(errors, err, err.code === 'invalid_credentials' ? password : null);
        }
      }, submit);
    });
    return {
      node: h('section', { class: 'view', 'aria-labelledby': 'login-title' },
        h('h1', { id: 'login-title' }, t('login_title')), noticeList(notices), form),
      focus: given ? password : username,
    };
  },
};

export const code = {
  async render({ prompt, documentId }) {
    const signing = prompt.purpose === 'sign';
    // A login to a service, begun in the browser: the browser owns it, so
    // there is no "new key" here, and success goes back to the browser.
    const service = prompt.purpose === 'service_login' ? prompt.service_name : null;
    const errors = h('div', { class: 'errors' });
    const ids = { find: uid('find'), hint: uid('hint'), attempts: uid('attempts'), expires: uid('expires'), card: uid('card') };
    const input = h('input', {
      id: 'code', name: 'code', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code',
      maxlength: '9', size: '9', class: 'code-input', 'aria-required': 'true',
      'aria-describedby': `${ids.find} ${ids.hint} ${ids.attempts}`,
    });
    const attempts = h('p', { id: ids.attempts }, t('attempts', { n: prompt.attempts_left }));
    const expires = h('p', { id: ids.expires }, t('expires', { time: formatClock(prompt.expires_at) }));
    const expiredBox = h('div', { class: 'expired' });
    const submitText = service ? t('code_submit_service', { service }) : t(signing ? 'code_submit_sign' : 'code_submit_login');
    const submit = h('button', { type: 'submit', class: 'primary' }, submitText);

    const newKey = () => busy(async () => {
      try {
        const next = signing ? await ipc.beginSign(documentId) : await ipc.renewLoginPrompt();
        await show('code', { prompt: next, documentId });
      } catch (err) {
        if (BLOCKING.has(err.code)) await show('blocked', { err });
        else showError(errors, err);
      }
    });
    // When the key expires, say so and offer a new one: the expired prompt
    // was counted already, so a new key costs nothing more.
    // From the absolute expiry, so a re-render (a language switch) keeps the right time.
    const msLeft = Math.max(0, Math.min(prompt.expires_in_s * 1000, Date.parse(prompt.expires_at) - Date.now()));
    const expiryTimer = setTimeout(() => {
      if (!document.body.contains(input)) return;
      const button = service
        ? h('button', { type: 'button', class: 'primary', onclick: () => cancel() }, t('back'))
        : h('button', { type: 'button', class: 'primary', onclick: newKey }, t('new_key'));
      expiredBox.replaceChildren(h('p', { role: 'alert' }, t(service ? 'service_login_expired' : 'expired')), button);
      button.focus();
    }, msLeft);

    const cancel = async () => {
      clearTimeout(expiryTimer);
      if (service) {
        await ipc.cancelServiceLogin();
        await show(app.state?.logged_in ? 'home' : 'welcome');
      } else if (signing) {
        await ipc.cancelSign();
        await show('document', { id: documentId });
      } else {
        await ipc.cancelLogin();
        await show('welcome');
      }
    };

    let cardBlock = null;
    if (prompt.demo_card) {
      const card = demoCardTable(prompt.demo_card, ids.card);
      card.hidden = true;
      const toggle = h('button', { type: 'button', class: 'secondary card-toggle', 'aria-expanded': 'false', 'aria-controls': ids.card }, t('show_card'));
      toggle.addEventListener('click', () => {
        const open = card.hidden;
        card.hidden = !open;
        toggle.setAttribute('aria-expanded', String(open));
        toggle.textContent = t(open ? 'hide_card' : 'show_card');
      });
      cardBlock = h('div', { class: 'demo-card-block' }, toggle, card);
    }

    const form = h('form', { novalidate: true, class: 'form' },
      errors,
      h('div', { class: 'field' },
        h('label', { for: 'code' }, t('code_input', { key: prompt.key })),
        h('p', { id: ids.hint, class: 'hint' }, t('code_hint')),
        input),
      attempts, expires, expiredBox,
      h('p', { class: 'warning' }, h('span', { class: 'warning-mark', 'aria-hidden': 'true' }, '!'), ' ', t('abandon_warning')),
      h('div', { class: 'actions' }, submit,
        h('button', { type: 'button', class: 'secondary', onclick: cancel }, t('cancel'))));

    form.addEventListener('submit', (event) => {
      event.preventDefault();
      clearError(errors, input);
      busy(async () => {
        try {
          if (service) {
            const result = await ipc.serviceLoginCode(input.value);
            clearTimeout(expiryTimer);
            await show('service-done', { result });
          } else if (signing) {
            const result = await ipc.signCode(input.value);
            clearTimeout(expiryTimer);
            await show('signed', { result });
          } else {
            const homeView = await ipc.loginCode(input.value);
            clearTimeout(expiryTimer);
            app.state = { ...app.state, logged_in: true };
            sessionActive(homeView.idle_timeout_s);
            await show('home', { view: homeView });
          }
        } catch (err) {
          input.value = '';
          // The refusal says where the flow stands now; no second call.
          const step = err.next?.step;
          if (BLOCKING.has(err.code) || step === 'waiting' || step === 'locked') {
            clearTimeout(expiryTimer);
            await show('blocked', { err });
            return;
          }
          if (service && step === 'ended') {
            clearTimeout(expiryTimer);
            await show('service-link', { err });
            return;
          }
          if (step === 'credentials') {
            clearTimeout(expiryTimer);
            await show('login');
            showError(document.querySelector('#main .errors'), err);
            return;
          }
          if (signing && (step === 'changed' || step === 'not_pending')) {
            clearTimeout(expiryTimer);
            await show('document', { id: documentId, err });
            return;
          }
          const left = err.next?.attempts_left;
          if (left !== undefined && left !== null) attempts.replaceChildren(t('attempts', { n: left }));
          showError(errors, err, input);
        }
      }, submit);
    });

    const title = service ? t('service_login_title', { service }) : t(signing ? 'code_title_sign' : 'code_title_login');
    const node = h('section', { class: 'view code-step', 'aria-labelledby': 'code-title' },
      h('h1', { id: 'code-title' }, title),
      signing && prompt.document_title ? h('p', { class: 'lead' }, t('signing_doc', { title: prompt.document_title })) : null,
      service ? h('p', { class: 'lead' }, t('service_login_lead', { service })) : null,
      service ? h('p', { class: 'warning service-warning' },
        h('span', { class: 'warning-mark', 'aria-hidden': 'true' }, '!'), ' ', t('service_login_warning')) : null,
      h('dl', { class: 'key-box' },
        h('div', {}, h('dt', {}, t('code_card')), h('dd', { class: 'serial' }, prompt.card_serial)),
        h('div', {}, h('dt', {}, t('code_key')), h('dd', { class: 'key' }, prompt.key))),
      h('p', { id: ids.find }, t('code_find', { key: prompt.key, serial: prompt.card_serial })),
      h('div', { class: cardBlock ? 'code-columns' : '' }, form, cardBlock));
    announce(t('code_find', { key: prompt.key, serial: prompt.card_serial }));
    return { node, focus: input };
  },
};

export const blocked = {
  async render({ err }) {
    const locked = err.code === 'card_locked';
    // The wait's end in the citizen's own time and language, large; the
    // server's message (which gives it in UTC) only when there is none.
    const message = err.until
      ? h('p', { class: 'error', role: 'alert' }, t('waiting_until', { time: formatClock(err.until) }))
      : h('p', { class: 'error', role: 'alert' }, err.message);
    return {
      node: h('section', { class: 'view', 'aria-labelledby': 'blocked-title' },
        h('h1', { id: 'blocked-title' }, t(locked ? 'locked_title' : 'waiting_title')),
        err.until ? h('p', {}, t('waiting_why')) : null,
        message,
        h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'primary', onclick: () => show('welcome') }, t('back')))),
    };
  },
};

/**
 * A `kodekort://login/…` link from a service's login page: opened with the
 * server (once), then the code step for it. The prompt is kept in the
 * view's parameters, so a language switch shows it again without reopening.
 */
export const serviceLogin = {
  async render(params = {}) {
    // What opening gave, prompt or refusal, stays in the parameters: a
    // language switch renders it again without asking the server.
    if (!params.prompt && !params.err) {
      announce(t('service_login_opening'));
      try {
        params.prompt = await ipc.openLoginLink();
      } catch (err) {
        params.err = err;
      }
    }
    if (params.err) {
      return BLOCKING.has(params.err.code) ? blocked.render({ err: params.err }) : serviceLink.render({ err: params.err });
    }
    return code.render({ prompt: params.prompt });
  },
};

/** The service login's code was right: the browser goes on by itself. */
export const serviceDone = {
  async render({ result }) {
    const service = result.service_name;
    announce(t('service_done_next', { service }));
    return {
      node: h('section', { class: 'view', 'aria-labelledby': 'service-done-title' },
        h('h1', { id: 'service-done-title' }, t('service_done_title', { service })),
        h('p', { class: 'lead' }, t('service_done_next', { service })),
        h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'primary', onclick: () => show(app.state?.logged_in ? 'home' : 'welcome') }, t('done')))),
    };
  },
};

/** A login link that cannot be used: unknown, spent, from elsewhere, or no server. */
export const serviceLink = {
  async render({ err }) {
    return {
      node: h('section', { class: 'view', 'aria-labelledby': 'service-link-title' },
        h('h1', { id: 'service-link-title' }, t('service_link_title')),
        h('p', { class: 'error', role: 'alert' }, err.message),
        h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'primary', onclick: () => show(app.state?.logged_in ? 'home' : 'welcome') }, t('back')))),
    };
  },
};
