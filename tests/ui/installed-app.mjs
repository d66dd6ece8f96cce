// The installed package's app in a clean Debian tree (cargo xtask
// install-test): tauri-driver already runs there, as a citizen's user, on
// the display the task made; this drives it over WebDriver. The app starts
// as a citizen starts it from the menu (the first screen), then as a
// trainer starts it with --demo: the demo's accounts, and a login with the
// on-screen card.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { Session, codeFromCard } from './desktop.js';

const driver = process.env.KODEKORT_WEBDRIVER;
const shots = process.env.KODEKORT_SHOTS;

test('the installed app: first screen as from the menu, then --demo: the demo\'s accounts, and a login with the on-screen card', { skip: !driver && 'run by `cargo xtask install-test`' }, async () => {
  let session = await new Session(driver).start();
  try {
    await session.waitFor('#welcome-title');
    const heading = await session.text('#welcome-title');
    console.log(`install-test: first screen's heading: ${heading}`);
    assert.equal(await session.execute('return document.querySelectorAll("h1").length;'), 1);
    assert.equal(await session.execute('return document.activeElement.id;'), 'welcome-title');
    if (shots) await session.screenshot(path.join(shots, 'installed-app-first-screen.png'));
  } finally {
    await session.end();
  }

  // As a trainer starts it for a class: the window first, the demo behind it.
  session = await new Session(driver).start(['--demo']);
  try {
    await session.waitFor('.accounts');
    assert.match(await session.text('#demo-banner'), /DEMO/);
    console.log(`install-test: --demo: ${await session.execute('return document.querySelectorAll(".accounts tbody tr").length;')} demo accounts listed`);
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
  } catch (err) {
    // What the screen said, to tell a failing step from a slow one.
    console.log(`install-test: the screen then: ${await session.execute('return document.querySelector("main").innerText;').catch(() => '?')}`);
    if (shots) await session.screenshot(path.join(shots, 'installed-app-failure.png')).catch(() => {});
    throw err;
  } finally {
    await session.end();
  }
});
