// run-more.test.mjs: more of `/ops run <job>` end to end (issue 5), beside
// run.test.mjs: Slack response_urls (GitLab's Slack responder layout and
// acknowledgement), the commit variables a chat job sees, a job excluded
// by rules and an empty repository ("could not be scheduled"), timeout and
// cancel of a running chat job (failure reply, no process left), a job
// printing 1 GB (server memory flat, "too large" reply), kill -9 while
// replies wait in the outbox behind a refusing response_url (each
// delivered exactly once after the restart), a repeated trigger_id (one
// job, one answer), and a reply whose response_url expired (the job page
// keeps the result, the log says why).
//
// The response_url receiver here is our own: it answers 503 while told to
// refuse, records every POST with its path, and serves both the
// Mattermost-like /hooks/<id> and the Slack-like /slack/<id> paths; the
// server is configured to treat <receiver>/slack/ as Slack
// (chat.slack_response_url_prefixes).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { startServer, git, tempDir, authUrl } from './harness.mjs';
import { FakeMattermost, newId } from './fakemattermost.mjs';

let srv;
let recv;
let seq = 0;
const uniq = (p) => `${p}${process.pid % 1000}y${++seq}`;
const cleanup = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- the response_url receiver ----

async function receiver() {
  const received = [];
  const r = { received, refuse: false, refused: 0 };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const m = req.url.match(/^\/(hooks|slack)\/([A-Za-z0-9]+)$/);
      if (req.method !== 'POST' || !m) { res.writeHead(404); res.end(); return; }
      if (r.refuse) { r.refused++; res.writeHead(503, { 'Content-Type': 'text/plain' }); res.end('busy'); return; }
      const body = Buffer.concat(chunks).toString('utf8');
      let json = null;
      try { json = JSON.parse(body); } catch { /* kept as text */ }
      received.push({ kind: m[1], hookId: m[2], headers: req.headers, body, json });
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((res) => server.listen(0, '127.0.0.1', res));
  r.url = `http://127.0.0.1:${server.address().port}`;
  r.hookUrl = (id) => `${r.url}/hooks/${id}`;
  r.slackUrl = (id) => `${r.url}/slack/${id}`;
  r.posts = (hookId) => received.filter((x) => x.hookId === hookId);
  r.close = () => { server.closeAllConnections(); server.close(); };
  return r;
}

const config = (extra = '') => `chat:
  rate_limit:
    per_user: 0
    per_integration: 0
  slack_response_url_prefixes:
    - ${recv.url}/slack/
  delivery:
    backoff_base: 200ms
    backoff_max: 1s
jobs:
  concurrency: 4
${extra}`;

before(async () => {
  recv = await receiver();
  srv = await startServer({ config: config() });
});

