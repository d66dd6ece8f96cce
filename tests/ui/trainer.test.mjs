// The trainer's side in real headless Chromium (fake IPC replaying the app
// core's views): the trainer panel, the on-screen card with "find key",
// the guide and the untrusted-server screen have zero axe violations in
// both languages, and the trainer's work is done with the keyboard alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBrowser, openApp, axe, focused, fixtures, tabTo, byText, byId } from './harness.mjs';

const env = withBrowser();

const panel = fixtures.trainer;
const demo1 = panel.accounts[0];
const guideKey = fixtures.state_demo.demo_guide_key;
const guideCode = demo1.printed.pairs.find((p) => p.key === guideKey).code;

async function check(page, problems, label) {
  assert.deepEqual(await axe(page), [], `${label}: axe violations`);
  assert.deepEqual(problems, [], `${label}: page errors`);
}

const isFocused = (selector) => new Function(`return document.activeElement?.matches(${JSON.stringify(selector)}) ?? false;`);

for (const lang of ['da', 'en']) {
  test(`${lang}: trainer panel, card, guide and trust screen pass axe`, async () => {
    const { page, context, problems } = await openApp(env.browser, env.url, { lang, demo: true, loggedIn: true });
    await page.locator('#nav [data-view=trainer]').click();
    await page.locator('#trainer-accounts').waitFor();
    await check(page, problems, 'trainer panel');

    await page.locator('#trainer-card .find-key-input').fill(guideKey);
    await page.locator('#trainer-card .find-key-input').press('Enter');
    await page.locator('#trainer-card .find-answer p').waitFor();
    assert.match(await page.locator('#trainer-card .find-answer').innerText(), new RegExp(`${guideKey}.*${guideCode}`));
    await check(page, problems, 'trainer panel: a key found');

    await page.locator('#scenario-card_locked').check();
    await page.locator('#apply-scenario').click();
    await page.locator('#see-it').waitFor();
    await check(page, problems, 'trainer panel: scenario applied');
    await page.locator('#reset-demo').click();
    await page.locator('#reset-yes').waitFor();
    await check(page, problems, 'trainer panel: confirm reset');
    await page.locator('#reset-yes').click();
    await page.locator('#last-reset').filter({ hasText: /\d/ }).waitFor();
    await check(page, problems, 'trainer panel: after reset');

    await page.locator('#nav [data-view=guide]').click();
    await page.locator('#guide-title').waitFor();
    assert.equal(await page.locator('.guide-list > li').count(), 8);
    await check(page, problems, 'guide');

    await page.locator('#nav [data-view=trainer]').click();
    await page.locator('#scenario-server_identity').check();
    await page.locator('#apply-scenario').click();
    await page.locator('#see-it').click();
    await page.locator('#trust-title').waitFor();
    await check(page, problems, 'server identity not verified');
    await context.close();
  });

  test(`${lang}: the code step's card answers "find key", and a locked card shows its local unlock time`, async () => {
    let { page, context, problems } = await openApp(env.browser, env.url, { lang, demo: true });
    await page.locator('main .primary').first().click();
    await page.locator('#username').fill(fixtures.state_demo.demo_accounts[0].username);
    await page.locator('#password').fill(fixtures.state_demo.demo_accounts[0].password);
    await page.locator('form.form button[type=submit]').click();
    await page.locator('.card-toggle').click();
    const key = await page.locator('.key-box .key').innerText();
    await page.locator('.demo-card .find-key-input').fill(key);
    await page.locator('.demo-card .find-key-input').press('Enter');
    const answer = await page.locator('.demo-card .find-answer p').innerText();
    const code = fixtures.prompt_login.demo_card.pairs.find((p) => p.key === key).code;
    assert.ok(answer.includes(key) && answer.includes(code), answer);
    assert.equal(await page.locator('.demo-card .found').count(), 2, 'the pair is marked in the table');
    await page.locator('.demo-card .find-key-input').fill('12');
    await page.locator('.demo-card .find-key-input').press('Enter');
    assert.doesNotMatch(await page.locator('.demo-card .find-answer').innerText(), /\d{6}/);
    await check(page, problems, 'code step: card with a find-key answer');
    await context.close();

    ({ page, context, problems } = await openApp(env.browser, env.url, { lang, demo: true, errors: { login: 'too_many_attempts' } }));
    await page.locator('main .primary').first().click();
    await page.locator('#username').fill('demo2');
    await page.locator('#password').fill('x');
    await page.locator('form.form button[type=submit]').click();
    await page.locator('#blocked-title').waitFor();
    const text = await page.locator('main [role=alert]').innerText();
    const local = await page.evaluate(() => import('./js/i18n.js').then((i) => i.formatClock(new Date(Date.now() + 15 * 60 * 1000).toISOString())));
    assert.ok(text.includes(local.slice(0, -1)), `the unlock time in local time: ${text} (${local})`);
    await context.close();
  });
}

