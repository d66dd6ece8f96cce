// The flows with the keyboard alone: focus lands where it should, errors
// reach a live region and are tied to their field, and nothing secret is
// in the page. Real headless Chromium, fake IPC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { withBrowser, openApp, focused, fixtures, root, tabTo, byText, startsWith, byId, axe, catalogue } from './harness.mjs';

const env = withBrowser();

const account = fixtures.state_demo.demo_accounts[0];

/** From the welcome screen: log in as `account`, the code read off the on-screen demo card. */
async function logInWithTheDemoCard(page) {
  await page.locator('#start-login').click();
  await page.locator('#username').fill(account.username);
  await page.locator('#password').fill(account.password);
  await page.keyboard.press('Enter');
  await page.locator('.card-toggle').click();
  const code = await page.evaluate(() => {
    const k = document.querySelector('.key-box .key').textContent;
    return [...document.querySelectorAll('.demo-card th[scope=row]')].find((c) => c.textContent === k).nextElementSibling.textContent;
  });
  await page.locator('#code').fill(code);
  await page.keyboard.press('Enter');
}

test('keyboard only: demo, log in, wrong code, code, read, sign, save, verify', async () => {
  const { page, context, problems } = await openApp(env.browser, env.url, { lang: 'en' });
  assert.deepEqual(await focused(page), { tag: 'h1', id: 'welcome-title', text: 'Welcome to Kodekort' });

  await tabTo(page, byText('Start the demo'));
  await page.keyboard.press('Enter');
  await page.locator('#demo-banner:not([hidden])').waitFor();
  assert.match(await page.title(), /DEMO/);
  assert.match(await page.locator('#announce').innerText(), /demo/i);

  await tabTo(page, byText('Log in'));
  await page.keyboard.press('Enter');
  await page.locator('#username').waitFor();
  assert.equal((await focused(page)).id, 'username', 'focus on the first field');
  await page.keyboard.type(account.username);
  await page.keyboard.press('Tab');
  await page.keyboard.type(account.password);
  await page.keyboard.press('Enter');
  await page.locator('#code').waitFor();
  assert.equal((await focused(page)).id, 'code', 'focus on the code field');

  const key = await page.locator('.key-box .key').innerText();
  const label = await page.locator('label[for=code]').innerText();
  assert.ok(label.includes(key), `the code field's label names key ${key}: ${label}`);
  assert.equal(await page.locator('#code').getAttribute('inputmode'), 'numeric');
  assert.equal(await page.locator('#code').getAttribute('autocomplete'), 'one-time-code');
  assert.match(await page.locator('#announce').innerText(), new RegExp(key));

  // A wrong code: the error is announced (role=alert, inserted), tied to the field, which keeps focus.
  await page.keyboard.type('000001');
  await page.keyboard.press('Enter');
  await page.locator('#code[aria-invalid=true]').waitFor();
  // Focus visits the message (so Orca reads it), then returns to the field.
  await page.waitForFunction(() => document.activeElement?.id === 'code');
  const tied = await page.evaluate(() => {
    const input = document.getElementById('code');
    const ids = input.getAttribute('aria-describedby').split(' ');
    const alert = document.querySelector('.errors [role=alert]');
    return { first: ids[0], alertId: alert.id, alert: alert.textContent, focus: document.activeElement.id };
  });
  assert.equal(tied.first, tied.alertId);
  assert.equal(tied.focus, 'code');
  assert.match(tied.alert, /does not match.*4 attempts left/);
  assert.match(await page.locator('main').innerText(), /4 attempts left/);

  // Show the demo card by keyboard and read the code off it.
  await tabTo(page, byText('Show the demo card'));
  await page.keyboard.press('Enter');
  assert.equal(await page.locator('.card-toggle').getAttribute('aria-expanded'), 'true');
  const code = await page.evaluate((k) => {
    const th = [...document.querySelectorAll('.demo-card th[scope=row]')].find((c) => c.textContent === k);
    return th.nextElementSibling.textContent;
  }, key);
  await page.locator('#code').focus();
  await page.keyboard.type(code);
  await page.keyboard.press('Enter');
  await page.locator('.card-panel').waitFor();
  assert.deepEqual(await focused(page), { tag: 'h1', id: 'home-title', text: 'Your documents' });
  assert.equal(await page.locator('#card-count').innerText(), '147 of 148 codes left');
  const progress = page.locator('.card-panel progress');
  assert.match(await progress.getAttribute('aria-label'), /Codes left on card/);
  assert.equal(await progress.getAttribute('value'), '147');

  // Open the first pending document.
  const title = fixtures.home.pending[0].title;
  await tabTo(page, startsWith(title), 60);
  await page.keyboard.press('Enter');
  await page.locator('.doc-text').waitFor();
  assert.equal((await focused(page)).id, 'doc-title');

  // "Read to the end" is a checkbox after the text, not a scroll position.
  await tabTo(page, byText('Sign'));
  await page.keyboard.press('Enter');
  await page.locator('#read-confirm[aria-invalid=true]').waitFor();
  await page.waitForFunction(() => document.activeElement?.id === 'read-confirm');
  await page.keyboard.press('Space');
  await tabTo(page, byText('Sign'));
  await page.keyboard.press('Enter');
  await page.locator('#code').waitFor();
  assert.match(await page.locator('main').innerText(), new RegExp(`You are signing: ${title}`));
  const signCode = await page.evaluate(() => {
    const k = document.querySelector('.key-box .key').textContent;
    return window.__fake.calls && window.__FAKE_SETUP__.fixtures.prompt_sign.demo_card.pairs.find((p) => p.key === k).code;
  });
  await page.keyboard.type(signCode);
  await page.keyboard.press('Enter');
  await page.locator('.verdict').waitFor();
  assert.equal((await focused(page)).id, 'signed-title');
  assert.match(await page.locator('.verdict-word').innerText(), /Demo signature: not legally valid/);

  await tabTo(page, byText('Save the signed PDF'));
  await page.keyboard.press('Enter');
  await page.locator('.saved [role=status]').waitFor();
  assert.match(await page.locator('.saved').innerText(), /Saved to .*\.pdf/);

  await tabTo(page, byText('Back to your documents'));
  await page.keyboard.press('Enter');
  await page.locator('.card-panel').waitFor();
  assert.equal(await page.locator('#card-count').innerText(), '146 of 148 codes left');

  await tabTo(page, byText('Verify a file'));
  await page.keyboard.press('Enter');
  await tabTo(page, byText('Choose a file'));
  await page.keyboard.press('Enter');
  await page.locator('#verify-result').waitFor();
  assert.equal((await focused(page)).id, 'verify-result');

  // Nothing secret reached the page: no token, and the password field was cleared.
  const calls = await page.evaluate(() => JSON.stringify(window.__fake.calls));
  assert.ok(!/token/i.test(await page.content()));
  assert.ok(calls.includes('"publicComputer":false'));
  assert.deepEqual(problems, []);
  await context.close();
});

