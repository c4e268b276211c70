// jobs.test.mjs: the Pipelines and Jobs API and the job pages end to end,
// with real jobs: a project gets a .gitlab-ci.yml pushed with real git, a
// chat user linked through the real pages runs jobs with `/ops run` from
// the fake Mattermost, and the tests read them back: pipelines and jobs
// with GitLab's field names, the trace while the job runs (it grows) and
// after, play of a manual job (200, then 400 Unplayable Job), cancel of a
// running `sleep` (201, canceled, no process left), permissions (Reporter
// reads but cannot play: 403; an outsider: 404), and the job page in
// headless Chromium: lines appear without a reload, coloured spans and
// the <details> sections are there (screenshot /tmp/job.png).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, git, tempDir, authUrl, Browser, signIn, formToken, chromiumLaunchOptions, linkChatAccount } from './harness.mjs';
import { FakeMattermost, newId } from './fakemattermost.mjs';

let srv;
let ctx; // { owner, project, mm, cu }
let seq = 0;
const uniq = (p) => `${p}${process.pid % 1000}j${++seq}`;
const dirs = [];
const MARK = `slashops-e2e-sleep-${process.pid}`;

const CI_YML = `
stages: [chatops]
slow:
  stage: chatops
  rules:
    - if: $CI_PIPELINE_SOURCE == "chat"
  script:
    - 'for i in $(seq 1 15); do printf "\\033[31mred line %s\\033[0m\\n" $i; sleep 0.2; done'
manual-job:
  stage: chatops
  when: manual
  rules:
    - if: $CI_PIPELINE_SOURCE == "chat"
      when: manual
  script:
    - echo played
sleeper:
  stage: chatops
  rules:
    - if: $CI_PIPELINE_SOURCE == "chat"
  script:
    - sleep 60 # ${MARK}
    - echo never
`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function newUser(prefix) {
  const username = uniq(prefix);
  const password = `${username}-pw-12345`;
  const r = await srv.api('POST', '/api/v4/users', {
    token: srv.adminToken,
    json: { username, email: `${username}@example.com`, name: `User ${username}`, password },
  });
  assert.equal(r.status, 201, r.text);
  return { id: r.json.id, username, password, token: srv.createToken(username) };
}

async function addMember(project, user, level) {
  const r = await srv.api('POST', `/api/v4/projects/${project.id}/members`, {
    token: srv.adminToken, json: { user_id: user.id, access_level: level },
  });
  assert.equal(r.status, 201, r.text);
}

async function link(mm, cu, u) {
  await linkChatAccount(srv.url, mm, cu, u);
}

// Runs `/ops run <name>` and returns the new job's id (newest job of the project).
async function run(name) {
  const before = await srv.api('GET', `/api/v4/projects/${ctx.project.id}/jobs`, { token: ctx.owner.token });
  const r = await ctx.mm.run(`run ${name}`, { user: ctx.cu });
  assert.match(r.text, /has been created/, r.text);
  const after = await srv.api('GET', `/api/v4/projects/${ctx.project.id}/jobs`, { token: ctx.owner.token });
  assert.equal(after.status, 200, after.text);
  assert.equal(after.json.length, before.json.length + 1);
  return after.json[0];
}

async function waitJob(id, pred, ms = 20000) {
  const t0 = Date.now();
  for (;;) {
    const r = await srv.api('GET', `/api/v4/projects/${ctx.project.id}/jobs/${id}`, { token: ctx.owner.token });
    assert.equal(r.status, 200, r.text);
    if (pred(r.json)) return r.json;
    if (Date.now() - t0 > ms) assert.fail(`job ${id} stuck in ${r.json.status}`);
    await sleep(100);
  }
}

const trace = (id, token = ctx.owner.token) =>
  srv.api('GET', `/api/v4/projects/${ctx.project.id}/jobs/${id}/trace`, { token });

