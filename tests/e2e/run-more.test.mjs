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
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { startServer, git, tempDir, authUrl, Browser, signIn } from './harness.mjs';
import { FakeMattermost, newId } from './fakemattermost.mjs';
import { ok, pushFiles, runScene, CREATED_RE } from './runkit.mjs';

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

// ---- helpers (runkit.mjs: users, the scene, the created reply) ----

// A project with the integration on, `files` pushed in one commit (none:
// an empty repository), and a chat user linked to the owner.
const setup = (s, { files, commit = {}, slack = false } = {}) => runScene(s, {
  uniq, files, cleanup, workPrefix: 'slashops-runmore-e2e-',
  commit: { verbatim: true, ...commit },
  responseUrl: (id) => (slack ? recv.slackUrl(id) : recv.hookUrl(id)),
});

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

// ---- 3) not scheduled: rules, empty repository ----

const NOT_SCHEDULED = (job) => 'The command could not be scheduled. Make sure that your project has a ' +
  `.gitlab-ci.yml that defines a job with the name "${job}"`;

test('a job excluded by rules, and an empty repository: "could not be scheduled" naming the job, nothing runs', async () => {
  const ctx = await setup(srv, {
    files: {
      '.gitlab-ci.yml': `
push-only:
  rules:
    - if: $CI_PIPELINE_SOURCE == "push"
  script:
    - echo never
never:
  rules:
    - when: never
  script:
    - echo never
`,
    },
  });
  for (const job of ['push-only', 'never']) {
    const r = await ctx.mm.run(`run ${job} some args`, { user: ctx.cu });
    assert.equal(r.ephemeral, true);
    assert.equal(r.text, NOT_SCHEDULED(job));
  }
  const p = await srv.api('GET', `/api/v4/projects/${ctx.project.id}/pipelines`, { token: ctx.ownerToken });
  assert.equal(p.status, 200, p.text);
  assert.deepEqual(p.json, [], 'no pipeline was created');

  const empty = await setup(srv, {});
  const r = await empty.mm.run('run deploy "now"', { user: empty.cu });
  assert.equal(r.ephemeral, true);
  assert.equal(r.text, NOT_SCHEDULED('deploy'));
  await sleep(300);
  assert.equal(recv.posts(r.hookId).length, 0, 'nothing is posted to the response_url');
});

// ---- 4) timeout and cancel of a running chat job ----

function sleeperCi(marker, { timeout } = {}) {
  return `
sleeper:
  only: [chat]
${timeout ? `  timeout: ${timeout}\n` : ''}  script:
    - export MARK=${marker}
    - sleep 60 &
    - sleep 61
`;
}

async function waitNoProcess(marker, ms = 5000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = processesWith(marker);
    if (!left.length) return;
    assert.ok(Date.now() < deadline, `processes of the job left: ${left.join(', ')}`);
    await sleep(100);
  }
}

test('timeout: exceeded → the failure reply, no process of the job left', async () => {
  const marker = uniq('timeout-mark-');
  const ctx = await setup(srv, { files: { '.gitlab-ci.yml': sleeperCi(marker, { timeout: '2 seconds' }) } });
  const started = Date.now();
  const { jobId, hookId } = await runJob(ctx, 'run sleeper');
  await waitStatus(srv, ctx, jobId, ['running']);
  const deadline = Date.now() + 10000;
  while (processesWith(marker).length === 0 && Date.now() < deadline) await sleep(50);
  assert.ok(processesWith(marker).length > 0, 'the job\'s processes carry the marker while it runs');
  const [post] = await replyFor(hookId, 20000);
  const expected = failedAttachment(srv, ctx, jobId, 'sleeper');
  assert.deepEqual(pick(post.json, expected), expected);
  assert.ok(Date.now() - started < 15000, 'ended by the 2 s timeout, not by sleep 60');
  const j = await jobStatus(srv, ctx, jobId);
  assert.equal(j.status, 'failed');
  assert.equal(j.failure_reason, 'job_execution_timeout');
  await waitNoProcess(marker);
});

test('cancel through the API while the chat job runs → the failure reply (as GitLab for canceled), no process left', async () => {
  const marker = uniq('cancel-mark-');
  const ctx = await setup(srv, { files: { '.gitlab-ci.yml': sleeperCi(marker) } });
  const { jobId, hookId } = await runJob(ctx, 'run sleeper');
  await waitStatus(srv, ctx, jobId, ['running']);
  const deadline = Date.now() + 10000;
  while (processesWith(marker).length === 0 && Date.now() < deadline) await sleep(50);
  assert.ok(processesWith(marker).length > 0, 'running');
  const c = await srv.api('POST', `/api/v4/projects/${ctx.project.id}/jobs/${jobId}/cancel`, { token: ctx.ownerToken });
  assert.equal(c.status, 201, c.text);
  const [post] = await replyFor(hookId, 15000);
  const expected = failedAttachment(srv, ctx, jobId, 'sleeper');
  assert.deepEqual(pick(post.json, expected), expected);
  assert.equal((await jobStatus(srv, ctx, jobId)).status, 'canceled');
  await waitNoProcess(marker);
  await sleep(300);
  assert.equal(recv.posts(hookId).length, 1, 'one reply');
});

