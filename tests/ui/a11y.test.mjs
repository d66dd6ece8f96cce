// Every screen in every state, in both languages, has zero axe violations
// (WCAG 2.0/2.1/2.2 A and AA), in real headless Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBrowser, openApp, axe, fixtures } from './harness.mjs';

const env = withBrowser();

const account = fixtures.state_demo.demo_accounts[0];

async function check(page, problems, label) {
  const violations = await axe(page);
  assert.deepEqual(violations, [], `${label}: axe violations`);
  assert.deepEqual(problems, [], `${label}: page errors`);
}

/** Demo → login form → code step. */
async function toCode(page) {
  const start = page.locator('main button', { hasText: /demo/i });
  if (await start.count()) {
    await start.first().click();
    await page.locator('.accounts').waitFor();
  }
  await page.locator('main .primary').first().click();
  await page.locator('#username').fill(account.username);
  await page.locator('#password').fill(account.password);
  await page.locator('form.form button[type=submit]').click();
  await page.locator('#code').waitFor();
}

async function codeOnScreen(page) {
  return page.evaluate(() => {
    const key = document.querySelector('.key-box .key').textContent;
    const cell = [...document.querySelectorAll('.demo-card th[scope=row]')].find((th) => th.textContent === key);
    return cell.nextElementSibling.textContent;
  });
}

async function toHome(page) {
  await toCode(page);
  await page.locator('.card-toggle').click();
  await page.locator('#code').fill(await codeOnScreen(page));
  await page.locator('form.form button[type=submit]').click();
  await page.locator('.card-panel').waitFor();
}