test('keyboard only: the trainer locks a card, resets, finds a key and reads the guide', async () => {
  const { page, context, problems } = await openApp(env.browser, env.url, { lang: 'en', demo: true });
  assert.equal((await focused(page)).id, 'welcome-title');

  await tabTo(page, byText('Trainer panel'));
  await page.keyboard.press('Enter');
  await page.locator('#trainer-accounts').waitFor();
  assert.equal((await focused(page)).id, 'trainer-title', 'focus on the panel heading');
  assert.match(await page.locator('#trainer-status').innerText(), /Not reset since/);

  // Pick demo2 in the account list, then "Card locked" with the arrow keys.
  await tabTo(page, isFocused('section[aria-labelledby=scenarios-title] select'));
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate(() => document.activeElement.value), 'demo2');
  await page.keyboard.press('Tab');
  assert.equal((await focused(page)).id, 'scenario-few_codes', 'Tab lands on the chosen radio');
  await page.keyboard.press('ArrowDown');
  assert.equal((await focused(page)).id, 'scenario-card_locked');
  await tabTo(page, byId('apply-scenario'));
  await page.keyboard.press('Enter');
  await page.locator('#see-it').waitFor();
  await page.waitForFunction(() => document.activeElement?.id === 'see-it');
  const result = await page.locator('.result').first().innerText();
  assert.match(result, /demo2.*locked until/s);
  assert.match(await page.locator('#trainer-accounts tr[data-username=demo2] .account-state').innerText(), /Locked until/);
  assert.ok(window_calls(await page.evaluate(() => window.__fake.calls)).includes('apply_scenario:demo2:card_locked'));

  // "Log in as demo2 to see it": the login form with the username filled in.
  await page.keyboard.press('Enter');
  await page.locator('#username').waitFor();
  assert.equal(await page.locator('#username').inputValue(), 'demo2');
  assert.equal((await focused(page)).id, 'password');

  // Back to the panel; reset with the confirmation.
  await tabTo(page, byText('Trainer panel'), 60);
  await page.keyboard.press('Enter');
  await page.locator('#trainer-accounts').waitFor();
  await tabTo(page, byId('reset-demo'), 80);
  await page.keyboard.press('Enter');
  assert.equal((await focused(page)).id, 'reset-question', 'focus on the question');
  await page.keyboard.press('Tab');
  assert.equal((await focused(page)).id, 'reset-yes');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.id === 'trainer-status');
  assert.match(await page.locator('#trainer-status').innerText(), /Last reset at/);
  assert.match(await page.locator('#announce').innerText(), /reset/);
  assert.match(await page.locator('#trainer-accounts tr[data-username=demo2] .account-state').innerText(), /^Active/);

  // Find key 0423 on demo1's card.
  await tabTo(page, isFocused('#trainer-card .find-key-input'), 120);
  await page.keyboard.type(guideKey);
  await page.keyboard.press('Enter');
  await page.locator('#trainer-card .find-answer p').waitFor();
  assert.equal(await page.locator('#trainer-card .find-answer').innerText(), `Key ${guideKey}: code ${guideCode}`);
  // Focus visits the answer (so Orca reads it) and comes back to the field,
  // which now has the answer as its description and the key selected.
  await page.waitForFunction(() => document.activeElement?.classList.contains('find-key-input'));
  const described = await page.evaluate(() => {
    const input = document.activeElement;
    const first = input.getAttribute('aria-describedby').split(' ')[0];
    return { text: document.getElementById(first)?.textContent, selected: input.selectionEnd - input.selectionStart };
  });
  assert.deepEqual(described, { text: `Key ${guideKey}: code ${guideCode}`, selected: 4 });
  await page.keyboard.type('9999');
  await page.keyboard.press('Enter');
  await page.locator('#trainer-card .find-answer p', { hasText: '9999' }).waitFor();
  assert.match(await page.locator('#trainer-card .find-answer').innerText(), /9999 is not on this card/);
  await page.waitForFunction(() => document.activeElement?.classList.contains('find-key-input'));

  // The guide, from the menu.
  await page.keyboard.press('Shift+Tab');
  await tabTo(page, byText('Trainer guide'), 200);
  await page.keyboard.press('Enter');
  await page.locator('#guide-title').waitFor();
  assert.equal((await focused(page)).id, 'guide-title');
  assert.match(await page.locator('#exercise-2').innerText(), new RegExp(guideKey));
  assert.deepEqual(problems, []);
  await context.close();
});

