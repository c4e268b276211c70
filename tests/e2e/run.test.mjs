// run.test.mjs: `/ops run <job>` end to end (issue 5). A fake Mattermost
// sends the command to the real binary; the project's .gitlab-ci.yml is
// pushed with real git; the built-in executor runs the job with bash; the
// job's result is POSTed to the request's response_url, caught by a local
// receiver. Covers GitLab's reply shapes (created, success with output,
// failure, could not be scheduled), the chat output rules (chat_reply
// section, step_script fallback, size limit), CHAT_INPUT reaching the job
// byte-exact and never as script text, after_script, manual jobs, a
// restart in the middle of a job, a response_url that refuses for a while,
// and many concurrent runs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { startServer, git, tempDir } from './harness.mjs';
import { FakeMattermost, responseReceiver } from './fakemattermost.mjs';
import { ok, runScene, CREATED_RE } from './runkit.mjs';

let srv;
let recv;
let seq = 0;
const uniq = (p) => `${p}${process.pid % 1000}x${++seq}`;
const cleanup = [];
const NO_LIMITS = 'chat:\n  rate_limit:\n    per_user: 0\n    per_integration: 0\njobs:\n  concurrency: 8\n';

before(async () => {
  srv = await startServer({ config: NO_LIMITS });
  recv = await responseReceiver({ maxUses: 5 });
});

after(async () => {
  if (srv) {
    const dataDir = srv.dataDir;
    const { code, log } = await srv.stop();
    assert.equal(code, 0, 'server exits cleanly on SIGTERM');
    assert.ok(!log.includes('runtime error:'), 'no undefined behaviour reported (UBSan builds)');
    assert.ok(!log.includes('SECRET-'), 'the command text never reaches the log');
    rmSync(`${dataDir}.builds`, { recursive: true, force: true });
  }
  recv.close(); // not awaited: idle keep-alive sockets would hold it open
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

// ---- helpers (runkit.mjs: users, the scene, the created reply) ----

const DEMO_CI = readFileSync(new URL('../../examples/demo/.gitlab-ci.yml', import.meta.url), 'utf8');

// Extra jobs beside the demo's: each test names the one it runs.
const EXTRA_CI = `
fail:
  stage: chatops
  only: [chat]
  script:
    - echo "about to fail"
    - exit 3

echo-input:
  stage: chatops
  only: [chat]
  script:
    - |
      printf 'section_start:%s:chat_reply\\r\\033[0K\\n%s\\nsection_end:%s:chat_reply\\r\\033[0K\\n' "$(date +%s)" "$CHAT_INPUT" "$(date +%s)"

after:
  stage: chatops
  only: [chat]
  script:
    - echo "main part"
  after_script:
    - |
      printf 'section_start:1:chat_reply\\r\\033[0K\\nafter_script ran: %s\\nsection_end:1:chat_reply\\r\\033[0K\\n' "$CI_JOB_STATUS"

two-replies:
  stage: chatops
  only: [chat]
  script:
    - |
      printf 'section_start:1:chat_reply\\r\\033[0K\\nfirst\\nsection_end:1:chat_reply\\r\\033[0K\\n'
    - |
      printf 'section_start:2:chat_reply\\r\\033[0K\\nsecond\\nsection_end:2:chat_reply\\r\\033[0K\\n'

big:
  stage: chatops
  only: [chat]
  script:
    - |
      printf 'section_start:1:chat_reply\\r\\033[0K\\n'; seq 1 2000; printf 'section_end:1:chat_reply\\r\\033[0K\\n'

manual-job:
  stage: chatops
  only: [chat]
  when: manual
  script:
    - echo "played"

slow:
  stage: chatops
  only: [chat]
  script:
    - sleep 30

ids:
  stage: chatops
  only: [chat]
  script:
    - |
      printf 'section_start:1:chat_reply\\r\\033[0K\\n%s %s %s\\nsection_end:1:chat_reply\\r\\033[0K\\n' "$CI_JOB_ID" "$CI_PIPELINE_IID" "$CI_JOB_URL"
`;

const FILES = {
  '.gitlab-ci.yml': DEMO_CI + EXTRA_CI,
  'README.md': '# demo\n',
  'src/main.sh': 'echo hi\n',
};

// A project with the integration on, the CI file pushed, and a chat user
// linked to the owner.
const setup = (s = srv, { files = FILES, responseUrl } = {}) => runScene(s, {
  uniq, files, cleanup, workPrefix: 'slashops-run-e2e-',
  responseUrl: responseUrl ?? ((id) => recv.hookUrl(id)),
});

// Runs the command, checks the immediate reply, returns {jobId, hookId}.
async function runJob(ctx, text, s = srv) {
  const r = await ctx.mm.run(text, { user: ctx.cu });
  assert.equal(r.ephemeral, true, 'the immediate reply is ephemeral');
  const m = r.text.match(CREATED_RE(s, ctx.project));
  assert.ok(m, `created reply: ${r.text}\n${s.log.split('\n').filter((l) => /pipeline|not scheduled/.test(l)).slice(-5).join('\n')}`);
  assert.equal(m[1], m[2]);
  return { jobId: Number(m[1]), hookId: r.hookId, reply: r };
}

async function replyFor(hookId, ms = 30000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = recv.received.filter((x) => x.hookId === hookId);
    if (got.length) return got;
    if (Date.now() > deadline) throw new Error(`no POST to response_url ${hookId} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const jobUrl = (s, ctx, id) => `${s.url}/${ctx.project.path_with_namespace}/-/jobs/${id}`;

function successReply(s, ctx, jobId, name, output) {
  return {
    response_type: 'in_channel',
    attachments: [{
      color: '#00c100',
      text: `ChatOps job started by [${ctx.owner.name}](${s.url}/${ctx.owner.username}) completed successfully`,
      fields: [
        { title: 'ID', value: `[#${jobId}](${jobUrl(s, ctx, jobId)})`, short: true },
        { title: 'Name', value: name, short: true },
        { title: 'Output', value: '```shell\n' + output + '\n```' },
      ],
    }],
  };
}