test('language switch: <html lang> and every text follow, focus stays on the view', async () => {
  const { page, context, problems } = await openApp(env.browser, env.url, { lang: 'en', demo: true });
  await tabTo(page, byId('lang-switch'));
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.documentElement.lang === 'da');
  assert.equal(await page.locator('h1').innerText(), 'Velkommen til Kodekort');
  assert.equal(await page.locator('#lang-switch').innerText(), 'English');
  assert.equal((await focused(page)).tag, 'h1');
  assert.match(await page.locator('#demo-banner').innerText(), /DEMO: kun til øvelse/);
  const calls = await page.evaluate(() => window.__fake.calls.filter((c) => c.command === 'set_settings'));
  assert.equal(calls[0].args.settings.lang, 'da');
  assert.deepEqual(problems, []);
  await context.close();
});

test('settings: text size, contrast and motion apply to the page', async () => {
  const { page, context, problems } = await openApp(env.browser, env.url, { lang: 'en' });
  await page.locator('#nav [data-view=settings]').click();
  await page.locator('#text-size-200').check();
  await page.locator('#high-contrast').check();
  await page.locator('#reduced-motion').check();
  await page.locator('form.form button[type=submit]').click();
  await page.locator('main .notice').waitFor();
  const root = await page.evaluate(() => ({
    size: document.documentElement.style.fontSize,
    classes: document.documentElement.className,
  }));
  assert.equal(root.size, '200%');
  assert.match(root.classes, /high-contrast/);
  assert.match(root.classes, /reduce-motion/);
  assert.deepEqual(problems, []);
  await context.close();
});

