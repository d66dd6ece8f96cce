// A fake of the Rust side, installed as window.__TAURI_INTERNALS__ before
// the page's scripts, so the vendored @tauri-apps/api `invoke` reaches it.
// It replays the views the real app core produced (fixtures/views.json,
// whose shapes a Rust test pins) and keeps just enough state for the flows.
(() => {
  const { config, fixtures, catalogue } = window.__FAKE_SETUP__;
  const clone = (v) => JSON.parse(JSON.stringify(v));
  const settings = { lang: config.lang ?? 'en', text_size: 100, high_contrast: false, reduced_motion: false, check_updates: true };
  const demoState = fixtures.state_demo;
  const state = {
    settings,
    demo: Boolean(config.demo),
    // config.demoStarting (ms): started with --demo, ready after that long;
    // config.demoFails: the demo cannot start.
    demo_starting: config.demoStarting !== undefined,
    server: config.server ?? null,
    connected: Boolean(config.demo),
    logged_in: Boolean(config.loggedIn),
    demo_accounts: config.demo ? clone(demoState.demo_accounts) : [],
    demo_guide_key: config.demo ? demoState.demo_guide_key : null,
    notices: [],
    // config.loginLink: the app was opened by a service's login link.
    login_link: Boolean(config.loginLink),
  };
  let servicePrompt = null;
  const home = clone(fixtures.home);
  home.card.remaining = 148;
  Object.assign(home.card, config.card ?? {});
  let loginPrompt = null;
  let signPrompt = null;
  let signingId = null;
  let changedOnce = false;
  const calls = [];
  // The trainer panel's state, from the app core's own views.
  const panel = clone(fixtures.trainer);
  panel.signed_in_as = state.logged_in ? 'demo1' : null;
  let untrusted = false;
  const trusted = () => { if (untrusted) refuse('server_identity_not_verified'); };

  // `next`: where the flow stands after the refusal, as the app core sends it.
  function refuse(code, extra = '', next = undefined) {
    const text = catalogue[settings.lang].error[code] ?? code;
    const until = code === 'too_many_attempts' ? new Date(Date.now() + 15 * 60 * 1000).toISOString() : undefined;
    throw { code, message: text.replace('{until}', '12:30') + extra, until, next };
  }

  function codeFor(prompt) {
    return prompt.demo_card.pairs.find((p) => p.key === prompt.key).code;
  }

  function freshPrompt(kind) {
    const p = clone(kind === 'sign' ? fixtures.prompt_sign : fixtures.prompt_login);
    p.attempts_left = 5;
    p.expires_in_s = config.expiresInS ?? 300;
    p.expires_at = new Date(Date.now() + p.expires_in_s * 1000).toISOString();
    if (!state.demo) p.demo_card = null;
    return p;
  }

  function checkCode(prompt, code) {
    const digits = String(code).replace(/[\s-]/g, '');
    if (!/^\d{6}$/.test(digits)) refuse('code_format', '', { step: 'code', attempts_left: prompt.attempts_left });
    const right = prompt.demo_card ? codeFor(prompt) : fixtures.prompt_login.demo_card.pairs.find((p) => p.key === prompt.key).code;
    if (digits !== right) {
      prompt.attempts_left -= 1;
      const left = catalogue[settings.lang].card.attempts_left.replace('{n}', prompt.attempts_left);
      refuse('invalid_code', ` ${left}`, { step: 'code', attempts_left: prompt.attempts_left });
    }
  }

  // config.update: {atStart, available, refuse, unreachable}: what the
  // manifest offers at start and on a check, and why installing fails.
  const update = { current: '0.1.0', available: config.update?.atStart ?? null, installed: null, can_check: Boolean(config.update) };

  const handlers = {
    app_state: () => clone(state),
    update_status: () => clone(update),
    check_for_update: () => {
      if (config.update?.unreachable) refuse('update_unreachable');
      update.available = config.update?.available ?? null;
      return clone(update);
    },
    install_update: () => {
      if (config.update?.refuse) {
        update.available = null;
        refuse(config.update.refuse);
      }
      update.installed = update.available;
      return clone(update);
    },
    catalogue: ({ lang }) => catalogue[lang],
    set_settings: ({ settings: next }) => { Object.assign(settings, next); return clone(state); },
    start_demo: async () => {
      if (state.demo_starting) await new Promise((done) => setTimeout(done, config.demoStarting));
      state.demo_starting = false;
      if (config.demoFails) refuse('demo_files_failed');
      Object.assign(state, { demo: true, connected: true, demo_accounts: clone(demoState.demo_accounts), demo_guide_key: demoState.demo_guide_key });
      return clone(state);
    },
    connect: () => {
      if (!state.server) refuse('no_server_configured');
      state.connected = true;
      return clone(state);
    },
    login: ({ username, password, publicComputer }) => {
      if (typeof publicComputer !== 'boolean') throw 'missing publicComputer';
      const account = demoState.demo_accounts.find((a) => a.username === username);
      if (!account || account.password !== password) refuse('invalid_credentials');
      loginPrompt = freshPrompt('login');
      panel.signed_in_as = username;
      return clone(loginPrompt);
    },
    renew_login_prompt: () => { loginPrompt = freshPrompt('login'); return clone(loginPrompt); },
    cancel_login: () => { loginPrompt = null; return null; },
    login_code: ({ code }) => {
      if (!loginPrompt) refuse('challenge_missing');
      checkCode(loginPrompt, code);
      loginPrompt = null;
      state.logged_in = true;
      home.card.remaining -= 1;
      // config.loginNotices: what the app core says about where the session went.
      return { ...clone(home), notices: config.loginNotices ?? [] };
    },
    home: () => { trusted(); if (!state.logged_in) refuse('not_logged_in'); return clone(home); },
    document: ({ id }) => {
      const item = [...home.pending, ...home.signed, ...home.declined].find((d) => d.id === id);
      if (!item) refuse('not_found');
      return { ...clone(fixtures.document), id, title: item.title, status: item.status };
    },
    begin_sign: ({ id }) => {
      // config.documentChanged: the server holds another text than the one shown, once.
      if (config.documentChanged && !changedOnce) {
        changedOnce = true;
        refuse('hash_mismatch', '', { step: 'changed', attempts_left: null });
      }
      signingId = id;
      signPrompt = freshPrompt('sign');
      signPrompt.document_title = home.pending.find((d) => d.id === id)?.title ?? signPrompt.document_title;
      return clone(signPrompt);
    },
    sign_code: ({ code }) => {
      if (!signPrompt) refuse('challenge_missing');
      checkCode(signPrompt, code);
      signPrompt = null;
      home.card.remaining -= 1;
      const i = home.pending.findIndex((d) => d.id === signingId);
      const [doc] = home.pending.splice(i, 1);
      doc.status = 'signed';
      home.signed.push(doc);
      return { ...clone(fixtures.signed), document_id: doc.id, title: doc.title };
    },
    cancel_sign: () => { signPrompt = null; return null; },
    decline: ({ id }) => {
      const i = home.pending.findIndex((d) => d.id === id);
      const [doc] = home.pending.splice(i, 1);
      doc.status = 'declined';
      home.declined.push(doc);
      return clone(home);
    },
    signed: ({ id }) => {
      const doc = home.signed.find((d) => d.id === id);
      return { ...clone(fixtures.signed), document_id: id, title: doc?.title ?? '' };
    },
    save_signed: ({ id }) => (config.dialogCancel ? null : { path: `/home/citizen/kodekort-${id}.pdf` }),
    verify_file: () => (config.dialogCancel ? null : clone(config.fileVerdict ?? fixtures.file_verdict)),
    open_login_link: () => {
      if (!state.login_link) refuse('login_link_invalid');
      state.login_link = false;
      // config.loginLink: 'spent' (opened before), 'elsewhere', or true.
      if (config.loginLink === 'spent') refuse('app_link_unknown');
      if (config.loginLink === 'elsewhere') refuse('app_link_other_computer');
      servicePrompt = { ...freshPrompt('login'), purpose: 'service_login', service_name: 'Skattestyrelsen', demo_card: null };
      return clone(servicePrompt);
    },
    service_login_code: ({ code }) => {
      if (!servicePrompt) refuse('challenge_missing');
      checkCode(servicePrompt, code);
      servicePrompt = null;
      return { service_name: 'Skattestyrelsen' };
    },
    cancel_service_login: () => { servicePrompt = null; state.login_link = false; return null; },
    keep_alive: () => ({ idle_timeout_s: home.idle_timeout_s, session_expires_at: home.session_expires_at }),
    logout: () => { state.logged_in = false; return clone(state); },
    check_connection: () => (untrusted
      ? { ...clone(fixtures.connection), ok: false, error: clone(fixtures.error_server_identity) }
      : clone(fixtures.connection)),
    trainer: () => {
      if (!state.demo) refuse('not_demo');
      return { ...clone(panel), signed_in_as: state.logged_in ? (panel.signed_in_as ?? 'demo1') : null, server_identity_scenario: untrusted };
    },
    reset_demo: () => {
      panel.last_reset = new Date().toISOString();
      panel.signed_in_as = null;
      for (const a of panel.accounts) Object.assign(a, { pending: 3, signed: 0, declined: 0, card: { ...a.card, remaining: 148, locked_until: null, replacement_serial: null } });
      state.logged_in = false;
      untrusted = false;
      return clone(panel);
    },
    apply_scenario: ({ username, scenario }) => {
      const account = panel.accounts.find((a) => a.username === username);
      if (!account) refuse('no_such_demo_account');
      const here = state.logged_in && panel.signed_in_as === username;
      const view = { scenario, username, next: here ? 'home' : 'login', locked_until: null, idle_left_s: null, state: clone(state) };
      if (scenario === 'card_locked') {
        view.locked_until = new Date(Date.now() + 15 * 60 * 1000).toISOString();
        account.card.locked_until = view.locked_until;
        view.next = 'login';
      } else if (scenario === 'session_expiring') {
        if (!here) refuse('scenario_needs_login');
        Object.assign(view, { next: 'idle_warning', idle_left_s: 120 });
      } else if (scenario === 'server_identity') {
        untrusted = true;
        view.next = 'trust_error';
      } else if (scenario === 'few_codes') {
        account.card.remaining = 15;
        home.card.remaining = 15;
        home.card.replacement_serial = 'KK-0000-0001';
      } else if (scenario === 'document_waiting') {
        account.pending += 1;
      } else {
        refuse('unknown_scenario');
      }
      return view;
    },
    end_server_identity_scenario: () => { untrusted = false; return clone(panel); },
    save_class_kit: ({ large }) => (config.dialogCancel ? null : { path: `/home/trainer/kodekort-demo-class-kit${large ? '-large-print' : ''}.pdf` }),
    save_diagnostics: () => ({ path: '/home/citizen/kodekort-diagnostics.json' }),
  };

  window.__fake = { calls, state, home, panel };
  window.__TAURI_INTERNALS__ = {
    transformCallback: () => 0,
    invoke: async (command, args = {}) => {
      calls.push({ command, args });
      await new Promise((r) => setTimeout(r, config.delayMs ?? 0));
      const forced = config.errors?.[command];
      if (forced) refuse(forced);
      const handler = handlers[command];
      if (!handler) throw `command ${command} not allowed`;
      return handler(args);
    },
  };
})();
