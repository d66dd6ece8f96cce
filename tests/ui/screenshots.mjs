// `cargo xtask screenshots`: every screen of the real app, in Danish and
// English, in demo mode, under Xvfb through tauri-driver. Writes
// docs/screenshots/<lang>-<nn>-<screen>.png. Look at them after UI changes.
import fs from 'node:fs';
import path from 'node:path';
import { root } from './harness.mjs';
import { startXvfb, startDriver, privateEnv, Session, codeFromCard } from './desktop.js';

const out = path.join(root, 'docs/screenshots');
fs.mkdirSync(out, { recursive: true });


async function shoot(session, lang, name) {
  // Two frames and a pause: WebKit's screenshot can otherwise show the frame before the last change.
  await session.executeAsync('const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done()));');
  await new Promise((r) => setTimeout(r, 400));
  await session.screenshot(path.join(out, `${lang}-${name}.png`));
  console.log(`docs/screenshots/${lang}-${name}.png`);
}

async function run(lang, locale) {
  const xvfb = await startXvfb();
  const env = { ...privateEnv(xvfb.display), LANG: locale };
  const driver = await startDriver(env);
  try {
    // Without the demo: the welcome screen of a fresh install.
    let session = await new Session(driver.url).start();
    await session.waitFor('#welcome-title');
    await shoot(session, lang, '01-welcome');
    await session.end();

    session = await new Session(driver.url).start(['--demo']);
    await session.waitFor('.accounts');
    await shoot(session, lang, '02-welcome-demo');
    const [username, password] = await session.execute(
      'return [...document.querySelectorAll(".accounts tbody tr:first-child code")].map((c) => c.textContent);');
    await session.click('#start-login');
    await session.type('#username', username);
    await session.click('form button[type=submit]');
    await session.waitFor('.errors [role=alert]');
    await shoot(session, lang, '03-login-error');
    await session.type('#password', password);
    await session.click('form button[type=submit]');
    await session.waitFor('#code');
    await shoot(session, lang, '04-code');
    await session.type('#code', '12');
    await session.click('form button[type=submit]');
    await session.waitFor('#code[aria-invalid=true]');
    await session.click('.card-toggle');
    await shoot(session, lang, '05-code-error-card');
    await session.type('#code', await codeFromCard(session));
    await session.click('form button[type=submit]');
    await session.waitFor('.card-panel');
    await shoot(session, lang, '06-home');
    await session.click('.doc-link');
    await session.waitFor('.doc-text');
    await shoot(session, lang, '07-document');
    await session.click('.sign-step .primary');
    await session.waitFor('#read-confirm[aria-invalid=true]');
    await shoot(session, lang, '08-document-not-read');
    await session.click('#read-confirm');
    await session.click('.sign-step .primary');
    await session.waitFor('#code');
    await session.click('.card-toggle');
    await shoot(session, lang, '09-sign-code');
    await session.type('#code', await codeFromCard(session));
    await session.click('form button[type=submit]');
    await session.waitFor('.verdict');
    await session.click('.verdict summary');
    await shoot(session, lang, '10-signed');
    await session.click('#nav [data-view=verify]');
    await session.waitFor('#verify-title');
    await shoot(session, lang, '11-verify');
    await session.click('#nav [data-view=settings]');
    await session.waitFor('#settings-title');
    await shoot(session, lang, '12-settings');
    await session.click('#nav [data-view=about]');
    await session.waitFor('#about-title');
    await session.click('main .actions .secondary');
    await session.waitFor('.result p');
    await shoot(session, lang, '13-about');
    await session.click('#nav [data-view=home]');
    await session.waitFor('.card-panel');
    await session.executeAsync('const done = arguments[0]; import("./js/shell.js").then((s) => { s.showIdleWarning(); done(); });');
    await session.waitFor('#idle-warning');
    await shoot(session, lang, '14-idle-warning');
    await session.click('#idle-stay');
    await session.execute('document.documentElement.classList.add("high-contrast"); document.documentElement.style.fontSize = "150%";');
    await shoot(session, lang, '15-home-high-contrast');
    await session.end();
  } finally {
    driver.stop();
    xvfb.stop();
  }
}

await run('en', 'en_GB.UTF-8');
await run('da', 'da_DK.UTF-8');
