// New versions, end to end in the real app (tauri-driver, under Xvfb): a
// manifest served from loopback as `cargo xtask package` writes it, read by
// tauri-plugin-updater in the app. The debug build trusts the test key of
// fixtures/updates/ (KODEKORT_UPDATE_PUBKEY, which a release build
// ignores); the signatures there were made once with `cargo tauri signer`
// (fixtures/updates/README.md).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { root } from './harness.mjs';
import { startXvfb, startDriver, privateEnv, Session } from './desktop.js';

const FIXTURES = path.join(root, 'tests/ui/fixtures/updates');
const fixture = (name) => fs.readFileSync(path.join(FIXTURES, name), 'utf8').trim();
const PAYLOAD = fs.readFileSync(path.join(FIXTURES, 'update-payload.bin'));
const SHOTS = path.join(root, 'target/e2e');

let xvfb;
let server;
let base;
// What /latest.json answers, and every path asked for.
let manifest = null;
let requests = [];

/** A manifest as `cargo xtask package` writes it, for this build (not from a package: `linux-x86_64`). */
function offer(version, signature) {
  return {
    version,
    notes: `Kodekort ${version}`,
    pub_date: '2026-12-01T12:00:00Z',
    platforms: { 'linux-x86_64': { url: `${base}/update-payload.bin`, signature: fixture(signature) } },
  };
}

before(async () => {
  xvfb = await startXvfb();
  server = http.createServer((req, res) => {
    requests.push(req.url);
    if (req.url === '/latest.json' && manifest) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(manifest));
    } else if (req.url === '/update-payload.bin') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': PAYLOAD.length });
      res.end(PAYLOAD);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => {
  server?.close();
  xvfb?.stop();
});

/** The app with the test key and this manifest address (an operator's `[updates] url`). */
async function startApp(t, url = `${base}/latest.json`) {
  const env = { ...privateEnv(xvfb.display), KODEKORT_UPDATE_PUBKEY: fixture('good.key.pub') };
  fs.writeFileSync(env.KODEKORT_CONFIG, `language = "en"\n\n[updates]\nurl = "${url}"\n`);
  const driver = await startDriver(env);
  t.after(() => driver.stop());
  const session = await new Session(driver).start();
  t.after(() => session.end());
  await session.waitFor('#welcome-title');
  return session;
}

async function openSettings(session) {
  await session.click('#nav [data-view="settings"]');
  await session.waitFor('#versions-title');
}

test('a signed newer version is offered when the app starts, and Settings offers to install it', async (t) => {
  manifest = offer('0.2.0', 'good-0.2.0.sig');
  requests = [];
  const session = await startApp(t);
  await session.waitForText('#update-notice', /Kodekort 0\.2\.0 is ready to install/);
  assert.deepEqual(requests, ['/latest.json'], 'the start asks the manifest, and fetches no package');
  await session.screenshot(path.join(SHOTS, 'update-notice.png'));
  await session.click('#update-notice button');
  await session.waitFor('#install-update');
  assert.equal(await session.text('#install-update'), 'Install Kodekort 0.2.0');
  assert.match(await session.text('.versions'), /You have Kodekort 0\.1\.0/);
  assert.equal(await session.execute('return document.getElementById("update-notice").hidden;'), true, 'Settings says it, not the header too');
});

test('an older version is not offered, and a manifest that calls an older release newer is refused at install', async (t) => {
  manifest = offer('0.0.9', 'good-0.0.9.sig');
  const session = await startApp(t);
  await openSettings(session);
  await session.click('#check-update');
  await session.waitForText('#update-status', /You have the newest version/);
  assert.equal(await session.execute('return document.activeElement.id;'), 'check-update');
  assert.equal(await session.execute('return document.getElementById("update-notice").hidden;'), true);

  // The 0.0.9 package and its good signature, announced as 0.2.0: the
  // signature names the version it was made for, so it fails.
  manifest = { ...offer('0.2.0', 'good-0.0.9.sig') };
  await session.click('#check-update');
  await session.waitFor('#install-update');
  await session.click('#install-update');
  await session.waitForText('.versions .error', /not signed with Kodekort's key/);
  assert.equal(await session.execute('return document.querySelector("#install-update") === null;'), true, 'the offer is gone');
});

test('a package signed with another key is refused with a clear message, and nothing is installed', async (t) => {
  manifest = offer('0.2.0', 'other-0.2.0.sig');
  requests = [];
  const session = await startApp(t);
  await session.waitForText('#update-notice', /0\.2\.0/);
  await openSettings(session);
  await session.click('#install-update');
  const error = await session.waitForText('.versions .error', /not signed/);
  assert.match(error, /The new version was not installed: it is not signed with Kodekort's key, so it may not come from Kodekort\. Your version is unchanged\./);
  assert.ok(requests.includes('/update-payload.bin'), 'the package was fetched, then refused');
  assert.equal(await session.execute('return document.activeElement.textContent;'), error, 'the message has focus');
  assert.equal(await session.execute('return document.querySelector("#install-update") === null && document.querySelector("#check-update") !== null;'), true);
  assert.match(await session.text('.versions'), /You have Kodekort 0\.1\.0/);
  assert.doesNotMatch(await session.text('.versions'), /null|undefined/);
  await session.execute('document.querySelector(".versions").scrollIntoView();');
  await session.screenshot(path.join(SHOTS, 'update-refused.png'));
});

test('with no network, the start says nothing, and only a check asked for says it could not reach the address', async (t) => {
  const closed = http.createServer();
  await new Promise((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = closed.address().port;
  await new Promise((resolve) => closed.close(resolve));
  const session = await startApp(t, `http://127.0.0.1:${port}/latest.json`);
  // Long enough for the refused connection to come back to the app.
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal(await session.execute('return document.querySelectorAll(".error, [role=alert]").length;'), 0);
  assert.equal(await session.execute('return document.getElementById("update-notice").hidden;'), true);
  assert.equal(await session.execute('return document.activeElement.id;'), 'welcome-title');
  await openSettings(session);
  await session.click('#check-update');
  await session.waitForText('.versions .error', /could not reach the address it looks for new versions at/);
});
