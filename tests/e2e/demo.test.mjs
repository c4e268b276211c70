// demo.test.mjs: the README's run command as a new user meets it, and the
// bootstrap commands the demo is built from.
//
// Design:
//  - `admin integration set` and `admin chat link` are tested through the
//    CLI beside a running server (harness.startServer), judged by what the
//    trigger endpoint then answers: the token works (and a wrong one gets
//    GitLab's 404), the linked chat account is recognised (no connect
//    link), a second link of the same account is refused.
//  - The demo: scripts/run.sh runs with SLASHOPS_BIN (no rebuild), a
//    temporary SLASHOPS_DATA_DIR and free ports for SLASHOPS_LISTEN and
//    SLASHOPS_RECEIVER_LISTEN. The test waits for the two printed curl
//    commands, runs each with `sh -c` exactly as printed, checks the
//    immediate "Your ChatOps job ... has been created!" reply, and then
//    waits for the receiver's output (prefixed "[receiver]" in run.sh's
//    stdout) to show hello-world's "Hello World" and ls's listing of the
//    demo checkout. SIGTERM to run.sh must stop the server and the
//    receiver: afterwards no process carries the test's data directory in
//    its environment and both ports refuse connections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { mkdtempSync, rmSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, slashopsBin, slashops, startServer, api } from './harness.mjs';
import { goValuesEncode } from './fakemattermost.mjs';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function portOpen(port) {
  return new Promise((resolve) => {
    const c = connect({ host: '127.0.0.1', port });
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}

async function waitFor(fn, what, timeoutMs = 20000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Processes whose environment holds SLASHOPS_DATA_DIR=dir.
function processesWithDataDir(dir) {
  const needle = `SLASHOPS_DATA_DIR=${dir}\0`;
  const pids = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/environ`, 'latin1').includes(needle)) pids.push(Number(p));
    } catch { /* gone, or not ours */ }
  }
  return pids;
}

function trigger(url, projectId, token, fields) {
  const body = goValuesEncode(Object.entries({
    channel_id: 'demochannel000000000000000', channel_name: 'town-square', command: '/ops',
    response_url: 'http://127.0.0.1:9/hooks/x', team_domain: 'demo',
    team_id: 'demoteam000000000000000000', text: 'help', token,
    trigger_id: `t${Date.now()}${Math.random()}`, user_id: 'demouser00000000000000000a',
    user_name: 'root', ...fields,
  }));
  return fetch(`${url}/api/v4/projects/${projectId}/integrations/mattermost_slash_commands/trigger`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Token ${token}`,
      Accept: 'application/json', 'User-Agent': 'Mattermost-Bot/1.1' },
    body,
  });
}

test('admin integration set and admin chat link bootstrap a working slash command', async () => {
  const srv = await startServer();
  try {
    const r = await api(srv.url, 'POST', '/api/v4/projects', { token: srv.adminToken, json: { name: 'demo', path: 'demo' } });
    assert.equal(r.status, 201);
    const projectId = r.json.id;
    const env = { SLASHOPS_DATA_DIR: srv.dataDir };

    let c = slashops(['admin', 'integration', 'set', 'root/demo'], { env });
    assert.equal(c.status, 2, 'without --token-stdin it is a usage error');
    c = slashops(['admin', 'integration', 'set', 'root/nope', '--token-stdin'], { env, input: 'x\n' });
    assert.equal(c.status, 1);
    assert.match(c.stderr, /project "root\/nope" not found/);
    c = slashops(['admin', 'integration', 'set', 'root/demo', '--token-stdin'], { env, input: 'demotoken1\n' });
    assert.equal(c.status, 0, c.stderr);
    assert.doesNotMatch(c.stdout + c.stderr, /demotoken1/, 'the token is never echoed');

    // The token works; a wrong one is GitLab's 404.
    let res = await trigger(srv.url, projectId, 'wrongtoken');
    assert.equal(res.status, 404);
    res = await trigger(srv.url, projectId, 'demotoken1');
    assert.equal(res.status, 200);
    let j = await res.json();
    assert.match(JSON.stringify(j), /chat_names\/new\?token=/, 'unlinked: a connect link');

    // Link the chat account with the CLI: the same request now gets help.
    const link = ['admin', 'chat', 'link', 'root', '--team-id', 'demoteam000000000000000000',
      '--team-domain', 'demo', '--chat-id', 'demouser00000000000000000a', '--chat-name', 'root'];
    c = slashops(link.slice(0, 6), { env });
    assert.equal(c.status, 2, 'missing options are a usage error');
    c = slashops(link, { env });
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.stdout, /linked to root/);
    c = slashops(link, { env });
    assert.equal(c.status, 1);
    assert.match(c.stderr, /already linked/);
    res = await trigger(srv.url, projectId, 'demotoken1');
    j = await res.json();
    assert.doesNotMatch(JSON.stringify(j), /chat_names\/new/);
    assert.match(j.text, /Available commands/);

    // --inactive switches it off (404), a new token replaces the old one.
    c = slashops(['admin', 'integration', 'set', String(projectId), '--token-stdin', '--inactive'], { env, input: 'demotoken1\n' });
    assert.equal(c.status, 0, c.stderr);
    assert.equal((await trigger(srv.url, projectId, 'demotoken1')).status, 404);
    c = slashops(['admin', 'integration', 'set', 'root/demo', '--token-stdin'], { env, input: 'demotoken2\n' });
    assert.equal(c.status, 0, c.stderr);
    assert.equal((await trigger(srv.url, projectId, 'demotoken1')).status, 404);
    assert.equal((await trigger(srv.url, projectId, 'demotoken2')).status, 200);
  } finally {
    await srv.stop();
  }
});