test('keyboard only: "session about to expire" shows the warning at once; "server identity" the advice', async () => {
  const { page, context, problems } = await openApp(env.browser, env.url, { lang: 'en', demo: true, loggedIn: true });
  await page.locator('#nav [data-view=home]').click();
  await page.locator('.card-panel').waitFor();
  await tabTo(page, byText('Trainer panel'), 60);
  await page.keyboard.press('Enter');
  await page.locator('#trainer-accounts').waitFor();
  assert.equal(await page.locator('section[aria-labelledby=scenarios-title] select').inputValue(), 'demo1', 'the signed-in account is chosen');
  await tabTo(page, byId('scenario-few_codes'));
  for (let i = 0; i < 3; i += 1) await page.keyboard.press('ArrowDown');
  assert.equal((await focused(page)).id, 'scenario-session_expiring');
  await tabTo(page, byId('apply-scenario'));
  await page.keyboard.press('Enter');
  await page.locator('#idle-warning:not([hidden])').waitFor();
  await page.waitForFunction(() => document.activeElement?.id === 'idle-stay');
  await page.keyboard.press('Enter');
  await page.locator('#idle-warning[hidden]').waitFor({ state: 'attached' });
  assert.ok((await page.evaluate(() => window.__fake.calls.map((c) => c.command))).includes('keep_alive'));

  await tabTo(page, byId('scenario-session_expiring'), 80);
  await page.keyboard.press('ArrowDown');
  assert.equal((await focused(page)).id, 'scenario-server_identity');
  await tabTo(page, byId('apply-scenario'));
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.id === 'see-it');
  await page.keyboard.press('Enter');
  await page.locator('#trust-title').waitFor();
  assert.match(await page.locator('main').innerText(), /Do not type your password/);
  // Any request that meets the untrusted server lands here too.
  await page.locator('#nav [data-view=home]').click();
  await page.waitForFunction(() => document.activeElement?.id === 'trust-title');
  await tabTo(page, byText('Trainer panel'), 60);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.id === 'trainer-title');
  await tabTo(page, byId('end-identity'), 80);
  await page.keyboard.press('Enter');
  await page.locator('#end-identity').waitFor({ state: 'detached' });
  assert.match(await page.locator('#announce').innerText(), /trusted again/);
  assert.deepEqual(problems, []);
  await context.close();
});

function window_calls(calls) {
  return calls.filter((c) => c.command === 'apply_scenario').map((c) => `apply_scenario:${c.args.username}:${c.args.scenario}`);
}
