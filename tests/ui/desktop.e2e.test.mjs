// Layer 2: the real app (release or debug build) end to end under Xvfb,
// through tauri-driver and WebKitWebDriver: start the demo, log in with a
// code read off the on-screen card, sign a pending document, and check the
// card count dropped by two and the client's own check says "demo".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { root } from './harness.mjs';
import { startXvfb, startDriver, privateEnv, Session, codeFromCard } from './desktop.js';

let xvfb;
let driver;
const shots = path.join(root, 'target/e2e');

before(async () => {
  xvfb = await startXvfb();
  driver = await startDriver(privateEnv(xvfb.display));
});

after(() => {
  driver?.stop();
  xvfb?.stop();
});


function count(text) {
  const [remaining, total] = text.match(/\d+/g).map(Number);
  return { remaining, total };
}

test('the real app: demo, log in with the on-screen card, sign, the card count drops by 2, the signature verifies', async () => {
  const session = await new Session(driver.url).start();
  try {
    await session.waitFor('#welcome-title');
    assert.equal(await session.execute('return document.documentElement.lang;'), 'en');
    await session.click('#start-demo');
    await session.waitFor('.accounts');
    assert.match(await session.execute('return document.title;'), /DEMO/);
    assert.match(await session.text('#demo-banner'), /DEMO/);
    const [username, password] = await session.execute(
      'return [...document.querySelectorAll(".accounts tbody tr:first-child code")].map((c) => c.textContent);');
    await session.screenshot(path.join(shots, 'welcome-demo.png'));

    await session.click('#start-login');
    await session.type('#username', username);
    await session.type('#password', password);
    await session.click('form button[type=submit]');
    await session.waitFor('#code');
    assert.equal(await session.execute('return document.activeElement.id;'), 'code');
    await session.type('#code', await codeFromCard(session));
    await session.screenshot(path.join(shots, 'code-step.png'));
    await session.click('form button[type=submit]');

    await session.waitFor('.card-panel');
    const before = count(await session.text('#card-count'));
    assert.deepEqual(before, { remaining: 147, total: 148 }, 'the login used one code');
    await session.screenshot(path.join(shots, 'home.png'));

    await session.click('.doc-link');
    await session.waitFor('.doc-text');
    await session.click('#read-confirm');
    await session.click('.sign-step .primary');
    await session.waitFor('#code');
    await session.type('#code', await codeFromCard(session));
    await session.click('form button[type=submit]');
    await session.waitFor('.verdict');
    assert.match(await session.text('.verdict-word'), /Demo signature: not legally valid/);
    assert.equal(await session.execute('return document.querySelector(".verdict").className;'), 'verdict verdict-demo');
    await session.screenshot(path.join(shots, 'signed.png'));

    await session.click('.signed .secondary');
    await session.waitFor('.card-panel');
    const after = count(await session.text('#card-count'));
    assert.equal(148 - after.remaining, 2, 'a login and a signature: two codes');
    assert.equal(await session.execute('return document.querySelectorAll("[aria-labelledby=signed-title] li").length;'), 1);

    // axe in the real WebKitGTK page, as a second opinion to Chromium's.
    const axe = fs.readFileSync(path.join(root, 'tests/ui/node_modules/axe-core/axe.min.js'), 'utf8');
    await session.execute(axe);
    const violations = await session.executeAsync(`
      const done = arguments[arguments.length - 1];
      axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })
        .then((r) => done(r.violations.map((v) => v.id + ': ' + v.nodes.length)));`);
    assert.deepEqual(violations, []);
  } finally {
    await session.end();
  }
});
