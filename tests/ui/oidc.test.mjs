// The OpenID Connect login pages in Debian's Chromium, between two real
// programs: the `kodekort-server` binary, and a service's web site built on
// authlib (tests/oidc/authlib_rp.py, from the venv `cargo xtask test` makes).
// Each page and state has zero axe violations (WCAG 2.x A/AA) in both
// languages; the login is done by keyboard alone, and once more with
// JavaScript off.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { axe, tabTo, byText } from './harness.mjs';
import { startOidc, PASSWORD } from './oidc-env.mjs';

// `cargo xtask screenshots` sets this: the pages are saved there as PNGs.
const SHOTS = process.env.KODEKORT_OIDC_SHOTS;
let env = {};

before(async () => {
  env = await startOidc();
});

after(async () => {
  await env.stop?.();
});

const newPage = (options) => env.newPage(options);

async function noViolations(page, label) {
  assert.deepEqual(await axe(page), [], `${label}: axe violations`);
}

/** Saves the page for the README, when asked to. */
async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

const TEXT = {
  da: { login: 'Log på Skattestyrelsen', code: 'Indtast koden til nøgle', error: 'Fejl: ', consent: 'Vil du dele med Skattestyrelsen?',
    allow: 'Ja, del og fortsæt', logOut: 'Log ud', loggedOut: 'Du er logget ud af Kodekort', stop: 'Login kan ikke fortsætte' },
  en: { login: 'Log in to Skattestyrelsen', code: 'Type the code for key', error: 'Error: ', consent: 'Share with Skattestyrelsen?',
    allow: 'Yes, share and continue', logOut: 'Log out', loggedOut: 'You are logged out of Kodekort', stop: 'This login cannot continue' },
};

const heading = (page) => page.locator('h1').textContent();

/** The RP's page after the callback: who logged in, or what the library refused. */
async function loggedIn(page) {
  const error = page.locator('#rp-error');
  assert.equal(await error.count(), 0, await error.count() ? await error.textContent() : '');
  assert.equal(await heading(page), 'Logged in to Skattestyrelsen as Anna Ærø');
}

for (const lang of ['da', 'en']) {
  test(`${lang}: log in to a service by keyboard, every page without axe violations`, async () => {
    const t = TEXT[lang];
    const { context, page } = await newPage();
    // prompt=consent: the consent page comes in both languages' runs.
    await page.goto(`${env.rp}/login?lang=${lang}&prompt=consent`);
    assert.equal(await heading(page), t.login);
    assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'username', 'focus starts in the first field');
    await noViolations(page, 'password page');
    await shot(page, `oidc-${lang}-1-login`);

    await page.keyboard.type('anna');
    await page.keyboard.press('Tab');
    await page.keyboard.type('not the password');
    await page.keyboard.press('Enter');
    await page.locator('[role=alert]').waitFor();
    assert.ok((await page.title()).startsWith(t.error), 'the title says there is an error');
    // The username stays; focus is on the password, which names the error.
    assert.equal(await page.locator('#username').inputValue(), 'anna');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'password');
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-describedby')), 'error');
    await noViolations(page, 'password page: wrong password');

    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.locator('dd.key').waitFor();
    assert.ok((await heading(page)).startsWith(t.code));
    assert.equal(await page.evaluate(() => document.activeElement.id), 'code');
    await noViolations(page, 'code page');
    await shot(page, `oidc-${lang}-2-code`);

    const key = (await page.locator('dd.key').textContent()).trim();
    const right = env.codes[key];
    await page.keyboard.type(String((Number(right) + 1) % 1000000).padStart(6, '0'));
    await page.keyboard.press('Enter');
    await page.locator('#code[aria-invalid=true]').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'code', 'focus is back in the field');
    assert.match(await page.evaluate(() => document.activeElement.getAttribute('aria-describedby')), /^error /);
    await noViolations(page, 'code page: wrong code');
    await shot(page, `oidc-${lang}-3-code-error`);

    await page.keyboard.type(right);
    await page.keyboard.press('Enter');
    await page.locator('button[value=allow]').waitFor();
    assert.equal(await heading(page), t.consent);
    await noViolations(page, 'consent page');
    await shot(page, `oidc-${lang}-4-consent`);
    await tabTo(page, byText(t.allow));
    await page.keyboard.press('Enter');

    await page.waitForURL(`${env.rp}/callback**`);
    await loggedIn(page);
    const claims = JSON.parse(await page.locator('#claims').textContent());
    assert.equal(claims.acr, 'http://eidas.europa.eu/LoA/substantial');
    assert.deepEqual(claims.amr, ['pwd', 'otp']);

    // RP-initiated logout with the ID token as hint: back to the service.
    await page.locator('a', { hasText: 'Log out' }).click();
    await page.waitForURL(`${env.rp}/logged-out?state=bye`);
    // And now the service must ask for a code again.
    await page.goto(`${env.rp}/login?lang=${lang}&prompt=none`);
    await page.waitForURL(`${env.rp}/callback**`);
    assert.equal(await page.locator('#oauth-error').textContent(), 'login_required');
    await context.close();
  });

  test(`${lang}: error, logout and language pages without axe violations`, async () => {
    const t = TEXT[lang];
    const { context, page } = await newPage();
    const bad = new URL(`${env.issuer}/oidc/authorize`);
    for (const [k, v] of Object.entries({ client_id: env.clientId, redirect_uri: 'https://evil.example/cb', response_type: 'code', scope: 'openid', ui_locales: lang })) {
      bad.searchParams.set(k, v);
    }
    const response = await page.goto(bad.toString());
    assert.equal(response.status(), 400);
    assert.equal(await heading(page), t.stop);
    assert.equal(page.url(), bad.toString(), 'no redirect');
    await noViolations(page, 'error page');

    await page.goto(`${env.issuer}/oidc/logout?client_id=${env.clientId}&ui_locales=${lang}`);
    assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
    await noViolations(page, 'logout: confirm');
    await tabTo(page, byText(t.logOut));
    await page.keyboard.press('Enter');
    await page.locator('h1', { hasText: t.loggedOut }).waitFor();
    await noViolations(page, 'logout: done');

    // The language switch is a plain link.
    await page.goto(`${env.rp}/login?lang=${lang}`);
    const other = lang === 'da' ? 'en' : 'da';
    await page.locator(`a[hreflang=${other}]`).click();
    await page.locator('h1').filter({ hasText: TEXT[other].login }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), other);
    await noViolations(page, `password page switched to ${other}`);
    await context.close();
  });
}

test('the pages work with JavaScript off', async () => {
  const { context, page } = await newPage({ javaScriptEnabled: false });
  await page.goto(`${env.rp}/login?lang=en`);
  await page.locator('#username').fill('anna');
  await page.locator('#password').fill(PASSWORD);
  await page.locator('#password').press('Enter');
  await page.locator('dd.key').waitFor();
  const key = (await page.locator('dd.key').textContent()).trim();
  await page.locator('#code').fill(env.codes[key]);
  await page.locator('#code').press('Enter');
  // Consented in an earlier test, or asked now.
  const allow = page.locator('button[value=allow]');
  await Promise.race([allow.waitFor(), page.waitForURL(`${env.rp}/callback**`)]);
  if (await allow.count()) await allow.click();
  await page.waitForURL(`${env.rp}/callback**`);
  await loggedIn(page);
  await context.close();
});