function failedReply(s, ctx, jobId, name) {
  return {
    response_type: 'in_channel',
    attachments: [{
      color: '#e40303',
      text: `ChatOps job started by [${ctx.owner.name}](${s.url}/${ctx.owner.username}) failed!`,
      fields: [
        { title: 'ID', value: `[#${jobId}](${jobUrl(s, ctx, jobId)})`, short: true },
        { title: 'Name', value: name, short: true },
      ],
    }],
  };
}

// Keeps only the keys the expected value has (the reply may carry more,
// e.g. a fallback text), so the comparison is exact on GitLab's fields.
function pick(actual, expected) {
  if (Array.isArray(expected)) return Array.isArray(actual) ? actual.map((a, i) => pick(a, expected[i] ?? a)) : actual;
  if (expected && typeof expected === 'object' && actual && typeof actual === 'object') {
    const o = {};
    for (const k of Object.keys(expected)) o[k] = pick(actual[k], expected[k]);
    return o;
  }
  return actual;
}

let shared; // one project for the tests that only read
async function sharedCtx() {
  shared ??= await setup();
  return shared;
}

// ---- a) the demo's hello-world ----

test('a) run hello-world: created at once, then GitLab\'s success attachment with the output', async () => {
  const ctx = await sharedCtx();
  const { jobId, hookId } = await runJob(ctx, 'run hello-world');
  const [post] = await replyFor(hookId);
  assert.equal(post.contentType.split(';')[0], 'application/json');
  console.log('reply JSON of a):', post.body);
  // The demo job prints with echo, no chat_reply section: GitLab falls back
  // to step_script and drops only its first line (the runner's header), so
  // the echoed command stays, without its colour codes.
  const expected = successReply(srv, ctx, jobId, 'hello-world', '$ echo "Hello World"\nHello World');
  assert.deepEqual(pick(post.json, expected), expected);
  // GitLab sends "short": false on the Output field.
  assert.equal(post.json.attachments[0].fields[2].short, false);
  assert.deepEqual(Object.keys(post.json).sort(), Object.keys(post.json).includes('text') ? ['attachments', 'response_type', 'text'] : ['attachments', 'response_type']);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(recv.received.filter((x) => x.hookId === hookId).length, 1, 'delivered once');
});

