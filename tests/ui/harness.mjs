// Shared by the UI test files: a loopback static server for ui/, Debian's
// Chromium through playwright-core, the catalogue, a fake IPC injected
// before the page's scripts, and axe-core.
import { before, after } from 'node:test';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '../..');
const uiDir = path.join(root, 'ui');

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.png': 'image/png', '.json': 'application/json' };

/** Serves ui/ on 127.0.0.1 (file:// blocks ES modules), with the app's CSP. */
export function serveUi() {
  const csp = JSON.parse(fs.readFileSync(path.join(root, 'tauri.conf.json'), 'utf8')).app.security.csp;
  const header = Object.entries(csp).filter(([k]) => k !== 'connect-src').map(([k, v]) => `${k} ${v}`).join('; ');
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const file = path.normalize(path.join(uiDir, decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname)));
    if (!file.startsWith(uiDir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'content-security-policy': header });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}/` })));
}

export const CHROMIUM = '/usr/lib/chromium/chromium';
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launch() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Debian's Chromium is missing at ${CHROMIUM}: apt-get install chromium (cargo xtask test does it)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
}

/** The catalogue files, parsed: only [section] and key = "basic string" lines occur in them. */
export function catalogue(lang) {
  const text = fs.readFileSync(path.join(root, `crates/client/catalogue/${lang}.toml`), 'utf8');
  const table = {};
  let section = null;
  for (const line of text.split('\n')) {
    const header = line.match(/^\[(\w+)\]\s*$/);
    const entry = line.match(/^(\w+)\s*=\s*(".*")\s*$/);
    if (header) table[(section = header[1])] = {};
    else if (entry && section) table[section][entry[1]] = JSON.parse(entry[2]);
  }
  return table;
}

const fixture = (name) => JSON.parse(fs.readFileSync(path.join(here, 'fixtures', name), 'utf8'));
export const fixtures = { ...fixture('views.json'), ...fixture('trainer.json') };

/**
 * A page with the fake IPC (fake-ipc.js) installed before any page script.
 * `config` picks the fake's state: {demo, server, loggedIn, errors: {command: code}, card: {...}}.
 */
export async function openApp(browser, baseUrl, config = {}, viewport = { width: 1024, height: 768 }) {
  const context = await browser.newContext({ viewport, reducedMotion: 'reduce' });
  context.setDefaultTimeout(8000);
  const page = await context.newPage();
  const setup = { config, fixtures, catalogue: { da: catalogue('da'), en: catalogue('en') } };
  await page.addInitScript({ content: `window.__FAKE_SETUP__ = ${JSON.stringify(setup)};` });
  await page.addInitScript({ path: path.join(here, 'fake-ipc.js') });
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  await page.goto(baseUrl);
  await page.waitForSelector('main h1');
  return { page, context, problems };
}

const AXE = fs.readFileSync(path.join(here, 'node_modules/axe-core/axe.min.js'), 'utf8');

/** axe-core on the page as it is now: WCAG 2.0/2.1/2.2 A and AA. */
export async function axe(page) {
  await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
    resultTypes: ['violations'],
  }));
  return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

/** What has focus: tag, id and accessible text, for assertions. */
export async function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    return { tag: el?.tagName.toLowerCase(), id: el?.id ?? '', text: (el?.textContent ?? '').trim().slice(0, 80) };
  });
}

/** Presses Tab until the focused element matches, as a keyboard user would. */
export async function tabTo(page, matches, limit = 40) {
  for (let i = 0; i < limit; i += 1) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(matches)) return;
  }
  throw new Error(`Tab never reached ${matches}`);
}

export const byText = (text) => new Function(`return (document.activeElement?.textContent ?? '').trim() === ${JSON.stringify(text)};`);
export const startsWith = (text) => new Function(`return (document.activeElement?.textContent ?? '').trim().startsWith(${JSON.stringify(text)});`);
export const byId = (id) => new Function(`return document.activeElement?.id === ${JSON.stringify(id)};`);

/**
 * Serves the UI and starts Chromium once for the test file that calls it;
 * `env.url` and `env.browser` are set before its first test.
 */
export function withBrowser() {
  const env = {};
  before(async () => {
    ({ server: env.server, url: env.url } = await serveUi());
    env.browser = await launch();
  });
  after(async () => {
    await env.browser?.close();
    env.server?.close();
  });
  return env;
}
