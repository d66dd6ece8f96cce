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
    let session = await new Session(driver).start();
    await session.waitFor('#welcome-title');
    await shoot(session, lang, '01-welcome');
    await session.end();

    session = await new Session(driver).start(['--demo']);
    await session.waitFor('.accounts');
    await shoot(session, lang, '02-welcome-demo');
    const [username, password] = await session.execute(
      'return [...document.querySelectorAll(".accounts tbody tr:first-child code")].map((c) => c.textContent);');
    await session.click('#start-login');
    await session.type('#username', username);
    await session.click('form.form button[type=submit]');
    await session.waitFor('.errors [role=alert]');
    await shoot(session, lang, '03-login-error');
    await session.type('#password', password);
    await session.click('form.form button[type=submit]');
    await session.waitFor('#code');
    await shoot(session, lang, '04-code');
    await session.type('#code', '12');
    await session.click('form.form button[type=submit]');
    await session.waitFor('#code[aria-invalid=true]');
    await session.click('.card-toggle');
    await shoot(session, lang, '05-code-error-card');
    await session.type('#code', await codeFromCard(session));
    await session.click('form.form button[type=submit]');
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
    await session.click('form.form button[type=submit]');
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
    await session.execute('document.documentElement.classList.remove("high-contrast"); document.documentElement.style.fontSize = "100%";');

    // The trainer's side.
    await session.click('#nav [data-view=trainer]');
    await session.waitFor('#trainer-accounts');
    await shoot(session, lang, '16-trainer');
    await session.click('#scenario-few_codes');
    await session.click('#apply-scenario');
    await session.waitFor('#see-it');
    await session.execute('document.querySelector("section[aria-labelledby=scenarios-title]").scrollIntoView();');
    await shoot(session, lang, '17-trainer-scenario');
    await session.click('#see-it');
    await session.waitFor('.card-panel');
    await shoot(session, lang, '18-home-few-codes');
    await session.click('#nav [data-view=trainer]');
    await session.waitFor('#trainer-card');
    const key = await session.execute('return document.querySelector("#trainer-card [data-key]").dataset.key;');
    await session.type('#trainer-card .find-key-input', key);
    await session.click('#trainer-card .find-key button');
    await session.waitFor('#trainer-card .find-answer p');
    await session.execute('document.getElementById("cards-title").scrollIntoView();');
    await shoot(session, lang, '19-trainer-find-key');
    await session.click('#nav [data-view=guide]');
    await session.waitFor('#guide-title');
    await shoot(session, lang, '20-guide');
    await session.click('#nav [data-view=trainer]');
    await session.waitFor('#trainer-accounts');
    await session.click('#scenario-server_identity');
    await session.click('#apply-scenario');
    await session.click('#see-it');
    await session.waitFor('#trust-title');
    await shoot(session, lang, '21-server-identity');
    await session.click('#nav [data-view=trainer]');
    await session.waitFor('#reset-demo');
    await session.click('#reset-demo');
    await session.waitFor('#reset-yes');
    await session.execute('document.getElementById("reset-title").scrollIntoView();');
    await shoot(session, lang, '22-reset-confirm');
    await session.click('#reset-yes');
    await session.waitForText('#last-reset', /\d/);
    await session.click('section[aria-labelledby=scenarios-title] select option[value=demo2]');
    await session.click('#scenario-card_locked');
    await session.click('#apply-scenario');
    await session.click('#see-it');
    await session.type('#password', 'kodekort-demo-2');
    await session.click('form.form button[type=submit]');
    await session.waitFor('#blocked-title');
    await shoot(session, lang, '23-card-locked');
    await session.end();
  } finally {
    driver.stop();
    xvfb.stop();
  }
}

await run('en', 'en_GB.UTF-8');
await run('da', 'da_DK.UTF-8');