// ---- b) the demo's ls job: the chat_reply section ----

test('b) run ls: Output is exactly the ls -la listing of the checkout', async () => {
  const ctx = await sharedCtx();
  const { jobId, hookId } = await runJob(ctx, 'run ls');
  const [post] = await replyFor(hookId);
  const expected = successReply(srv, ctx, jobId, 'ls', 'PLACEHOLDER');
  const out = post.json.attachments[0].fields[2].value;
  expected.attachments[0].fields[2].value = out;
  assert.deepEqual(pick(post.json, expected), expected);
  const m = out.match(/^```shell\n([\s\S]*)\n```$/);
  assert.ok(m, out);
  const lines = m[1].split('\n');
  assert.match(lines[0], /^total \d+$/, 'ls -la starts with its total');
  const entries = new Map(lines.slice(1).map((l) => {
    const f = l.split(/\s+/);
    return [f.slice(8).join(' '), { mode: f[0], size: Number(f[4]) }];
  }));
  assert.deepEqual([...entries.keys()].sort(), ['.', '..', '.git', '.gitlab-ci.yml', 'README.md', 'src'].sort());
  for (const name of ['.gitlab-ci.yml', 'README.md']) {
    assert.equal(entries.get(name).size, Buffer.byteLength(FILES[name]), `${name} has the pushed size`);
    assert.match(entries.get(name).mode, /^-/);
  }
  assert.match(entries.get('src').mode, /^d/);
});

// ---- c) a failing job ----

test('c) a failing job: the red "failed!" attachment, no Output', async () => {
  const ctx = await sharedCtx();
  const { jobId, hookId } = await runJob(ctx, 'run fail');
  const [post] = await replyFor(hookId);
  const expected = failedReply(srv, ctx, jobId, 'fail');
  assert.deepEqual(pick(post.json, expected), expected);
  assert.equal(post.json.attachments[0].fields.length, 2, 'no Output field');
});

// ---- d) jobs that are not created ----

test('d) a missing job and an except: [chat] job: "could not be scheduled" naming the job, nothing posted', async () => {
  const ctx = await sharedCtx();
  for (const job of ['no-such-job', 'test', 'Hello-World']) {
    const r = await ctx.mm.run(`run ${job}`, { user: ctx.cu });
    assert.equal(r.ephemeral, true);
    assert.equal(r.text, 'The command could not be scheduled. Make sure that your project has a ' +
      `.gitlab-ci.yml that defines a job with the name "${job}"`);
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(recv.received.filter((x) => x.hookId === r.hookId).length, 0);
  }
});

// ---- e) CHAT_INPUT ----

test('e) CHAT_INPUT reaches the job byte-exact and is never run as code', async () => {
  const ctx = await sharedCtx();
  const marker = join(tempDir('slashops-run-e2e-pwn-'), 'pwned');
  cleanup.push(join(marker, '..'));
  const input = `SECRET-in-text He said "hi" & 'bye'; $(touch ${marker}1) \`touch ${marker}2\` $HOME \${PATH} \\n %s %%\n` +
    'second line: ünïcödé ✓ 🚀 日本語\n\tthird; rm -rf / #';
  const { jobId, hookId } = await runJob(ctx, `run echo-input ${input}`);
  const [post] = await replyFor(hookId);
  const expected = successReply(srv, ctx, jobId, 'echo-input', input);
  assert.deepEqual(pick(post.json, expected), expected);
  assert.ok(!existsSync(`${marker}1`) && !existsSync(`${marker}2`), 'nothing in the text was executed');
});