test('idle warning: shown before the timeout, focus on "Stay signed in", which keeps the session', async () => {
  const { page, context, problems } = await openApp(env.browser, env.url, { lang: 'en', demo: true });
  // 121 s idle timeout: the warning comes 120 s early, after about 1 s.
  await page.evaluate(() => { window.__fake.home.idle_timeout_s = 121; });
  await page.locator('main .primary').first().click();
  await page.locator('#username').fill(account.username);
  await page.locator('#password').fill(account.password);
  await page.keyboard.press('Enter');
  await page.locator('.card-toggle').click();
  const code = await page.evaluate(() => {
    const k = document.querySelector('.key-box .key').textContent;
    return [...document.querySelectorAll('.demo-card th[scope=row]')].find((c) => c.textContent === k).nextElementSibling.textContent;
  });
  await page.locator('#code').fill(code);
  await page.keyboard.press('Enter');
  await page.locator('#idle-warning:not([hidden])').waitFor({ timeout: 5000 });
  assert.equal((await focused(page)).id, 'idle-stay');
  assert.equal(await page.locator('#idle-warning').getAttribute('role'), 'alertdialog');
  await page.keyboard.press('Enter');
  await page.locator('#idle-warning[hidden]').waitFor({ state: 'attached' });
  assert.match(await page.locator('#announce').innerText(), /still signed in/);
  assert.ok(await page.evaluate(() => window.__fake.calls.some((c) => c.command === 'keep_alive')));
  assert.deepEqual(problems, []);
  await context.close();
});

test('the vendored @tauri-apps/api is the locked npm release, unchanged', () => {
  for (const file of ['core.js', 'external/tslib/tslib.es6.js']) {
    const vendored = fs.readFileSync(path.join(root, 'ui/vendor/tauri-api', file));
    const locked = fs.readFileSync(path.join(root, 'tests/ui/node_modules/@tauri-apps/api', file));
    assert.ok(vendored.equals(locked), `${file} differs from node_modules`);
  }
});

test('a session the server ended leads back to the start, saying why', async () => {
  const { page, context, problems } = await openApp(env.browser, env.url, { lang: 'en', demo: true, errors: { home: 'session_expired' } });
  await logInWithTheDemoCard(page);
  await page.locator('.card-panel').waitFor();
  await page.locator('#nav [data-view=home]').click();
  await page.locator('#welcome-title').waitFor();
  assert.match(await page.locator('main .notice').innerText(), /session has ended/);
  assert.equal(await page.locator('#logout').isHidden(), true);
  assert.equal((await focused(page)).id, 'welcome-title');
  assert.deepEqual(problems, []);
  await context.close();
});

test('a second press while a request is in flight sends nothing more', async () => {
  const { page, context, problems } = await openApp(env.browser, env.url, { lang: 'en', demo: true, delayMs: 400 });
  await page.locator('#start-login').click();
  await page.locator('#username').fill(account.username);
  await page.locator('#password').fill(account.password);
  const next = page.locator('form.form button[type=submit]');
  await next.click();
  await next.click({ force: true });
  await page.locator('#code').waitFor();
  const logins = await page.evaluate(() => window.__fake.calls.filter((c) => c.command === 'login').length);
  assert.equal(logins, 1, 'one login, so no prompt is abandoned');
  assert.deepEqual(problems, []);
  await context.close();
});

test('a document that changed since it was shown is shown again, with the reason, and no code asked', async () => {
  const { page, context, problems } = await openApp(env.browser, env.url, { lang: 'en', demo: true, documentChanged: true });
  await logInWithTheDemoCard(page);
  await page.locator('.doc-link').first().click();
  await page.locator('#read-confirm').check();
  await page.locator('.sign-step button.primary').click();
  // Back on the document, fetched again, with the reason in a named alert.
  const alert = page.locator('.document .errors [role=alert]');
  await alert.waitFor();
  assert.match(await alert.innerText(), /changed since you opened it.*No code was used/s);
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('role')), 'alert', 'focus on the reason');
  assert.equal(await page.locator('#code').count(), 0, 'no code prompt');
  assert.equal(await page.locator('#read-confirm').isChecked(), false, 'read it again');
  const documents = await page.evaluate(() => window.__fake.calls.filter((c) => c.command === 'document').length);
  assert.equal(documents, 2, 'the text is fetched anew to be read again');
  assert.deepEqual(problems, []);
  await context.close();
});

test('after a login, home says where the session is kept, and announces it', async () => {
  const message = 'This computer has no keyring, so your session lasts only until the program closes.';
  const { page, context, problems } = await openApp(env.browser, env.url, { lang: 'en', demo: true, loginNotices: [{ code: 'no_keyring', message }] });
  await logInWithTheDemoCard(page);
  await page.locator('.card-panel').waitFor();
  assert.equal(await page.locator('main .notices .notice[data-notice=no_keyring]').innerText(), message);
  assert.match(await page.locator('#announce').innerText(), /no keyring/);
  assert.deepEqual(problems, []);
  await context.close();
});