for (const lang of ['da', 'en']) {
  test(`${lang}: welcome, login and code step in every state`, async () => {
    const { page, context, problems } = await openApp(env.browser, env.url, { lang, server: 'https://kodekort.example:8443' });
    assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
    await check(page, problems, 'welcome with a server');

    await page.locator('main .primary').first().click();
    await page.locator('#username').waitFor();
    await check(page, problems, 'login form');
    await page.locator('form.form button[type=submit]').click();
    await page.locator('.errors [role=alert]').waitFor();
    await check(page, problems, 'login: required field');
    await page.locator('#username').fill('nobody');
    await page.locator('#password').fill('wrong password');
    await page.locator('form.form button[type=submit]').click();
    await page.locator('.errors [role=alert]').filter({ hasText: /./ }).waitFor();
    await check(page, problems, 'login: wrong password');
    await page.locator('form button.secondary').click();

    await toCode(page);
    assert.equal(await page.locator('#demo-banner').isVisible(), true);
    await check(page, problems, 'demo code step');
    await page.locator('.card-toggle').click();
    await check(page, problems, 'demo code step with the card shown');
    await page.locator('#code').fill('000001');
    await page.locator('form.form button[type=submit]').click();
    await page.locator('#code[aria-invalid=true]').waitFor();
    await check(page, problems, 'code step: wrong code');
    await context.close();
  });

  test(`${lang}: expired prompt, wait and locked card`, async () => {
    let { page, context, problems } = await openApp(env.browser, env.url, { lang, demo: true, expiresInS: 1 });
    await toCode(page);
    await page.locator('.expired button').waitFor();
    await check(page, problems, 'code step: expired');
    await context.close();

    for (const code of ['too_many_attempts', 'card_locked']) {
      ({ page, context, problems } = await openApp(env.browser, env.url, { lang, demo: true, errors: { login: code } }));
      await page.locator('main .primary').first().click();
      await page.locator('#username').fill(account.username);
      await page.locator('#password').fill(account.password);
      await page.locator('form.form button[type=submit]').click();
      await page.locator('#blocked-title').waitFor();
      await check(page, problems, `blocked: ${code}`);
      await context.close();
    }
  });

  test(`${lang}: home, document, signing, signed, verify, settings, about`, async () => {
    const { page, context, problems } = await openApp(env.browser, env.url, { lang, demo: true });
    await toHome(page);
    await check(page, problems, 'home');

    await page.locator('.doc-link').first().click();
    await page.locator('.doc-text').waitFor();
    await check(page, problems, 'document');
    await page.locator('.sign-step .primary').click();
    await page.locator('#read-confirm[aria-invalid=true]').waitFor();
    await check(page, problems, 'document: not read yet');
    await page.locator('.sign-step .secondary').click();
    await page.locator('.confirm-box').waitFor();
    await check(page, problems, 'document: confirm decline');
    await page.locator('#read-confirm').check();
    await page.locator('.sign-step .primary').click();
    await page.locator('#code').waitFor();
    await check(page, problems, 'sign code step');
    await page.locator('.card-toggle').click();
    await page.locator('#code').fill(await codeOnScreen(page));
    await page.locator('form.form button[type=submit]').click();
    await page.locator('.verdict').waitFor();
    await page.locator('details summary').click();
    await check(page, problems, 'signed, details open');
    await page.locator('.signed .primary').click();
    await page.locator('.saved [role=status]').waitFor();
    await check(page, problems, 'signed: saved');

    await page.locator('#nav [data-view=verify]').click();
    await page.locator('#verify-title').waitFor();
    await check(page, problems, 'verify');
    await page.locator('main .primary').click();
    await page.locator('#verify-result').waitFor();
    await check(page, problems, 'verify: demo result');

    await page.locator('#nav [data-view=settings]').click();
    await page.locator('#settings-title').waitFor();
    await check(page, problems, 'settings');
    await page.locator('#nav [data-view=about]').click();
    await page.locator('#about-title').waitFor();
    await page.locator('main .actions .secondary').first().click();
    await page.locator('.result p').waitFor();
    await check(page, problems, 'about: connection checked');

    await page.evaluate(() => import('./js/shell.js').then((s) => s.showIdleWarning()));
    await page.locator('#idle-warning').waitFor();
    await check(page, problems, 'idle warning');
    await context.close();
  });

  test(`${lang}: card states, high contrast, 200 % text and 320 px`, async () => {
    const cards = [
      { remaining: 12, replacement_serial: 'KK-0000-0002' },
      { status: 'locked' },
      { locked_until: '2026-11-26T12:30:00Z' },
    ];
    for (const card of cards) {
      const { page, context, problems } = await openApp(env.browser, env.url, { lang, demo: true, card });
      await toHome(page);
      await check(page, problems, `home with card ${JSON.stringify(card)}`);
      await context.close();
    }
    const { page, context, problems } = await openApp(env.browser, env.url, { lang, demo: true }, { width: 320, height: 640 });
    await page.evaluate(() => document.documentElement.classList.add('high-contrast'));
    await page.evaluate(() => { document.documentElement.style.fontSize = '200%'; });
    await check(page, problems, 'welcome at 320 px, 200 %, high contrast');
    await toHome(page);
    await check(page, problems, 'home at 320 px, 200 %, high contrast');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling at 320 px (overflow ${overflow}px)`);
    await context.close();
  });
}

for (const lang of ['da', 'en']) {
  test(`${lang}: verify when a file is altered or not signed`, async () => {
    const invalid = { file_name: 'altered.pdf', has_content: true,
      verdict: { code: 'content_altered', valid: false, demo: false, message: 'The text was changed after signing.', details: null } };
    let { page, context, problems } = await openApp(env.browser, env.url, { lang, fileVerdict: invalid });
    await page.locator('#nav [data-view=verify]').click();
    await page.locator('main .primary').click();
    await page.locator('.verdict-invalid').waitFor();
    await check(page, problems, 'verify: not valid');
    await context.close();

    ({ page, context, problems } = await openApp(env.browser, env.url, { lang, errors: { verify_file: 'not_a_signed_file' } }));
    await page.locator('#nav [data-view=verify]').click();
    await page.locator('main .primary').click();
    await page.locator('.errors [role=alert]').waitFor();
    await check(page, problems, 'verify: not a signed file');
    await context.close();
  });
}

test('canary: axe catches a planted unlabelled input', async () => {
  const { page, context, problems } = await openApp(env.browser, env.url, {});
  await check(page, problems, 'welcome without a server or the demo');
  await page.evaluate(() => {
    const input = document.createElement('input');
    input.type = 'text';
    document.querySelector('main').append(input);
  });
  const violations = await axe(page);
  assert.ok(violations.some((v) => v.startsWith('label:')), `axe missed the unlabelled input: ${violations}`);
  await context.close();
});