// ---- 5) 1 GB of output ----

test('a job printing 1 GB: server memory stays flat, the "too large" reply arrives', async () => {
  const ctx = await setup(srv, {
    files: {
      '.gitlab-ci.yml': `
gigabyte:
  only: [chat]
  script:
    - "{ yes 'slashops 1 GB line of output' || true; } | head -c 1000000000"
`,
    },
  });
  const before = srv.rssKiB();
  let peak = before;
  const { jobId, hookId } = await runJob(ctx, 'run gigabyte');
  const deadline = Date.now() + 120000;
  while (!recv.posts(hookId).length) {
    peak = Math.max(peak, srv.rssKiB() ?? 0);
    assert.ok(Date.now() < deadline, `no reply: ${JSON.stringify(await jobStatus(srv, ctx, jobId))}`);
    await sleep(50);
  }
  const [post] = recv.posts(hookId);
  // pipefail holds as in GitLab Runner: yes dies of SIGPIPE, hence "|| true".
  const j = await jobStatus(srv, ctx, jobId);
  assert.equal(j.status, 'success', JSON.stringify(j));
  const out = post.json.attachments?.[0]?.fields?.[2]?.value;
  assert.equal(out, '```shell\nThe output is too large to be sent back directly!\n```', JSON.stringify(post.json));
  console.log(`1 GB job: RSS ${before} KiB before, ${peak} KiB at most while it ran`);
  assert.ok(peak - before < 30 * 1024, `RSS grew by ${peak - before} KiB`);
});

// ---- 6) kill -9 with replies waiting in the outbox ----

test('kill -9 while replies wait in the outbox (response_url answering 503), then accepting: each delivered exactly once after the restart', async () => {
  const s2 = await startServer({ config: config() });
  const dataDir = s2.dataDir;
  let s3;
  try {
    const ctx = await setup(s2, { files: { '.gitlab-ci.yml': BASIC_CI } });
    recv.refuse = true;
    const refusedBefore = recv.refused;
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await runJob(ctx, 'run hello-world', s2));
    for (const r of runs) await waitStatus(s2, ctx, r.jobId, ['success']);
    // Every reply has been tried and refused at least once.
    const deadline = Date.now() + 15000;
    while ((s2.log.match(/will retry/g) ?? []).length < 3 || recv.refused - refusedBefore < 3) {
      assert.ok(Date.now() < deadline, `refusals: ${recv.refused - refusedBefore}`);
      await sleep(50);
    }
    for (const r of runs) assert.equal(recv.posts(r.hookId).length, 0);
    await s2.kill9();
    recv.refuse = false;
    s3 = await startServer({ config: config(), bootstrap: false, args: ['--data-dir', dataDir] });
    for (const r of runs) {
      const [post] = await replyFor(r.hookId, 20000);
      assert.equal(post.json.attachments[0].color, '#00c100');
      assert.ok(post.json.attachments[0].fields[0].value.startsWith(`[#${r.jobId}](`), post.body);
    }
    await sleep(1500);
    for (const r of runs) assert.equal(recv.posts(r.hookId).length, 1, `reply of job ${r.jobId} delivered once`);
  } finally {
    recv.refuse = false;
    if (s3) { await s3.stop(); rmSync(`${s3.dataDir}.builds`, { recursive: true, force: true }); }
    if (!s2.exited) await s2.kill9();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(`${dataDir}.builds`, { recursive: true, force: true });
  }
});

// ---- 7) a repeated trigger_id ----

test('a repeated trigger_id for run: the same answer, one job, one reply', async () => {
  const ctx = await setup(srv, { files: { '.gitlab-ci.yml': BASIC_CI } });
  const triggerId = Buffer.from(`${newId()}:${ctx.cu.id}:${Date.now()}:c2ln`).toString('base64');
  const first = await ctx.mm.run('run hello-world', { user: ctx.cu, triggerId });
  const m = first.text.match(CREATED_RE(srv, ctx.project));
  assert.ok(m, first.text);
  const again = await ctx.mm.run('run hello-world', { user: ctx.cu, triggerId });
  assert.equal(again.raw, first.raw, 'the repeat gets the first answer, byte for byte');
  // Two at once with another trigger id: one job; the claim, the job and
  // the kept answer commit together, so both get that answer.
  const t2 = Buffer.from(`${newId()}:${ctx.cu.id}:${Date.now()}:c2lm`).toString('base64');
  const both = await Promise.all([0, 1].map(() => ctx.mm.run('run hello-world', { user: ctx.cu, triggerId: t2 })));
  assert.ok(CREATED_RE(srv, ctx.project).test(both[0].text), both[0].text);
  assert.equal(both[1].raw, both[0].raw, 'the same answer, byte for byte: one job');
  await replyFor(first.hookId);
  await sleep(800);
  const jobs = await srv.api('GET', `/api/v4/projects/${ctx.project.id}/jobs`, { token: ctx.ownerToken });
  assert.equal(jobs.json.length, 2, `two jobs for two trigger ids: ${jobs.text}`);
  assert.equal(recv.posts(first.hookId).length, 1, 'the first request\'s response_url gets the reply');
  assert.equal(recv.posts(again.hookId).length, 0, 'the repeat\'s response_url gets nothing');
  const replies = both.reduce((n, r) => n + recv.posts(r.hookId).length, 0);
  assert.equal(replies, 1, 'one reply for the pair');
});

