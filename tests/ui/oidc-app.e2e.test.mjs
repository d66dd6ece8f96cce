// "Continue in the Kodekort app", end to end between real programs: a
// service's web site (authlib) sends Chromium to `kodekort-server`'s login
// pages; the real desktop app (through tauri-driver, under Xvfb) is started
// with the code page's `kodekort://login/…` link, as the desktop starts it,
// names the service and the key, and takes the code; the browser page then
// goes on to the service's callback by itself, where authlib checks the ID
// token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { root } from './harness.mjs';
import { APP, startXvfb, startDriver, privateEnv, Session } from './desktop.js';
import { startOidc, PASSWORD } from './oidc-env.mjs';

// `cargo xtask screenshots` sets this: the app's screen is saved there for the README.
const SHOTS = process.env.KODEKORT_OIDC_SHOTS ?? path.join(root, 'target/e2e');
let xvfb;
let oidc;

before(async () => {
  oidc = await startOidc();
  xvfb = await startXvfb();
});

after(async () => {
  xvfb?.stop();
  await oidc?.stop();
});

/** A private home for the app, set up for this server as an administrator would. */
function appEnv(extra = {}) {
  const env = { ...privateEnv(xvfb.display), ...extra };
  fs.writeFileSync(env.KODEKORT_CONFIG,
    `language = "en"\npublic_computer = true\ndefault_server = "reference"\n\n[servers.reference]\n`
    + `url = "${oidc.issuer}"\nca = "${path.join(oidc.data, 'ca.pem')}"\n`);
  return env;
}

/** Chromium at the code page of a new login: the page, its key and its app link. */
async function codePage() {
  const { context, page } = await oidc.newPage();
  await page.goto(`${oidc.rp}/login?lang=en`);
  await page.locator('#username').fill('anna');
  await page.locator('#password').fill(PASSWORD);
  await page.locator('#password').press('Enter');
  await page.locator('dd.key').waitFor();
  const key = (await page.locator('dd.key').textContent()).trim();
  const link = await page.locator('a[href^="kodekort://login/"]').getAttribute('href');
  return { context, page, key, link };
}

/** The page goes on by itself once the app took the code: consent if asked, then the service. */
async function reachesTheService(page) {
  const allow = page.locator('button[value=allow]');
  await Promise.race([allow.waitFor({ timeout: 15000 }), page.waitForURL(`${oidc.rp}/callback**`, { timeout: 15000 })]);
  if (await allow.count()) await allow.click();
  await page.waitForURL(`${oidc.rp}/callback**`);
  assert.equal(await page.locator('#rp-error').count(), 0);
  assert.equal(await page.locator('h1').textContent(), 'Logged in to Skattestyrelsen as Anna Ærø');
  const claims = JSON.parse(await page.locator('#claims').textContent());
  assert.deepEqual(claims.amr, ['pwd', 'otp']);
}

/** A session bus of the test's own, for the single-instance hand-over. */
function startBus() {
  const bus = spawn('dbus-daemon', ['--session', '--nofork', '--print-address=1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: bus.stdout });
  return new Promise((resolve, reject) => {
    bus.once('exit', (code) => reject(new Error(`dbus-daemon exited with ${code}`)));
    lines.once('line', (address) => resolve({ address: address.trim(), stop: () => bus.kill('SIGTERM') }));
  });
}

test('the real app, opened by the login page\'s link, names the service and key, takes the code, and the browser reaches the service', async (t) => {
  const driver = await startDriver(appEnv());
  t.after(() => driver.stop());
  const { context, page, key, link } = await codePage();
  assert.equal(await page.locator('a[href^="kodekort://login/"]').textContent(), 'Continue in the Kodekort app');

  const session = await new Session(driver).start([link]);
  try {
    await session.waitFor('#code');
    assert.equal(await session.text('h1'), 'Log in to Skattestyrelsen');
    assert.equal(await session.text('.key-box .key'), key, 'the key the page asks');
    assert.equal(await session.execute('return document.activeElement.id;'), 'code');
    assert.match(await session.text('.service-warning'), /only if you started this login yourself, on this computer/);
    // Two frames and a pause: WebKit's screenshot can otherwise show an earlier frame.
    await session.executeAsync('const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done()));');
    await new Promise((r) => setTimeout(r, 400));
    await session.screenshot(path.join(SHOTS, 'app-service-login-en.png'));
    await session.type('#code', oidc.codes[key]);
    await session.click('form.form button[type=submit]');
    await session.waitFor('#service-done-title');
    assert.equal(await session.text('h1'), 'You are logged in to Skattestyrelsen');
  } finally {
    await session.end();
  }

  // The page saw the login move on, by its own script: consent, then the service.
  await reachesTheService(page);
  await context.close();
});

test('a link clicked while the app runs goes to the running app, which shows its login', async (t) => {
  // With a session bus, as on a desktop: a second start hands its link over and exits.
  const bus = await startBus();
  t.after(() => bus.stop());
  const env = appEnv({ DBUS_SESSION_BUS_ADDRESS: bus.address });
  const driver = await startDriver(env);
  t.after(() => driver.stop());
  const session = await new Session(driver).start([]);
  try {
    await session.waitFor('#welcome-title');
    const { context, page, key, link } = await codePage();
    const second = spawn(APP, [link], { env, stdio: 'ignore' });
    const code = await new Promise((resolve) => second.once('exit', resolve));
    assert.equal(code, 0, 'the second start handed its link over and left');
    await session.waitFor('#code');
    assert.equal(await session.text('h1'), 'Log in to Skattestyrelsen');
    assert.equal(await session.text('.key-box .key'), key);
    await session.type('#code', oidc.codes[key]);
    await session.click('form.form button[type=submit]');
    await session.waitFor('#service-done-title');
    await reachesTheService(page);
    await context.close();
  } finally {
    await session.end();
  }
});