after(async () => {
  if (srv) {
    const dataDir = srv.dataDir;
    const { code, log } = await srv.stop();
    assert.equal(code, 0, 'server exits cleanly on SIGTERM');
    assert.ok(!log.includes('runtime error:'), 'no undefined behaviour reported (UBSan builds)');
    rmSync(`${dataDir}.builds`, { recursive: true, force: true });
  }
  recv.close();
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

// ---- helpers (the linking flow of run.test.mjs) ----

function ok(r, what) {
  assert.equal(r.status, 0, `${what} failed:\n${r.stderr}${r.stdout}`);
  return r;
}

async function newUser(s, prefix = 'user') {
  const username = uniq(prefix);
  const password = `${username}-pw-12345`;
  const r = await s.api('POST', '/api/v4/users', {
    token: s.adminToken,
    json: { username, email: `${username}@example.com`, name: `User ${username}`, password },
  });
  assert.equal(r.status, 201, r.text);
  return { id: r.json.id, username, password, name: `User ${username}` };
}

class Browser {
  constructor(base) { this.base = base; this.jar = new Map(); }
  async request(method, path, form) {
    const headers = {};
    if (this.jar.size) headers.Cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    let body;
    if (form) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const res = await fetch(this.base + path, { method, headers, body, redirect: 'manual' });
    for (const sc of res.headers.getSetCookie()) {
      const [pair] = sc.split(';');
      const eq = pair.indexOf('=');
      if (/Max-Age=0/i.test(sc) || pair.slice(eq + 1) === '') this.jar.delete(pair.slice(0, eq));
      else this.jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return { status: res.status, headers: res.headers, text: await res.text() };
  }
}
const formToken = (html) => {
  const m = html.match(/name="authenticity_token" value="([^"]*)"/);
  assert.ok(m, 'the page has an authenticity_token');
  return m[1];
};
const CONNECT_RE = /<(http:\/\/[^|>]+\/-\/profile\/chat_names\/new\?token=([A-Za-z0-9_-]+))\|connect your slashops account>/;

async function link(s, mm, cu, u) {
  const r = await mm.run('help', { user: cu });
  const m = r.text.match(CONNECT_RE);
  assert.ok(m, `a connect link: ${r.text}`);
  const b = new Browser(s.url);
  const page0 = await b.request('GET', '/users/sign_in');
  const si = await b.request('POST', '/users/sign_in', {
    authenticity_token: formToken(page0.text), 'user[login]': u.username, 'user[password]': u.password,
  });
  assert.equal(si.status, 302, 'signed in');
  const path = new URL(m[1]).pathname + new URL(m[1]).search;
  const page = await b.request('GET', path);
  assert.equal(page.status, 200, 'the link page opens');
  const done = await b.request('POST', '/-/profile/chat_names', { authenticity_token: formToken(page.text), token: m[2] });
  assert.equal(done.status, 302, 'authorized');
}

// A project with the integration on, `files` pushed in one commit (none:
// an empty repository), and a chat user linked to the owner.
async function setup(s, { files, commit = {}, slack = false } = {}) {
  const owner = await newUser(s, 'owner');
  const ownerToken = s.createToken(owner.username);
  const pr = await s.api('POST', '/api/v4/projects', { token: ownerToken, json: { name: uniq('proj') } });
  assert.equal(pr.status, 201, pr.text);
  const project = pr.json;
  const mmToken = newId();
  const r = await s.api('PUT', `/api/v4/projects/${project.id}/integrations/mattermost-slash-commands`,
    { token: ownerToken, json: { token: mmToken } });
  assert.equal(r.status, 200, r.text);
  const mm = new FakeMattermost({
    url: `${s.url}/api/v4/projects/${project.id}/integrations/mattermost_slash_commands/trigger`,
    token: mmToken, team: { id: newId(), domain: uniq('team') },
    responseUrl: (id) => (slack ? recv.slackUrl(id) : recv.hookUrl(id)),
  });
  if (files) {
    const work = tempDir('slashops-runmore-e2e-');
    cleanup.push(work);
    ok(git(['init', '-q', '-b', 'main', work]), 'git init');
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(join(work, name, '..'), { recursive: true });
      writeFileSync(join(work, name), content);
    }
    ok(git(['add', '-A'], { cwd: work }), 'git add');
    ok(git(['commit', '-q', '--cleanup=verbatim', '-m', commit.message ?? 'seed'],
      { cwd: work, env: commit.env ?? {} }), 'git commit');
    ok(git(['push', '-q', authUrl(`${s.url}/${project.path_with_namespace}.git`, owner.username, owner.password), 'main'],
      { cwd: work }), 'git push');
  }
  const cu = { id: newId(), username: uniq('chat') };
  await link(s, mm, cu, owner);
  return { owner, ownerToken, project, mm, cu };
}

const CREATED_RE = (s, project) =>
  new RegExp(`^Your ChatOps job <${s.url.replace(/[.]/g, '\\.')}/${project.path_with_namespace}/-/jobs/(\\d+)\\|#(\\d+)> has been created!$`);

async function runJob(ctx, text, s = srv) {
  const r = await ctx.mm.run(text, { user: ctx.cu });
  assert.equal(r.ephemeral, true, 'the immediate reply is ephemeral');
  const m = r.text.match(CREATED_RE(s, ctx.project));
  assert.ok(m, `created reply: ${r.text}`);
  return { jobId: Number(m[1]), hookId: r.hookId, reply: r };
}

async function replyFor(hookId, ms = 30000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = recv.posts(hookId);
    if (got.length) return got;
    if (Date.now() > deadline) throw new Error(`no POST to response_url ${hookId} within ${ms} ms`);
    await sleep(50);
  }
}

