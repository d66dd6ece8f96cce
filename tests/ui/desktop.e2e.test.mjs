// Layer 2: the real app (release or debug build) end to end under Xvfb,
// through tauri-driver and WebKitWebDriver: start the demo, log in with a
// code read off the on-screen card, sign a pending document, and check the
// card count dropped by two and the client's own check says "demo". Then a
// mock class: a second learner logs in and signs, the trainer panel shows
// both, reset restores the seed, and the "card locked" scenario shows the
// lock screen with the time it opens again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { root } from './harness.mjs';
import { spawn } from 'node:child_process';
import { APP, startXvfb, startDriver, privateEnv, Session, codeFromCard } from './desktop.js';

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


/** From home: open the first pending document, confirm reading, sign with the card's code. */
async function signFirstPending(session) {
  await session.click('.doc-link');
  await session.waitFor('.doc-text');
  await session.click('#read-confirm');
  await session.click('.sign-step .primary');
  await session.waitFor('#code');
  await session.type('#code', await codeFromCard(session));
  await session.click('form.form button[type=submit]');
  await session.waitFor('.verdict');
  assert.match(await session.text('.verdict-word'), /Demo signature: not legally valid/);
}

function count(text) {
  const [remaining, total] = text.match(/\d+/g).map(Number);
  return { remaining, total };
}

test('the real app: a mock class: demo, two learners log in with the on-screen card and sign, the trainer panel, reset, a locked card', async () => {
  const session = await new Session(driver).start();
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
    await session.click('form.form button[type=submit]');
    await session.waitFor('#code');
    assert.equal(await session.execute('return document.activeElement.id;'), 'code');
    await session.type('#code', await codeFromCard(session));
    await session.screenshot(path.join(shots, 'code-step.png'));
    await session.click('form.form button[type=submit]');

    await session.waitFor('.card-panel');
    const before = count(await session.text('#card-count'));
    assert.deepEqual(before, { remaining: 147, total: 148 }, 'the login used one code');
    await session.screenshot(path.join(shots, 'home.png'));

    await signFirstPending(session);
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

    // A second learner at the same PC, after the first logs out.
    await session.click('#logout');
    await session.waitFor('#welcome-title');
    const [second, secondPassword] = await session.execute(
      'return [...document.querySelectorAll(".accounts tbody tr:nth-child(2) code")].map((c) => c.textContent);');
    await session.click('#start-login');
    await session.type('#username', second);
    await session.type('#password', secondPassword);
    await session.click('form.form button[type=submit]');
    await session.waitFor('#code');
    await session.type('#code', await codeFromCard(session));
    await session.click('form.form button[type=submit]');
    await session.waitFor('.card-panel');
    await signFirstPending(session);

    // The trainer panel sees what both learners did; reset undoes it.
    await session.click('#nav [data-view=trainer]');
    await session.waitFor('#trainer-accounts');
    const cell = (user, name) => `#trainer-accounts tr[data-username=${user}] .${name}`;
    for (const user of [username, second]) {
      assert.equal(await session.text(cell(user, 'codes-left')), '146 of 148 codes left', user);
      assert.equal(await session.text(cell(user, 'documents-state')), '2 waiting, 1 signed, 0 declined', user);
    }
    const row = (name) => cell(username, name);
    assert.match(await session.text('#last-reset'), /Not reset/);
    await session.click('#reset-demo');
    await session.waitFor('#reset-yes');
    await session.click('#reset-yes');
    await session.waitForText('#last-reset', /Last reset at/);
    for (const user of [username, second]) {
      assert.equal(await session.text(cell(user, 'codes-left')), '148 of 148 codes left', user);
      assert.equal(await session.text(cell(user, 'documents-state')), '3 waiting, 0 signed, 0 declined', user);
    }
    assert.equal(await session.execute('return document.getElementById("logout").hidden;'), true, 'reset logs out');
    await session.screenshot(path.join(shots, 'trainer-after-reset.png'));

    // "Card locked" for the second account: the login stops at the lock
    // screen, which gives the time the card opens again.
    const other = second;
    await session.click(`section[aria-labelledby=scenarios-title] select option[value=${other}]`);
    await session.click('#scenario-card_locked');
    await session.click('#apply-scenario');
    await session.waitFor('#see-it');
    const applied = await session.text('.result p');
    const time = applied.match(/until (.+)\.$/)[1];
    await session.click('#see-it');
    await session.waitFor('#password');
    assert.equal(await session.execute('return document.getElementById("username").value;'), other);
    await session.type('#password', secondPassword);
    await session.click('form.form button[type=submit]');
    await session.waitFor('#blocked-title');
    assert.match(await session.text('#blocked-title'), /wait/i);
    assert.equal(await session.text('main [role=alert]'), `You can try again at ${time}.`);
    await session.screenshot(path.join(shots, 'card-locked.png'));
  } finally {
    await session.end();
  }
});

/** Processes on `display` whose command starts with `name` (read from /proc). */
function processesOn(display, name) {
  const found = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
      if (path.basename(cmd) !== name) continue;
      const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (env.includes(`DISPLAY=${display}`)) found.push(pid);
    } catch {
      // Gone while we looked, or not ours to read.
    }
  }
  return found;
}

test('the real app without a session bus starts no D-Bus daemon that outlives it', async (t) => {
  // A display of its own, so nothing else started on it is counted.
  const own = await startXvfb();
  t.after(() => own.stop());
  const env = privateEnv(own.display);
  delete env.DBUS_SESSION_BUS_ADDRESS;
  // The accessibility bridge is what asks for the bus: keep it on, as a citizen has it.
  delete env.NO_AT_BRIDGE;
  const app = spawn(APP, ['--demo'], { env, stdio: 'ignore' });
  const exited = new Promise((resolve) => app.once('exit', resolve));
  // Until its web process runs: the window is up, the bridge has asked.
  const end = Date.now() + 20000;
  const webProcess = () => fs.readdirSync('/proc').some((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[3] === String(app.pid)
        && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('WebKitWebProcess');
    } catch { return false; }
  });
  while (!webProcess() && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  assert.ok(webProcess(), 'the app opened its web view');
  await new Promise((r) => setTimeout(r, 2000));
  app.kill('SIGTERM');
  await exited;
  await new Promise((r) => setTimeout(r, 500));
  for (const name of ['dbus-launch', 'dbus-daemon']) {
    assert.deepEqual(processesOn(own.display, name), [], `a ${name} was left behind`);
  }
});
