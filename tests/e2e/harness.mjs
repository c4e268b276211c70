// harness.mjs: what every end-to-end test uses to run the real slashops
// binary on loopback.
//
// Design: each test file calls startServer() once (or per test when it
// needs a clean state). That creates a temporary data directory, bootstraps
// an admin account and token with the real CLI (`slashops admin ...`, which
// talks to the data directory directly, as an operator would), starts
// `slashops serve --listen 127.0.0.1:0`, reads the bound URL from the
// server's "listening" log line, and waits for /-/readiness. stop() sends
// SIGTERM and resolves with the exit code and everything the server logged,
// so tests can assert a clean shutdown and that no secret reached the log.
//
// The binary is $SLASHOPS_BIN, or build/src/cli/slashops under the repo.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const slashopsBin = process.env.SLASHOPS_BIN
  ? resolve(process.env.SLASHOPS_BIN)
  : join(repoRoot, 'build', 'src', 'cli', 'slashops');

export const ADMIN_PASSWORD = 'admin-password-e2e';

// Runs the CLI synchronously. The data directory is passed the way an
// operator would, through SLASHOPS_DATA_DIR. Returns {status, stdout, stderr}.
export function slashops(args, { dataDir, input, env } = {}) {
  const r = spawnSync(slashopsBin, args, {
    input: input ?? '',
    encoding: 'utf8',
    env: { ...process.env, ...(dataDir ? { SLASHOPS_DATA_DIR: dataDir } : {}), ...env },
    timeout: 30000,
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function must(r, what) {
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r;
}

// Creates a user with the CLI. Returns {username, password}.
export function cliCreateUser(dataDir, username, { admin = false, password, email } = {}) {
  const pw = password ?? `${username}-password-1`;
  const args = ['admin', 'user', 'create', username, '--password-stdin',
    '--email', email ?? `${username}@example.com`];
  if (admin) args.push('--admin');
  must(slashops(args, { dataDir, input: pw + '\n' }), `user create ${username}`);
  return { username, password: pw };
}

// Creates a personal access token with the CLI; returns the token string.
export function cliCreateToken(dataDir, username, { name = 'e2e', scopes = ['api'] } = {}) {
  const args = ['admin', 'token', 'create', username, '--name', name];
  for (const s of scopes) args.push('--scope', s);
  const r = must(slashops(args, { dataDir }), `token create ${username}`);
  const m = r.stdout.match(/glpat-[A-Za-z0-9_-]+/);
  if (!m) throw new Error(`no token in output: ${r.stdout}`);
  return m[0];
}

export async function startServer({ config, env = {}, args = [], bootstrap = true } = {}) {
  if (!existsSync(slashopsBin)) throw new Error(`slashops binary not found at ${slashopsBin}; build it or set SLASHOPS_BIN`);
  const dataDir = mkdtempSync(join(tmpdir(), 'slashops-e2e-'));
  let adminToken = null;
  if (bootstrap) {
    cliCreateUser(dataDir, 'root', { admin: true, password: ADMIN_PASSWORD });
    adminToken = cliCreateToken(dataDir, 'root', { name: 'e2e-admin' });
  }
  const serveArgs = ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, ...args];
  if (config) {
    const { writeFileSync } = await import('node:fs');
    const cfgPath = join(dataDir, 'test-config.yml');
    writeFileSync(cfgPath, config);
    serveArgs.push('--config', cfgPath);
  }
  const child = spawn(slashopsBin, serveArgs, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  let exited = null;
  const exitPromise = new Promise((res) => child.on('exit', (code, signal) => { exited = { code, signal }; res(exited); }));
  child.stdout.on('data', (d) => { log += d.toString(); });
  const url = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`server did not start in time:\n${log}`)), 15000);
    child.stderr.on('data', (d) => {
      log += d.toString();
      const m = log.match(/"msg":"listening"[^\n]*"url":"([^"]+)"/);
      if (m) { clearTimeout(timer); res(m[1]); }
    });
    exitPromise.then((e) => { clearTimeout(timer); rej(new Error(`server exited early (${JSON.stringify(e)}):\n${log}`)); });
  });
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`${url}/-/readiness`);
      if (r.status === 200) break;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  const srv = {
    url,
    dataDir,
    adminToken,
    pid: child.pid,
    child,
    get log() { return log; },
    get exited() { return exited; },
    slashops: (a, opts = {}) => slashops(a, { ...opts, dataDir }),
    createUser: (name, opts) => cliCreateUser(dataDir, name, opts),
    createToken: (name, opts) => cliCreateToken(dataDir, name, opts),
    api: (method, path, opts) => api(url, method, path, opts),
    // Peak resident memory of the server so far, in KiB (VmHWM).
    peakRssKiB() { return procStatusKiB(child.pid, 'VmHWM'); },
    rssKiB() { return procStatusKiB(child.pid, 'VmRSS'); },
    async stop({ keepData = false } = {}) {
      if (!exited) child.kill('SIGTERM');
      const e = await Promise.race([exitPromise, new Promise((r) => setTimeout(() => r(null), 15000))]);
      if (!e) { child.kill('SIGKILL'); await exitPromise; }
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
      return { ...exited, log };
    },
    async kill9() {
      child.kill('SIGKILL');
      await exitPromise;
    },
  };
  return srv;
}