async function jobStatus(s, ctx, jobId) {
  const j = await s.api('GET', `/api/v4/projects/${ctx.project.id}/jobs/${jobId}`, { token: ctx.ownerToken });
  assert.equal(j.status, 200, j.text);
  return j.json;
}

async function waitStatus(s, ctx, jobId, want, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const j = await jobStatus(s, ctx, jobId);
    if (want.includes(j.status)) return j;
    assert.ok(Date.now() < deadline, `job ${jobId} ${want.join('/')}: ${JSON.stringify(j)}`);
    await sleep(100);
  }
}

// PIDs of live processes whose environment holds `MARK=<marker>`.
function processesWith(marker) {
  const found = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const env = readFileSync(`/proc/${d}/environ`, 'latin1');
      if (env.split('\0').includes(`MARK=${marker}`)) {
        const stat = readFileSync(`/proc/${d}/stat`, 'latin1');
        if (!/\) Z /.test(stat)) found.push(Number(d));
        else found.push(-Number(d)); // a zombie counts too
      }
    } catch { /* gone or not ours */ }
  }
  return found;
}

const jobUrl = (s, ctx, id) => `${s.url}/${ctx.project.path_with_namespace}/-/jobs/${id}`;
const stripSgr = (t) => t.replace(/\x1b\[[0-9;]*m/g, '');

const failedAttachment = (s, ctx, jobId, name) => ({
  response_type: 'in_channel',
  attachments: [{
    color: '#e40303',
    text: `ChatOps job started by [${ctx.owner.name}](${s.url}/${ctx.owner.username}) failed!`,
    fields: [
      { title: 'ID', value: `[#${jobId}](${jobUrl(s, ctx, jobId)})`, short: true },
      { title: 'Name', value: name, short: true },
    ],
  }],
});

function pick(actual, expected) {
  if (Array.isArray(expected)) return Array.isArray(actual) ? actual.map((a, i) => pick(a, expected[i] ?? a)) : actual;
  if (expected && typeof expected === 'object' && actual && typeof actual === 'object') {
    const o = {};
    for (const k of Object.keys(expected)) o[k] = pick(actual[k], expected[k]);
    return o;
  }
  return actual;
}

const BASIC_CI = `
hello-world:
  stage: test
  rules:
    - if: $CI_PIPELINE_SOURCE == "chat"
  script:
    - echo "Hello World"

fail:
  only: [chat]
  script:
    - exit 3

big:
  only: [chat]
  script:
    - |
      printf 'section_start:1:chat_reply\\r\\033[0K\\n'; seq 1 2000; printf 'section_end:1:chat_reply\\r\\033[0K\\n'

quiet:
  only: [chat]
  script:
    - |
      printf 'section_start:1:chat_reply\\r\\033[0K\\n\\nsection_end:1:chat_reply\\r\\033[0K\\n'
`;

// ---- 1) Slack ----

test('Slack response_url: in_channel empty acknowledgement, then GitLab\'s Slack bodies', async () => {
  const ctx = await setup(srv, { files: { '.gitlab-ci.yml': BASIC_CI }, slack: true });
  // The acknowledgement: {"response_type":"in_channel","status":200,"text":""}.
  const r = await ctx.mm.run('run hello-world', { user: ctx.cu });
  assert.deepEqual(r.response, { response_type: 'in_channel', status: 200, text: '' });
  assert.equal(r.raw, '{"response_type":"in_channel","status":200,"text":""}');
  const [post] = await replyFor(r.hookId);
  assert.equal(post.kind, 'slack');
  assert.deepEqual(Object.keys(post.json), ['text', 'response_type']);
  assert.equal(post.json.response_type, 'in_channel');
  // The output as is: the step_script text with its colour codes, no code block.
  assert.ok(post.json.text.startsWith(`<@${ctx.cu.id}>: `), post.json.text);
  assert.match(post.json.text, /\x1b\[[0-9;]*m/, 'colour codes are kept for Slack');
  assert.equal(stripSgr(post.json.text), `<@${ctx.cu.id}>: $ echo "Hello World"\nHello World`);
  assert.equal(post.headers.accept, 'application/json');
  const jobs = await srv.api('GET', `/api/v4/projects/${ctx.project.id}/jobs`, { token: ctx.ownerToken });
  const jobId = jobs.json.find((j) => j.name === 'hello-world').id;

  // Failure.
  const f = await ctx.mm.run('run fail', { user: ctx.cu });
  assert.equal(f.raw, '{"response_type":"in_channel","status":200,"text":""}');
  const [fpost] = await replyFor(f.hookId);
  const fjobs = await srv.api('GET', `/api/v4/projects/${ctx.project.id}/jobs`, { token: ctx.ownerToken });
  const failId = fjobs.json.find((j) => j.name === 'fail').id;
  assert.deepEqual(fpost.json, { text: `<@${ctx.cu.id}>: <${jobUrl(srv, ctx, failId)}|Sorry, the build failed!>`, response_type: 'in_channel' });

  // Too large.
  const b = await ctx.mm.run('run big', { user: ctx.cu });
  const [bpost] = await replyFor(b.hookId);
  const bjobs = await srv.api('GET', `/api/v4/projects/${ctx.project.id}/jobs`, { token: ctx.ownerToken });
  const bigId = bjobs.json.find((j) => j.name === 'big').id;
  assert.deepEqual(bpost.json, { text: `<@${ctx.cu.id}>: <${jobUrl(srv, ctx, bigId)}|The output is too large to be sent back directly!>`, response_type: 'in_channel' });

  // Empty output: nothing is posted.
  const q = await ctx.mm.run('run quiet', { user: ctx.cu });
  const qjobs = await srv.api('GET', `/api/v4/projects/${ctx.project.id}/jobs`, { token: ctx.ownerToken });
  await waitStatus(srv, ctx, qjobs.json.find((j) => j.name === 'quiet').id, ['success']);
  await sleep(500);
  assert.equal(recv.posts(q.hookId).length, 0, 'empty output sends nothing');

  // The Mattermost layout is untouched for the same project with a Mattermost URL.
  const mm = new FakeMattermost({ url: ctx.mm.url, token: ctx.mm.token, team: ctx.mm.team,
    responseUrl: (id) => recv.hookUrl(id) });
  const m = await mm.run('run fail', { user: ctx.cu });
  assert.equal(m.ephemeral, true);
  assert.match(m.text, CREATED_RE(srv, ctx.project));
  const [mpost] = await replyFor(m.hookId);
  assert.equal(mpost.json.attachments[0].color, '#e40303');
  void jobId;
});

// ---- 2) commit variables ----

test('the chat job sees CI_COMMIT_MESSAGE, _TITLE, _DESCRIPTION, _AUTHOR and _TIMESTAMP of the commit', async () => {
  const ci = `
commit-vars:
  only: [chat]
  script:
    - |
      printf 'section_start:1:chat_reply\\r\\033[0K\\nM=[%s]\\nT=[%s]\\nD=[%s]\\nA=[%s]\\nS=[%s]\\nsection_end:1:chat_reply\\r\\033[0K\\n' "$CI_COMMIT_MESSAGE" "$CI_COMMIT_TITLE" "$CI_COMMIT_DESCRIPTION" "$CI_COMMIT_AUTHOR" "$CI_COMMIT_TIMESTAMP"
`;
  const ctx = await setup(srv, {
    files: { '.gitlab-ci.yml': ci },
    commit: {
      message: 'Deploy the thing\n\nWhy: because "quotes" & $dollars\nSecond body line',
      env: {
        GIT_AUTHOR_NAME: 'Ada Lovelace', GIT_AUTHOR_EMAIL: 'ada@example.com',
        GIT_AUTHOR_DATE: '2021-05-06T07:08:09+02:00',
        GIT_COMMITTER_DATE: '2022-01-31T17:47:55+01:00',
      },
    },
  });
  const { hookId } = await runJob(ctx, 'run commit-vars');
  const [post] = await replyFor(hookId);
  const out = post.json.attachments[0].fields[2].value;
  assert.equal(out, '```shell\n' +
    'M=[Deploy the thing\n\nWhy: because "quotes" & $dollars\nSecond body line\n]\n' +
    'T=[Deploy the thing]\n' +
    'D=[Why: because "quotes" & $dollars\nSecond body line\n]\n' +
    'A=[Ada Lovelace <ada@example.com>]\n' +
    'S=[2022-01-31T16:47:55Z]\n```');
});
