// The real desktop app under a virtual display: Xvfb, tauri-driver and
// WebKitWebDriver, spoken to over the W3C WebDriver protocol with fetch
// (a handful of endpoints; no client library needed).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { root } from './harness.mjs';

export const APP = process.env.KODEKORT_APP ?? path.join(root, 'target/debug/kodekort-desktop');
export const TAURI_DRIVER = process.env.TAURI_DRIVER ?? path.join(root, 'target/tools/bin/tauri-driver');
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function portOpen(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.end(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

/** A private home, so WebKit writes nothing outside a temp folder. */
export function privateEnv(display) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kodekort-e2e-'));
  return {
    ...process.env,
    DISPLAY: display,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local/share'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_RUNTIME_DIR: home,
    KODEKORT_CONFIG: path.join(home, 'kodekort.toml'),
    LANG: 'en_GB.UTF-8',
    NO_AT_BRIDGE: '1',
    // No session bus here: without an address, the drivers (GLib programs)
    // would autolaunch one that outlives the test.
    DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/e2e-no-session-bus',
  };
}

/** Starts Xvfb on a free display number; returns {display, stop}. */
export async function startXvfb() {
  for (let n = 90; n < 110; n += 1) {
    if (fs.existsSync(`/tmp/.X11-unix/X${n}`) || fs.existsSync(`/tmp/.X${n}-lock`)) continue;
    const xvfb = spawn('Xvfb', [`:${n}`, '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
    for (let i = 0; i < 50; i += 1) {
      if (fs.existsSync(`/tmp/.X11-unix/X${n}`)) return { display: `:${n}`, stop: () => xvfb.kill('SIGTERM') };
      await sleep(100);
    }
    xvfb.kill('SIGTERM');
  }
  throw new Error('no free X display for Xvfb');
}

/** A port pair that nothing listens on yet, for tauri-driver and its WebKitWebDriver. */
async function freePorts() {
  for (;;) {
    const port = 4444 + Math.floor(Math.random() * 1000);
    if (!(await portOpen(port)) && !(await portOpen(port + 1000))) return port;
  }
}

/** tauri-driver on a free port. Stop it with SIGTERM so WebKitWebDriver goes too. */
export async function startDriver(env) {
  for (const file of [APP, TAURI_DRIVER]) {
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`cargo xtask test\`, which builds and installs it`);
  }
  const driver = { log: '' };
  const spawnDriver = async () => {
    const port = await freePorts();
    const child = spawn(TAURI_DRIVER, ['--port', String(port), '--native-port', String(port + 1000)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (d) => { driver.log += d; });
    child.once('exit', (code, signal) => { driver.log += `\n[tauri-driver on ${port} exited: ${code ?? signal}]`; });
    // Both tauri-driver and the WebKitWebDriver behind it must listen, or
    // the first request is reset.
    for (let i = 0; i < 100; i += 1) {
      if ((await portOpen(port)) && (await portOpen(port + 1000))) {
        Object.assign(driver, { child, url: `http://127.0.0.1:${port}`, port });
        return;
      }
      await sleep(100);
    }
    child.kill('SIGTERM');
    throw new Error(`tauri-driver did not listen: ${driver.log}`);
  };
  await spawnDriver();
  return {
    get url() { return driver.url; },
    get port() { return driver.port; },
    log: () => driver.log,
    stop: () => driver.child.kill('SIGTERM'),
    /** A new pair of drivers, for a WebKitWebDriver that stopped answering. */
    async restart() {
      driver.child.kill('SIGTERM');
      await spawnDriver();
    },
  };
}

export class Session {
  /** `driver` is startDriver's answer, or the address of a driver started elsewhere. */
  constructor(driver) {
    this.driver = typeof driver === 'string' ? { url: driver } : driver;
  }

  get url() {
    return this.driver.url;
  }

  async command(method, route, body) {
    const response = await fetch(`${this.url}${route}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await response.json();
    if (!response.ok) throw new Error(`${method} ${route}: ${JSON.stringify(json.value)}`);
    return json.value;
  }

  async start(args = []) {
    const capabilities = { alwaysMatch: { browserName: 'wry', 'tauri:options': { application: APP, args } } };
    let restarted = false;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const value = await this.command('POST', '/session', { capabilities });
        this.id = value.sessionId;
        return this;
      } catch (err) {
        // A connection reset while the drivers settle: try again, up to 15 s.
        if (!(err instanceof TypeError)) throw err;
        if (attempt >= 30) {
          // Twice on CI a WebKitWebDriver answered no request at all (the
          // connection closed each time, for 30 s). Once, a new pair of
          // drivers is started, and the reason is printed; a second failure
          // fails the test.
          const why = await this.whyNoSession(err);
          if (restarted || !this.driver.restart) throw new Error(why);
          console.log(`${why}\nstarting a new tauri-driver`);
          await this.driver.restart();
          restarted = true;
          attempt = 0;
        }
        await sleep(500);
      }
    }
  }

  /** What a failed start knows: the cause, whether the drivers still listen, and their log. */
  async whyNoSession(err) {
    const listening = async (port) => (port === undefined ? 'unknown' : (await portOpen(port)) ? 'listening' : 'not listening');
    const port = Number(new URL(this.url).port);
    return [
      `no WebDriver session after 30 tries: ${err.message} (${err.cause?.code ?? err.cause?.message ?? 'no cause'})`,
      `tauri-driver on ${port}: ${await listening(port)}; WebKitWebDriver on ${port + 1000}: ${await listening(this.driver.port && port + 1000)}`,
      `the drivers' log: ${this.driver.log?.() || '(empty)'}`,
    ].join('\n');
  }

  route(rest) {
    return `/session/${this.id}${rest}`;
  }

  async find(css) {
    const value = await this.command('POST', this.route('/element'), { using: 'css selector', value: css });
    return value[ELEMENT];
  }

  /** Waits until `css` matches a displayed element. */
  async waitFor(css, timeoutMs = 20000) {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const shown = await this.execute('const e = document.querySelector(arguments[0]); return !!e && !e.closest("[hidden]");', [css]);
      if (shown) return this.find(css);
      await sleep(100);
    }
    throw new Error(`timed out waiting for ${css}`);
  }

  /** Waits until the element's text matches `pattern`. */
  async waitForText(css, pattern, timeoutMs = 20000) {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const text = await this.execute('return document.querySelector(arguments[0])?.textContent ?? "";', [css]);
      if (pattern.test(text)) return text;
      await sleep(100);
    }
    throw new Error(`timed out waiting for ${css} to match ${pattern}`);
  }

  async click(css) {
    const el = await this.waitFor(css);
    await this.command('POST', this.route(`/element/${el}/click`), {});
  }

  async type(css, text) {
    const el = await this.waitFor(css);
    await this.command('POST', this.route(`/element/${el}/value`), { text });
  }

  async text(css) {
    const el = await this.waitFor(css);
    return this.command('GET', this.route(`/element/${el}/text`));
  }

  execute(script, args = []) {
    return this.command('POST', this.route('/execute/sync'), { script, args });
  }

  executeAsync(script, args = []) {
    return this.command('POST', this.route('/execute/async'), { script, args });
  }

  async screenshot(file) {
    // Two frames and a pause: WebKit's screenshot can otherwise show an earlier frame.
    await this.executeAsync('const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done()));');
    await sleep(400);
    const png = await this.command('GET', this.route('/screenshot'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, Buffer.from(png, 'base64'));
  }

  async end() {
    if (this.id) await this.command('DELETE', this.route('')).catch(() => {});
  }
}

/** The code for the key on screen, read off the on-screen demo card (shown if hidden). */
export async function codeFromCard(session) {
  if ((await session.execute('return document.querySelector(".demo-card").hidden;')) === true) {
    await session.click('.card-toggle');
  }
  return session.execute(`
    const key = document.querySelector('.key-box .key').textContent;
    const th = [...document.querySelectorAll('.demo-card th[scope=row]')].find((c) => c.textContent === key);
    return th.nextElementSibling.textContent;`);
}