function procStatusKiB(pid, field) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = s.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : null;
  } catch { return null; }
}

// A small API client: api(url, 'POST', '/api/v4/projects', {token, json, form, headers}).
// Returns {status, headers, text, json}.
export async function api(base, method, path, { token, json, form, body, headers = {}, bearer = false } = {}) {
  const h = { ...headers };
  if (token) {
    if (bearer) h['Authorization'] = `Bearer ${token}`;
    else h['PRIVATE-TOKEN'] = token;
  }
  let payload = body;
  if (json !== undefined) { h['Content-Type'] = 'application/json'; payload = JSON.stringify(json); }
  if (form !== undefined) { h['Content-Type'] = 'application/x-www-form-urlencoded'; payload = new URLSearchParams(form).toString(); }
  const r = await fetch(base + path, { method, headers: h, body: payload, redirect: 'manual' });
  const text = await r.text();
  let parsed = null;
  try { parsed = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, headers: r.headers, text, json: parsed };
}

// Runs git with no credential helpers or prompts. Returns {status, stdout, stderr}.
export function git(args, { cwd, env = {}, input } = {}) {
  const r = spawnSync('git', ['-c', 'credential.helper=', '-c', 'protocol.version=2', ...args], {
    cwd,
    input,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_TERMINAL_PROMPT: '0',
      GIT_ASKPASS: '/bin/false',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_AUTHOR_NAME: 'E2E', GIT_AUTHOR_EMAIL: 'e2e@example.com',
      GIT_COMMITTER_NAME: 'E2E', GIT_COMMITTER_EMAIL: 'e2e@example.com',
      HOME: tmpdir(),
      ...env,
    },
    maxBuffer: 256 * 1024 * 1024,
    timeout: 120000,
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function tempDir(prefix = 'slashops-e2e-work-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

// A URL with basic-auth credentials for git.
export function authUrl(url, user, secret) {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(secret);
  return u.toString();
}

// Launch options for Debian's Chromium with playwright-core.
export const chromiumLaunchOptions = {
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
};

// A minimal browser: keeps cookies between requests, never follows redirects.
export class Browser {
  constructor(base) { this.base = base; this.jar = new Map(); }
  cookieHeader() { return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '); }
  async request(method, path, { form, headers = {} } = {}) {
    const h = { ...headers };
    if (this.jar.size) h.Cookie = this.cookieHeader();
    let body;
    if (form) {
      h['Content-Type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const url = path.startsWith('http') ? path : this.base + path;
    const res = await fetch(url, { method, headers: h, body, redirect: 'manual' });
    const setCookies = res.headers.getSetCookie();
    for (const sc of setCookies) {
      const [pair] = sc.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (/Max-Age=0/i.test(sc) || value === '') this.jar.delete(name);
      else this.jar.set(name, value);
    }
    const text = await res.text();
    return { status: res.status, headers: res.headers, setCookies, text };
  }
  get(path) { return this.request('GET', path); }
  post(path, form) { return this.request('POST', path, { form }); }
}

export function formToken(html) {
  const m = html.match(/name="authenticity_token" value="([^"]*)"/);
  assert.ok(m, 'page has an authenticity_token');
  return m[1];
}

// Links chat user cu (in mm's team) to slashops user u through the real
// pages, as a person does: a command answers with the connect link, u
// signs in, opens it and authorizes. connectRe must capture the link (1)
// and its token (2). Returns the signed-in Browser and the token.
export const CONNECT_RE = /<(http:\/\/[^|>]+\/-\/profile\/chat_names\/new\?token=([A-Za-z0-9_-]+))\|connect your slashops account>/;
export async function linkChatAccount(baseUrl, mm, cu, u, { connectRe = CONNECT_RE } = {}) {
  const r = await mm.run('help', { user: cu });
  const m = r.text.match(connectRe);
  assert.ok(m, `a connect link: ${r.text}`);
  const b = new Browser(baseUrl);
  assert.equal((await signIn(b, u.username, u.password)).status, 302, 'signed in');
  const url = new URL(m[1]);
  const page = await b.get(url.pathname + url.search);
  assert.equal(page.status, 200, 'the link page opens');
  const done = await b.post('/-/profile/chat_names', { authenticity_token: formToken(page.text), token: m[2] });
  assert.equal(done.status, 302, 'authorized');
  return { browser: b, token: m[2] };
}

// Signs in through the form. extra: more form fields ({redirect_to: ...}),
// or a string: the redirect_to of the sign-in page itself (as a link
// bounced to sign-in would carry it), whose hidden field is then posted.
export async function signIn(b, login, password, extra = {}) {
  const redirectTo = typeof extra === 'string' ? extra : null;
  const page = await b.get('/users/sign_in' + (redirectTo ? `?redirect_to=${encodeURIComponent(redirectTo)}` : ''));
  assert.equal(page.status, 200);
  const form = { authenticity_token: formToken(page.text), 'user[login]': login, 'user[password]': password };
  const m = page.text.match(/name="redirect_to" value="([^"]*)"/);
  if (m) form.redirect_to = m[1].replaceAll('&amp;', '&');
  return b.post('/users/sign_in', redirectTo ? form : { ...form, ...extra });
}