// ---- 8) an expired response_url ----

test('a response_url that expired before the job ended: no POST, the job page keeps the result and says why, the log too', async () => {
  const s4 = await startServer({ config: config(`
`).replace('  delivery:\n', '  delivery:\n    response_url_lifetime: 1s\n') });
  try {
    const ctx = await setup(s4, {
      files: {
        '.gitlab-ci.yml': `
late:
  only: [chat]
  script:
    - sleep 2
    - echo "late result"
`,
      },
    });
    const { jobId, hookId } = await runJob(ctx, 'run late', s4);
    await waitStatus(s4, ctx, jobId, ['success']);
    const deadline = Date.now() + 10000;
    while (!/reply not delivered; the job page keeps the result/.test(s4.log)) {
      assert.ok(Date.now() < deadline, 'the give-up is logged');
      await sleep(50);
    }
    const line = s4.log.split('\n').find((l) => l.includes('reply not delivered; the job page keeps the result'));
    assert.match(line, new RegExp(`"job_id":${jobId}\\b`));
    assert.match(line, /"reason":"response_url expired/);
    assert.ok(!line.includes(hookId), 'the response_url (a secret) is not logged');
    assert.equal(recv.posts(hookId).length, 0, 'nothing was POSTed to the expired URL');
    // The job page (the owner signed in): the log with the result, and why no reply came.
    const b = new Browser(s4.url);
    assert.equal((await signIn(b, ctx.owner.username, ctx.owner.password)).status, 302);
    const page = await b.get(`/${ctx.project.path_with_namespace}/-/jobs/${jobId}`);
    assert.equal(page.status, 200);
    assert.ok(page.text.includes('late result'), 'the page shows the job\'s output');
    assert.match(page.text, /<dt>Chat reply<\/dt><dd class="chat-reply">not delivered: response_url expired[^<]*The result is kept on this page\.<\/dd>/);
  } finally {
    await s4.stop();
    rmSync(`${s4.dataDir}.builds`, { recursive: true, force: true });
  }
});

// ---- the loaded CI file is kept per thread only when it asked the repository nothing ----

const echoJob = (word) => `hello:\n  rules:\n    - if: $CI_PIPELINE_SOURCE == "chat"\n  script:\n    - echo "said-${word}"\n`;

async function saidBy(ctx) {
  const { hookId } = await runJob(ctx, 'run hello');
  const [post] = await replyFor(hookId);
  const m = post.body.match(/said-(v\d)/g) || [];
  return [...new Set(m)];
}

test('a repeated run on the same commit reuses the loaded CI file; a push, or a change in an included project, is seen', async () => {
  // A file without includes: the second run on the same commit may come from the cache.
  const ctx = await setup(srv, { files: { '.gitlab-ci.yml': echoJob('v1') } });
  assert.deepEqual(await saidBy(ctx), ['said-v1']);
  assert.deepEqual(await saidBy(ctx), ['said-v1']);
  const work = tempDir('slashops-runmore-e2e-');
  cleanup.push(work);
  ok(git(['clone', '-q', authUrl(`${srv.url}/${ctx.project.path_with_namespace}.git`, ctx.owner.username, ctx.owner.password), work]), 'git clone');
  pushFiles(srv, ctx.project, ctx.owner, work, { '.gitlab-ci.yml': echoJob('v2') }, { message: 'v2' });
  assert.deepEqual(await saidBy(ctx), ['said-v2'], 'a new commit is a new file');

  // include:project: the including project's commit stays, the included file changes.
  const pr = await srv.api('POST', '/api/v4/projects', { token: ctx.ownerToken, json: { name: uniq('shared') } });
  assert.equal(pr.status, 201, pr.text);
  const shared = pr.json;
  const swork = tempDir('slashops-runmore-e2e-');
  cleanup.push(swork);
  ok(git(['init', '-q', '-b', 'main', swork]), 'git init');
  pushFiles(srv, shared, ctx.owner, swork, { 'ci/hello.yml': echoJob('v3') }, { message: 'v3' });
  pushFiles(srv, ctx.project, ctx.owner, work, { '.gitlab-ci.yml': `include:\n  - project: ${shared.path_with_namespace}\n    file: ci/hello.yml\n` }, { message: 'include' });
  // Several runs, so that every HTTP thread (each keeps its own) has seen the file.
  for (let i = 0; i < 4; i++) assert.deepEqual(await saidBy(ctx), ['said-v3']);
  pushFiles(srv, shared, ctx.owner, swork, { 'ci/hello.yml': echoJob('v4') }, { message: 'v4' });
  for (let i = 0; i < 4; i++)
    assert.deepEqual(await saidBy(ctx), ['said-v4'], 'the included file is read again at every run');
});
