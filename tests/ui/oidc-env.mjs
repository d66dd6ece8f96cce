// The world of a service login, for the browser tests: the real
// `kodekort-server` binary with a citizen and a registered service, that
// service's web site built on authlib (tests/oidc/authlib_rp.py, from the
// venv `cargo xtask test` makes), and Debian's Chromium, which trusts
// exactly the server's key.
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { chromium } from 'playwright-core';
import { root, CHROMIUM, CHROMIUM_FLAGS } from './harness.mjs';

const SERVER = path.join(root, 'target/debug/kodekort-server');
const PYTHON = process.env.KODEKORT_RP_PYTHON;
export const PASSWORD = 'bumpy lantern orchard';

/** A free port on loopback, for the RP (its redirect URI is registered first). */
function freePort() {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Starts a program and waits for its first stdout line that matches. */
function startUntil(command, args, pattern) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, RUST_LOG: 'warn' } });
  const lines = readline.createInterface({ input: child.stdout });
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`${command} exited with ${code} before "${pattern}"`)));
    lines.on('line', (line) => {
      const match = line.match(pattern);
      if (match) resolve({ child, match });
    });
  });
}

function operator(args, input = '') {
  return execFileSync(SERVER, args, { input, encoding: 'utf8' });
}

/**
 * Starts it all. The answer: `issuer`, `rp` (the service's base URL),
 * `clientId`, `codes` (anna's card, key → code), `data` (the server's data
 * dir, with its `ca.pem`), `browser`, `newPage(options)`, and `stop()`.
 */
export async function startOidc() {
  if (!PYTHON) {
    throw new Error('KODEKORT_RP_PYTHON is not set: run `cargo xtask test`, or point it at a python3 with authlib==1.9.10 and requests');
  }
  if (!fs.existsSync(SERVER)) throw new Error(`${SERVER} is missing: cargo build -p kodekort-server`);
  const env = {};
  env.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kodekort-oidc-'));
  env.stop = async () => {
    await env.browser?.close();
    env.rpProcess?.kill();
    env.server?.kill('SIGTERM');
    fs.rmSync(env.dir, { recursive: true, force: true });
  };
  try {
    await setUp(env);
  } catch (err) {
    await env.stop();
    throw err;
  }
  return env;
}

async function setUp(env) {
  const data = path.join(env.dir, 'data');
  env.data = data;
  const card = path.join(env.dir, 'card.json');
  operator(['user', 'add', '--data', data, '--username', 'anna', '--name', 'Anna Ærø', '--password-stdin', '--card-json', card], `${PASSWORD}\n`);
  env.codes = Object.fromEntries(JSON.parse(fs.readFileSync(card, 'utf8')).codes.map((p) => [p.key, p.code]));
  const rpPort = await freePort();
  env.rp = `http://127.0.0.1:${rpPort}`;
  const registered = operator(['client', 'add', '--data', data, '--name', 'Skattestyrelsen',
    '--redirect-uri', `${env.rp}/callback`, '--post-logout-redirect-uri', `${env.rp}/logged-out`]);
  env.clientId = registered.match(/^client_id=(.+)$/m)[1];
  const secret = registered.match(/^client_secret=(.+)$/m)[1];

  const server = await startUntil(SERVER, ['serve', '--data', data, '--listen', '127.0.0.1:0'], /listening on https:\/\/127\.0\.0\.1:(\d+)/);
  env.server = server.child;
  env.issuer = `https://localhost:${server.match[1]}`;
  const rp = await startUntil(PYTHON, [path.join(root, 'tests/oidc/authlib_rp.py'), String(rpPort), env.issuer,
    path.join(data, 'ca.pem'), env.clientId, secret], /rp listening/);
  env.rpProcess = rp.child;

  // Chromium trusts exactly the server's key, nothing else.
  const leaf = new crypto.X509Certificate(fs.readFileSync(path.join(data, 'tls.pem')));
  const spki = crypto.createHash('sha256').update(leaf.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Debian's Chromium is missing at ${CHROMIUM}`);
  env.browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
    args: [...CHROMIUM_FLAGS, `--ignore-certificate-errors-spki-list=${spki}`] });
  env.newPage = async (options = {}) => {
    const context = await env.browser.newContext({ reducedMotion: 'reduce', viewport: { width: 800, height: 700 }, ...options });
    context.setDefaultTimeout(10000);
    return { context, page: await context.newPage() };
  };
}