before(async () => {
  srv = await startServer({ config: 'chat:\n  rate_limit:\n    per_user: 0\n    per_integration: 0\n' });
  const owner = await newUser('owner');
  const pr = await srv.api('POST', '/api/v4/projects', { token: owner.token, json: { name: uniq('proj'), visibility: 'private' } });
  assert.equal(pr.status, 201, pr.text);
  const project = pr.json;
  const d = tempDir();
  dirs.push(d);
  assert.equal(git(['init', '-q', '-b', 'main'], { cwd: d }).status, 0);
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(d, '.gitlab-ci.yml'), CI_YML);
  assert.equal(git(['add', '.'], { cwd: d }).status, 0);
  assert.equal(git(['commit', '-q', '-m', 'ci'], { cwd: d }).status, 0);
  const push = git(['push', '-q', authUrl(`${srv.url}/${project.path_with_namespace}.git`, owner.username, owner.token), 'main'], { cwd: d });
  assert.equal(push.status, 0, push.stderr);
  const mmToken = newId();
  const s = await srv.api('PUT', `/api/v4/projects/${project.id}/integrations/mattermost-slash-commands`,
    { token: owner.token, json: { token: mmToken } });
  assert.equal(s.status, 200, s.text);
  const mm = new FakeMattermost({
    url: `${srv.url}/api/v4/projects/${project.id}/integrations/mattermost_slash_commands/trigger`,
    token: mmToken, team: { id: newId(), domain: uniq('team') },
  });
  const cu = { id: newId(), username: uniq('chat') };
  await link(mm, cu, owner);
  ctx = { owner, project, mm, cu };
});

after(async () => {
  if (srv) {
    const { code } = await srv.stop();
    assert.equal(code, 0);
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const JOB_KEYS = ['id', 'status', 'stage', 'name', 'ref', 'tag', 'coverage', 'allow_failure', 'created_at',
  'started_at', 'finished_at', 'erased_at', 'duration', 'queued_duration', 'user', 'commit', 'pipeline',
  'web_url', 'project', 'artifacts', 'runner', 'archived', 'tag_list'];
const PIPELINE_KEYS = ['id', 'iid', 'project_id', 'sha', 'ref', 'status', 'source', 'created_at', 'updated_at',
  'web_url', 'before_sha', 'tag', 'yaml_errors', 'user', 'started_at', 'finished_at', 'committed_at',
  'duration', 'queued_duration', 'coverage', 'name'];

test('a running job: its trace grows, then the pipeline and job read back with GitLab names', async () => {
  const job = await run('slow');
  for (const k of JOB_KEYS) assert.ok(k in job, `job has ${k}`);
  assert.equal(job.name, 'slow');
  assert.equal(job.stage, 'chatops');
  assert.equal(job.ref, 'main');
  assert.equal(job.web_url, `${srv.url}/${ctx.project.path_with_namespace}/-/jobs/${job.id}`);
  assert.equal(job.user.username, ctx.owner.username);
  assert.equal(job.commit.short_id, job.commit.id.slice(0, 8));
  assert.equal(job.pipeline.source, 'chat');

  await waitJob(job.id, (j) => j.status === 'running');
  await sleep(600);
  const t1 = await trace(job.id);
  assert.equal(t1.status, 200);
  assert.match(t1.headers.get('content-type'), /^text\/plain/);
  await sleep(800);
  const t2 = await trace(job.id);
  assert.ok(t2.text.length > t1.text.length, `trace grows: ${t1.text.length} -> ${t2.text.length}`);
  assert.ok(t2.text.startsWith(t1.text));

  const done = await waitJob(job.id, (j) => j.finished_at);
  assert.equal(done.status, 'success');
  assert.ok(done.duration > 2, `duration ${done.duration}`);
  const t3 = await trace(job.id);
  assert.match(t3.text, /red line 15/);
  assert.match(t3.text, /Job succeeded/);

  const pl = await srv.api('GET', `/api/v4/projects/${ctx.project.id}/pipelines/${job.pipeline.id}`, { token: ctx.owner.token });
  assert.equal(pl.status, 200, pl.text);
  for (const k of PIPELINE_KEYS) assert.ok(k in pl.json, `pipeline has ${k}`);
  assert.equal(pl.json.status, 'success');
  assert.equal(pl.json.source, 'chat');
  assert.equal(pl.json.web_url, `${srv.url}/${ctx.project.path_with_namespace}/-/pipelines/${job.pipeline.id}`);
  const list = await srv.api('GET', `/api/v4/projects/${ctx.project.id}/pipelines?source=chat`, { token: ctx.owner.token });
  assert.equal(list.status, 200);
  assert.ok(list.json.some((p) => p.id === job.pipeline.id));
  assert.equal(list.headers.get('x-page'), '1');
  const pj = await srv.api('GET', `/api/v4/projects/${ctx.project.id}/pipelines/${job.pipeline.id}/jobs`, { token: ctx.owner.token });
  assert.deepEqual(pj.json.map((j) => j.id), [job.id]);
  const scoped = await srv.api('GET', `/api/v4/projects/${ctx.project.id}/jobs?scope[]=success`, { token: ctx.owner.token });
  assert.ok(scoped.json.every((j) => j.status === 'success') && scoped.json.some((j) => j.id === job.id));

  const nf = await srv.api('GET', `/api/v4/projects/${ctx.project.id}/jobs/999999`, { token: ctx.owner.token });
  assert.equal(nf.status, 404);
  assert.deepEqual(nf.json, { message: '404 Job Not Found' });
  const pnf = await srv.api('GET', `/api/v4/projects/${ctx.project.id}/pipelines/999999`, { token: ctx.owner.token });
  assert.deepEqual(pnf.json, { message: '404 Pipeline Not Found' });
});

test('play a manual job: 200, then 400 Unplayable Job; Reporter 403; outsider 404', async () => {
  const job = await run('manual-job');
  assert.equal(job.status, 'manual');
  const reporter = await newUser('rep');
  await addMember(ctx.project, reporter, 20);
  const outsider = await newUser('out');
  const base = `/api/v4/projects/${ctx.project.id}/jobs/${job.id}`;

  const rread = await srv.api('GET', base, { token: reporter.token });
  assert.equal(rread.status, 200);
  assert.equal((await trace(job.id, reporter.token)).status, 200);
  const rplay = await srv.api('POST', `${base}/play`, { token: reporter.token });
  assert.equal(rplay.status, 403, rplay.text);
  assert.equal((await srv.api('GET', base, { token: outsider.token })).status, 404);
  assert.equal((await srv.api('POST', `${base}/play`, { token: outsider.token })).status, 404);

  const play = await srv.api('POST', `${base}/play`, { token: ctx.owner.token });
  assert.equal(play.status, 200, play.text);
  assert.equal(play.json.id, job.id);
  assert.notEqual(play.json.status, 'manual');
  const again = await srv.api('POST', `${base}/play`, { token: ctx.owner.token });
  assert.equal(again.status, 400);
  assert.deepEqual(again.json, { message: '400 Bad request - Unplayable Job' });
  const done = await waitJob(job.id, (j) => j.finished_at);
  assert.equal(done.status, 'success');
  assert.match((await trace(job.id)).text, /played/);
});

function sleepers() {
  const out = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(MARK) || (cmd.startsWith('sleep\0' + '60') && readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`CI_JOB_NAME=sleeper`))) out.push(pid);
    } catch { /* gone or not ours */ }
  }
  return out;
}