test('the README demo: run.sh prints Mattermost-exact curl commands whose job replies reach the receiver', { timeout: 90000 }, async () => {
  const data = mkdtempSync(join(tmpdir(), 'slashops-e2e-demo-'));
  const port = await freePort();
  const rport = await freePort();
  const child = spawn('bash', [join(repoRoot, 'scripts', 'run.sh')], {
    cwd: repoRoot,
    env: { ...process.env, SLASHOPS_BIN: slashopsBin, SLASHOPS_DATA_DIR: data,
      SLASHOPS_LISTEN: `127.0.0.1:${port}`, SLASHOPS_RECEIVER_LISTEN: `127.0.0.1:${rport}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  try {
    const curls = await waitFor(() => {
      const m = out.match(/^ {2}curl .*$/gm);
      return m && m.length >= 2 ? m : null;
    }, `the printed curl commands (stdout: ${out.slice(-500)} stderr: ${err.slice(-500)})`, 60000);
    assert.match(curls[0], /text=run\+hello-world&/);
    assert.match(curls[1], /text=run\+ls&/);
    for (const line of curls) {
      // Mattermost's form: keys sorted, Authorization: Token, its User-Agent.
      const body = line.match(/--data "([^"]*)"/)[1];
      const keys = body.split('&').map((kv) => kv.split('=')[0]);
      assert.deepEqual(keys, [...keys].sort());
      assert.deepEqual(keys, ['channel_id', 'channel_name', 'command', 'response_url', 'team_domain',
        'team_id', 'text', 'token', 'trigger_id', 'user_id', 'user_name']);
      assert.match(line, /-H 'Authorization: Token [a-z0-9]{26}'/);
      assert.match(line, /Mattermost-Bot\/1\.1/);
      assert.ok(body.includes(`response_url=http%3A%2F%2F127.0.0.1%3A${rport}%2Fhooks%2Fdemo`));
    }
    for (const line of curls) {
      const r = spawnSync('sh', ['-c', line.trim()], { encoding: 'utf8', timeout: 10000 });
      assert.equal(r.status, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      assert.match(j.text, /^Your ChatOps job <[^>]*\/root\/demo\/-\/jobs\/\d+\|#\d+> has been created!$/);
    }
    const recv = () => out.split('\n').filter((l) => l.startsWith('[receiver] ')).map((l) => l.slice(11)).join('\n');
    await waitFor(() => /^Hello World$/m.test(recv()), `Hello World at the receiver (got: ${recv()})`);
    await waitFor(() => /Name: ls/.test(recv()) && /\.gitlab-ci\.yml$/m.test(recv()),
      `the ls listing at the receiver (got: ${recv()})`);
    const text = recv();
    assert.match(text, /completed successfully/);
    assert.match(text, /^-\S+ .* README\.md$/m);
    assert.match(text, /^d\S+ .* \.git$/m);
    assert.doesNotMatch(text, /failed!/);
  } finally {
    child.kill('SIGTERM');
    const res = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 15000))]);
    const left = processesWithDataDir(data);
    for (const pid of left) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    rmSync(data, { recursive: true, force: true });
    rmSync(`${data}.builds`, { recursive: true, force: true });
    assert.ok(res, 'run.sh stopped on SIGTERM');
    assert.deepEqual(left, [], 'no process left behind (server, receiver, prefixer)');
    assert.equal(await portOpen(port), false, 'the server port is closed');
    assert.equal(await portOpen(rport), false, 'the receiver port is closed');
  }
});

test('dev receiver prints posts readably, answers 200 {}, never prints headers, stops on SIGTERM', async () => {
  const port = await freePort();
  const child = spawn(slashopsBin, ['dev', 'receiver', '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await waitFor(() => out.includes('receiver listening on'), 'the receiver to listen');
    const reply = {
      response_type: 'in_channel', text: 'first line\nsecond line',
      attachments: [{ color: '#00c100', text: 'ChatOps job done',
        fields: [{ title: 'ID', value: '#7' }, { title: 'Output', value: '```shell\ntotal 8\n-rw-r--r-- 1 a b 1 README.md\n```' }] }],
    };
    let r = await fetch(`http://127.0.0.1:${port}/hooks/abc`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Token s3cr3t-header' },
      body: JSON.stringify(reply),
    });
    assert.equal(r.status, 200);
    assert.equal(await r.text(), '{}');
    r = await fetch(`http://127.0.0.1:${port}/other`, { method: 'POST', body: 'plain body' });
    assert.equal(r.status, 200);
    await waitFor(() => out.includes('plain body'), 'the second post');
    assert.match(out, /POST \/hooks\/abc/);
    assert.match(out, /response_type: in_channel/);
    assert.match(out, /^ {4}first line\n {4}second line$/m);
    assert.match(out, /attachment 1: color #00c100/);
    assert.match(out, /^ {4}ID: #7$/m);
    assert.match(out, /^ {4}Output:\n```shell\ntotal 8\n-rw-r--r-- 1 a b 1 README\.md\n```$/m, 'output printed raw');
    assert.doesNotMatch(out, /s3cr3t-header/);
    assert.equal((await fetch(`http://127.0.0.1:${port}/x`)).status, 405, 'only POST');
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0);
});
