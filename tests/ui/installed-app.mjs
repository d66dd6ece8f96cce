// The installed package's app in a clean Debian tree (cargo xtask
// install-test): tauri-driver already runs there, as a citizen's user, on
// the display the task made; this drives it over WebDriver. The app starts
// as a citizen starts it from the menu, then the demo: the first screen,
// the demo's accounts, and a login with the on-screen card.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { Session, codeFromCard } from './desktop.js';

const driver = process.env.KODEKORT_WEBDRIVER;
const shots = process.env.KODEKORT_SHOTS;

test('the installed app: first screen, demo, a login with the on-screen card', { skip: !driver && 'run by `cargo xtask install-test`' }, async () => {
  const session = await new Session(driver).start();
  try {
    await session.waitFor('#welcome-title');
    const heading = await session.text('#welcome-title');
    console.log(`install-test: first screen's heading: ${heading}`);
    assert.equal(await session.execute('return document.querySelectorAll("h1").length;'), 1);
    if (shots) await session.screenshot(path.join(shots, 'installed-app-first-screen.png'));
    await session.click('#start-demo');
    await session.waitFor('.accounts');
    assert.match(await session.text('#demo-banner'), /DEMO/);
    const [username, password] = await session.execute(
      'return [...document.querySelectorAll(".accounts tbody tr:first-child code")].map((c) => c.textContent);');
    await session.click('#start-login');
    await session.type('#username', username);
    await session.type('#password', password);
    await session.click('form.form button[type=submit]');
    await session.waitFor('#code');
    await session.type('#code', await codeFromCard(session));
    await session.click('form.form button[type=submit]');
    await session.waitFor('.doc-link');
    console.log(`install-test: logged in as ${username}; documents listed`);
    if (shots) await session.screenshot(path.join(shots, 'installed-app-home.png'));
  } finally {
    await session.end();
  }
});