test('the job sees its ids: CI_JOB_ID, CI_PIPELINE_IID, CI_JOB_URL', async () => {
  const ctx = await sharedCtx();
  const { jobId, hookId } = await runJob(ctx, 'run ids');
  const [post] = await replyFor(hookId);
  const p = await srv.api('GET', `/api/v4/projects/${ctx.project.id}/jobs/${jobId}`, { token: ctx.ownerToken });
  const iid = p.status === 200 && p.json.pipeline ? p.json.pipeline.iid : undefined;
  const out = post.json.attachments[0].fields[2].value.match(/^```shell\n([\s\S]*)\n```$/)[1].split(' ');
  assert.equal(out[0], String(jobId));
  if (iid !== undefined) assert.equal(out[1], String(iid));
  assert.match(out[1], /^[1-9]\d*$/, 'a real iid, not 0');
  assert.equal(out[2], jobUrl(srv, ctx, jobId));
});

// ---- f, g, h) output rules ----

test('f) after_script runs, with CI_JOB_STATUS', async () => {
  const ctx = await sharedCtx();
  const { jobId, hookId } = await runJob(ctx, 'run after');
  const [post] = await replyFor(hookId);
  const expected = successReply(srv, ctx, jobId, 'after', 'after_script ran: success');
  assert.deepEqual(pick(post.json, expected), expected);
});