for (const lang of ['en', 'da']) {
  test(`${lang}: opened by a service's login link: the service and key named, a warning, the code by keyboard, back to the browser; no axe violations`, async () => {
    const ui = catalogue(lang).ui;
    const fill = (text) => text.replaceAll('{service}', 'Skattestyrelsen');
    const { page, context, problems } = await openApp(env.browser, env.url, { lang, loginLink: true, server: 'https://kodekort.example' });
    await page.locator('#code').waitFor();
    assert.equal(await page.locator('h1').innerText(), fill(ui.service_login_title));
    assert.equal((await focused(page)).id, 'code', 'focus on the code field');
    assert.ok((await page.locator('.service-warning').innerText()).includes(fill(ui.service_login_warning)));
    const key = await page.locator('.key-box .key').innerText();
    assert.equal(key, fixtures.prompt_login.key);
    assert.match(await page.locator('#announce').innerText(), new RegExp(key));
    assert.deepEqual(await axe(page), [], 'the code step');

    await page.keyboard.type('000001');
    await page.keyboard.press('Enter');
    await page.locator('#code[aria-invalid=true]').waitFor();
    // Focus visits the message (so Orca reads it), then returns to the field.
    await page.waitForFunction(() => document.activeElement?.id === 'code');
    assert.match(await page.locator('main').innerText(), /\b4\b/, 'the attempts left, updated');
    assert.deepEqual(await axe(page), [], 'a wrong code');

    const right = fixtures.prompt_login.demo_card.pairs.find((p) => p.key === key).code;
    await page.keyboard.type(right);
    await page.keyboard.press('Enter');
    await page.locator('#service-done-title').waitFor();
    assert.equal(await page.locator('h1').innerText(), fill(ui.service_done_title));
    assert.equal((await focused(page)).id, 'service-done-title', 'focus on the new heading');
    assert.equal(await page.locator('#announce').innerText(), fill(ui.service_done_next));
    assert.deepEqual(await axe(page), [], 'done');
    await tabTo(page, byText(ui.done));
    await page.keyboard.press('Enter');
    await page.locator('#welcome-title').waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  });
}

test('a login link that is spent, or from another computer, says so and asks nothing', async () => {
  for (const loginLink of ['spent', 'elsewhere']) {
    const { page, context, problems } = await openApp(env.browser, env.url, { lang: 'en', loginLink, server: 'https://kodekort.example' });
    await page.locator('#service-link-title').waitFor();
    assert.equal(await page.locator('#code').count(), 0, 'no code asked');
    const said = await page.locator('[role=alert]').innerText();
    const code = loginLink === 'spent' ? 'app_link_unknown' : 'app_link_other_computer';
    assert.equal(said, catalogue('en').error[code]);
    assert.deepEqual(await axe(page), [], loginLink);
    assert.deepEqual(problems, []);
    await context.close();
  }
});

for (const lang of ['en', 'da']) {
  test(`${lang}: a new version: the header says so on every screen but Settings, which installs it by keyboard; a refusal is said; no axe violations`, async () => {
    const ui = catalogue(lang).ui;
    const fill = (text, version) => text.replaceAll('{version}', version);
    const update = { atStart: '0.2.0', available: '0.2.0', refuse: 'update_signature' };
    const { page, context, problems } = await openApp(env.browser, env.url, { lang, update });
    await page.locator('#update-notice:not([hidden])').waitFor();
    assert.equal(await page.locator('#update-notice').innerText(), `${fill(ui.update_ready, '0.2.0')} ${ui.update_open}`);
    assert.equal(await page.locator('#announce').innerText(), fill(ui.update_ready, '0.2.0'), 'announced once found');
    assert.deepEqual(await axe(page), [], 'the notice on the welcome screen');

    await tabTo(page, byText(ui.update_open));
    await page.keyboard.press('Enter');
    await page.locator('#versions-title').waitFor();
    assert.equal(await page.locator('#update-notice').isHidden(), true, 'Settings says it instead');
    assert.equal(await page.locator('#install-update').innerText(), fill(ui.update_install, '0.2.0'));
    assert.ok(await page.locator('#check-updates').isChecked());
    assert.deepEqual(await axe(page), [], 'Settings with a version to install');

    await tabTo(page, byId('install-update'));
    await page.keyboard.press('Enter');
    const error = page.locator('.versions [role=alert]');
    await error.waitFor();
    assert.match(await error.innerText(), new RegExp(catalogue(lang).error.update_signature.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('role')), 'alert', 'focus on the message');
    assert.equal(await page.locator('#install-update').count(), 0, 'the refused version is no longer offered');
    assert.equal(await page.locator('#check-update').count(), 1);
    assert.doesNotMatch(await page.locator('.versions').innerText(), /null|undefined/);
    assert.deepEqual(await axe(page), [], 'the refusal');

    // Looking again: nothing newer now; said, and focus stays on the button.
    await page.locator('#check-update').click();
    await page.locator('#update-status').waitFor();
    assert.equal(await page.locator('#update-status').innerText(), fill(ui.update_ready, '0.2.0'));
    assert.equal((await focused(page)).id, 'install-update');
    assert.deepEqual(problems, []);
    await context.close();
  });
}