test('cancel a running sleep: 201, canceled, no process left', async () => {
  const job = await run('sleeper');
  await waitJob(job.id, (j) => j.status === 'running');
  await sleep(500);
  assert.ok(sleepers().length > 0, 'the job is running its sleep');
  const r = await srv.api('POST', `/api/v4/projects/${ctx.project.id}/jobs/${job.id}/cancel`, { token: ctx.owner.token });
  assert.equal(r.status, 201, r.text);
  const done = await waitJob(job.id, (j) => j.status === 'canceled', 10000);
  assert.ok(done.finished_at);
  for (let i = 0; i < 50 && sleepers().length; i++) await sleep(100);
  assert.deepEqual(sleepers(), [], 'no sleep process left');
});

test('the job page: the log grows live in Chromium, with colours and sections', async (t) => {
  let chromium;
  try { ({ chromium } = await import('playwright-core')); } catch { t.skip('playwright-core is not installed'); return; }
  const job = await run('slow');
  await waitJob(job.id, (j) => j.status === 'running');
  const browser = await chromium.launch(chromiumLaunchOptions);
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(`${srv.url}/users/sign_in`);
    await page.fill('input[name="user[login]"]', ctx.owner.username);
    await page.fill('input[name="user[password]"]', ctx.owner.password);
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"], input[type="submit"]')]);
    await page.goto(`${srv.url}/${ctx.project.path_with_namespace}/-/jobs/${job.id}`);
    const count = () => page.evaluate(() => (document.getElementById('trace').textContent.match(/red line/g) || []).length);
    const first = await count();
    await page.waitForFunction(() => (document.getElementById('trace').textContent.match(/red line/g) || []).length >= 15,
      null, { timeout: 20000 });
    assert.ok((await count()) > first, 'lines appeared without a reload');
    await page.waitForFunction(() => document.getElementById('job-status').textContent.trim() === 'passed', null, { timeout: 20000 });
    assert.ok(await page.$('#trace span.term-fg-red, #trace span[class*="red"]'), 'coloured spans');
    assert.ok(await page.$('#trace details.trace-section'), 'a collapsible section');
    assert.equal(await page.isVisible('#job-cancel'), false, 'no Cancel button once finished');
    await page.screenshot({ path: '/tmp/job.png', fullPage: true });
    assert.deepEqual(errors.filter((e) => /Content Security Policy|Refused/.test(e)), []);
  } finally {
    await browser.close();
  }
});