test('g) two chat_reply sections: GitLab discards both and falls back to step_script', async () => {
  const ctx = await sharedCtx();
  const { hookId } = await runJob(ctx, 'run two-replies');
  const [post] = await replyFor(hookId);
  const out = post.json.attachments[0].fields[2].value;
  assert.match(out, /^```shell\n\$ printf 'section_start:1:chat_reply/, 'the step_script text, first line dropped');
  assert.ok(out.includes('$ printf \'section_start:2:chat_reply'), out);
  assert.ok(!/\x1b\[[0-9;]*m/.test(out), 'no colour codes');
});

test('h) output over 3,584 bytes: "The output is too large to be sent back directly!"', async () => {
  const ctx = await sharedCtx();
  const { jobId, hookId } = await runJob(ctx, 'run big');
  const [post] = await replyFor(hookId);
  const expected = successReply(srv, ctx, jobId, 'big', 'The output is too large to be sent back directly!');
  assert.deepEqual(pick(post.json, expected), expected);
});

// ---- i) manual ----

test('i) when: manual: created, no reply until played through the API, then the reply', async () => {
  const ctx = await sharedCtx();
  const { jobId, hookId } = await runJob(ctx, 'run manual-job');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(recv.received.filter((x) => x.hookId === hookId).length, 0, 'nothing before play');
  const j = await srv.api('GET', `/api/v4/projects/${ctx.project.id}/jobs/${jobId}`, { token: ctx.ownerToken });
  assert.equal(j.status, 200, j.text);
  assert.equal(j.json.status, 'manual');
  const play = await srv.api('POST', `/api/v4/projects/${ctx.project.id}/jobs/${jobId}/play`, { token: ctx.ownerToken });
  assert.equal(play.status, 200, play.text);
  const [post] = await replyFor(hookId);
  const expected = successReply(srv, ctx, jobId, 'manual-job', '$ echo "played"\nplayed');
  assert.deepEqual(pick(post.json, expected), expected);
});

// ---- k) a response_url that refuses for a while ----

test('k) response_url answering 503 for a few seconds, then 200: delivered exactly once', async () => {
  const accepted = [];
  let refused = 0;
  const until = Date.now() + 3000;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (Date.now() < until) { refused++; res.writeHead(503); res.end('busy'); return; }
      accepted.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    const ctx = await sharedCtx();
    const mm = new FakeMattermost({ url: ctx.mm.url, token: ctx.mm.token, team: ctx.mm.team,
      responseUrl: (id) => `${base}/hooks/commands/${id}` });
    const r = await mm.run('run hello-world', { user: ctx.cu });
    const m = r.text.match(CREATED_RE(srv, ctx.project));
    assert.ok(m, r.text);
    const deadline = Date.now() + 30000;
    while (!accepted.length && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    assert.ok(refused >= 1, 'the receiver refused at least once');
    await new Promise((res) => setTimeout(res, 2500));
    assert.equal(accepted.length, 1, 'delivered exactly once');
    const expected = successReply(srv, ctx, Number(m[1]), 'hello-world', '$ echo "Hello World"\nHello World');
    assert.deepEqual(pick(accepted[0], expected), expected);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

// ---- l) many at once ----

test('l) 200 concurrent runs (the issue\'s number): every one answered, every reply delivered exactly once', async () => {
  const ctx = await sharedCtx();
  const N = Number(process.env.RUN_E2E_CONCURRENT ?? 200);
  const started = Date.now();
  const runs = await Promise.all(Array.from({ length: N }, () => runJob(ctx, 'run hello-world')));
  const ids = new Set(runs.map((r) => r.jobId));
  assert.equal(ids.size, N, 'distinct jobs');
  for (const r of runs) {
    const [post] = await replyFor(r.hookId, 120000);
    assert.equal(post.json.attachments[0].fields[0].value, `[#${r.jobId}](${jobUrl(srv, ctx, r.jobId)})`);
  }
  await new Promise((r) => setTimeout(r, 1000));
  for (const r of runs) assert.equal(recv.received.filter((x) => x.hookId === r.hookId).length, 1);
  console.log(`${N} concurrent runs answered and replied in ${Date.now() - started} ms`);
});

// ---- j) a restart in the middle of a job ----

test('j) kill -9 while a job runs: after a restart the job is failed and its failure reply arrives', async () => {
  const s2 = await startServer({ config: NO_LIMITS });
  const dataDir = s2.dataDir;
  let s3;
  try {
    const ctx = await setup(s2);
    const { jobId, hookId } = await runJob(ctx, 'run slow', s2);
    // wait until it runs
    const deadline = Date.now() + 15000;
    for (;;) {
      const j = await s2.api('GET', `/api/v4/projects/${ctx.project.id}/jobs/${jobId}`, { token: ctx.ownerToken });
      if (j.status === 200 && j.json.status === 'running') break;
      assert.ok(Date.now() < deadline, `job running: ${j.text}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await s2.kill9();
    const cfgPath = join(dataDir, 'test-config.yml');
    s3 = await startServer({ config: NO_LIMITS, bootstrap: false, args: ['--data-dir', dataDir] });
    // startServer made a fresh temp dir too; serve uses the last --data-dir given
    const [post] = await replyFor(hookId, 20000);
    const expected = failedReply(s3, ctx, jobId, 'slow');
    // the URLs carry the first server's port: compare all but the host
    const norm = (o) => JSON.parse(JSON.stringify(o).replaceAll(s2.url, 'URL').replaceAll(s3.url, 'URL'));
    assert.deepEqual(norm(pick(post.json, expected)), norm(expected));
    const j = await s3.api('GET', `/api/v4/projects/${ctx.project.id}/jobs/${jobId}`, { token: ctx.ownerToken });
    assert.equal(j.status, 200, j.text);
    assert.equal(j.json.status, 'failed');
    assert.equal(j.json.failure_reason, 'runner_system_failure');
    void cfgPath;
  } finally {
    if (s3) { await s3.stop(); rmSync(`${s3.dataDir}.builds`, { recursive: true, force: true }); }
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(`${dataDir}.builds`, { recursive: true, force: true });
  }
});