test('checking for new versions can be turned off in Settings, and the check asked for says when no one answers', async () => {
  const { page, context, problems } = await openApp(env.browser, env.url, { lang: 'en', update: { unreachable: true } });
  await page.locator('#nav [data-view=settings]').click();
  await page.locator('#check-update').click();
  const error = page.locator('.versions [role=alert]');
  await error.waitFor();
  assert.match(await error.innerText(), /could not reach/);
  await page.locator('#check-updates').uncheck();
  await page.locator('form.form button[type=submit]').click();
  await page.locator('main .notice').waitFor();
  const calls = await page.evaluate(() => window.__fake.calls.filter((c) => c.command === 'set_settings'));
  assert.equal(calls.at(-1).args.settings.check_updates, false);
  assert.equal(await page.locator('#check-updates').isChecked(), false, 'kept after saving');
  assert.deepEqual(problems, []);
  await context.close();
});

test('a build not installed from a package says it does not look for new versions', async () => {
  const { page, context, problems } = await openApp(env.browser, env.url, { lang: 'en' });
  await page.locator('#nav [data-view=settings]').click();
  await page.locator('#versions-title').waitFor();
  assert.match(await page.locator('.versions').innerText(), /not installed from a package/);
  assert.equal(await page.locator('#check-update').count(), 0);
  assert.equal(await page.locator('#update-notice').isHidden(), true);
  assert.deepEqual(problems, []);
  await context.close();
});

for (const lang of ['en', 'da']) {
  test(`${lang}: started with --demo, the window says the demo is being prepared, announces it, and then offers the demo's login; no axe violations`, async () => {
    const ui = catalogue(lang).ui;
    const { page, context, problems } = await openApp(env.browser, env.url, { lang, demoStarting: 1500 });
    const preparing = page.locator('.welcome .preparing');
    await preparing.waitFor();
    assert.equal(await preparing.innerText(), ui.demo_preparing);
    assert.equal((await focused(page)).id, 'welcome-title', 'the heading has focus first');
    assert.equal(await page.locator('#announce').innerText(), ui.demo_preparing, 'said without moving');
    assert.equal(await page.locator('.welcome').getAttribute('aria-busy'), 'true');
    assert.equal(await page.locator('#start-demo').count(), 0, 'no second demo offered meanwhile');
    assert.deepEqual(await axe(page), [], 'while preparing');

    await page.locator('#demo-banner:not([hidden])').waitFor();
    await page.locator('table.accounts').waitFor();
    assert.equal(await preparing.count(), 0);
    assert.equal(await page.locator('#announce').innerText(), ui.demo_started);
    assert.equal((await focused(page)).id, 'welcome-title');
    assert.match(await page.title(), /DEMO/);
    const starts = await page.evaluate(() => window.__fake.calls.filter((c) => c.command === 'start_demo').length);
    assert.equal(starts, 1);
    assert.deepEqual(await axe(page), [], 'the demo ready');
    assert.deepEqual(problems, []);
    await context.close();
  });
}

test('started with --demo, a demo that cannot start says why on the welcome screen, which offers the choices again', async () => {
  const { page, context } = await openApp(env.browser, env.url, { lang: 'en', demoStarting: 100, demoFails: true });
  const error = page.locator('.welcome [role=alert]');
  await error.waitFor();
  assert.match(await error.innerText(), new RegExp(catalogue('en').error.demo_files_failed.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  assert.equal(await page.locator('.welcome .preparing').count(), 0);
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('role')), 'alert', 'focus on the message');
  assert.equal(await page.locator('#start-demo').count(), 1, 'the demo can be tried again');
  await context.close();
});
