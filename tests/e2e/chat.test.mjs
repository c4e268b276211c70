// chat.test.mjs: Mattermost slash commands end to end. A fake Mattermost
// (fakemattermost.mjs) sends commands to the real binary exactly as
// Mattermost does, and judges every reply as Mattermost would (status 200,
// application/json, size, CommandResponse shape). Covers the integration
// settings API, the trigger's status codes, team binding, linking a chat
// account through the web pages (raw HTTP; the headless Chromium flow is
// in the web suite), help, permissions, blocked and deactivated accounts,
// rate limits, duplicate trigger ids, and what reaches the log.
//
// One server (rate limits off) serves most tests; each test makes its own
// users, project and chat team so tests do not depend on order. The rate
// limit tests start a second server with small limits.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, linkChatAccount, formToken } from './harness.mjs';
import { FakeMattermost, MattermostError, newId, goValuesEncode, responseReceiver } from './fakemattermost.mjs';

let srv;
let admin;
let seq = 0;
const uniq = (p) => `${p}${process.pid % 1000}x${++seq}`;
const secrets = []; // every integration and link token handed out: none may reach the log

const NO_LIMITS = 'chat:\n  rate_limit:\n    per_user: 0\n    per_integration: 0\n';

before(async () => {
  srv = await startServer({ config: NO_LIMITS });
  admin = srv.adminToken;
});

after(async () => {
  const { code, log } = await srv.stop();
  assert.equal(code, 0, 'server exits cleanly on SIGTERM');
  for (const s of secrets) assert.ok(!log.includes(s), `a token reached the log: ${s.slice(0, 6)}…`);
  assert.ok(!log.includes('glpat-'), 'no personal access token in the log');
  assert.ok(!log.includes('SECRET-in-text'), 'command text never reaches the log');
});

// ---- helpers ----

async function newUser(s, prefix = 'user') {
  const username = uniq(prefix);
  const password = `${username}-pw-12345`;
  const r = await s.api('POST', '/api/v4/users', {
    token: s.adminToken,
    json: { username, email: `${username}@example.com`, name: `User ${username}`, password },
  });
  assert.equal(r.status, 201, r.text);
  const token = s.createToken(username);
  return { id: r.json.id, username, password, token };
}

async function newProject(s, owner, { visibility = 'private' } = {}) {
  const r = await s.api('POST', '/api/v4/projects', { token: owner.token, json: { name: uniq('proj'), visibility } });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

async function addMember(s, project, user, level) {
  const r = await s.api('POST', `/api/v4/projects/${project.id}/members`, {
    token: s.adminToken, json: { user_id: user.id, access_level: level },
  });
  assert.equal(r.status, 201, r.text);
}

const settingsPath = (p, prefix = 'integrations') => `/api/v4/projects/${p.id}/${prefix}/mattermost-slash-commands`;
const triggerUrl = (s, id, prefix = 'integrations') =>
  `${s.url}/api/v4/projects/${encodeURIComponent(id)}/${prefix}/mattermost_slash_commands/trigger`;

// A project with the integration enabled by its owner, and a fake
// Mattermost team whose command points at it.
async function setup(s = srv, { visibility = 'private', trigger = 'ops', method = 'P' } = {}) {
  const owner = await newUser(s, 'owner');
  const project = await newProject(s, owner, { visibility });
  const mmToken = newId(); // Mattermost command tokens are 26-character ids
  secrets.push(mmToken);
  const r = await s.api('PUT', settingsPath(project), { token: owner.token, json: { token: mmToken } });
  assert.equal(r.status, 200, r.text);
  const mm = new FakeMattermost({ url: triggerUrl(s, project.id), token: mmToken, trigger, method,
    team: { id: newId(), domain: uniq('team') } });
  return { owner, project, mmToken, mm };
}

const chatUser = (name = 'alice') => ({ id: newId(), username: uniq(name) });

const CONNECT_RE = /^:wave: Hi there! Before I do anything for you, please <(http:\/\/[^|>]+\/-\/profile\/chat_names\/new\?token=([A-Za-z0-9_-]+))\|connect your slashops account>\.$/;

// Links chat user cu (in the fake's team) to slashops user u through the
// real pages: the command answers with a connect link, u signs in, opens
// it and authorizes.
async function link(s, mm, cu, u) {
  const { browser, token } = await linkChatAccount(s.url, mm, cu, u, { connectRe: CONNECT_RE });
  secrets.push(token);
  return browser;
}

// A linked chat user with the given role in the setup's project.
async function linkedMember(s, ctx, level, name = 'member') {
  const u = await newUser(s, name);
  if (level) await addMember(s, ctx.project, u, level);
  const cu = chatUser(name);
  await link(s, ctx.mm, cu, u);
  return { u, cu };
}

const LINES = [
  'issue show <id>',
  'issue new <title> *`⇧ Shift`*+*`↵ Enter`* <description>',
  'issue search <your query>',
  'issue move <issue_id> (to)? <project_path>',
  'issue close <id>',
  'issue comment <id> *`⇧ Shift`*+*`↵ Enter`* <comment>',
  'deploy <environment> to <target-environment>',
  'run <command> <arguments>',
  'incident declare',
];
function helpText(s, trigger, project, { valid = true } = {}) {
  return (valid ? '' : 'The specified command is not valid.\n\n') +
    '*Available commands*\n\nThe following commands are available for this chatops integration:\n\n' +
    LINES.map((l) => `${trigger} ${l}`).join('\n') +
    '\n\nIf available, the `run` command is used for running slashops CI jobs\n' +
    "defined in this project's `.gitlab-ci.yml` file. For example, if a\n" +
    'job called "help" is defined you can run it like so:\n\n' +
    `\`${trigger} run help\`\n\n\n` +
    '*Project*\n\nThe slashops project for this chatops integration can be found at\n' +
    `${project.web_url}.\n\n` +
    '*Documentation*\n\nFor more information about slashops chatops, refer to its\n' +
    `documentation: ${s.url}/help/chatops.\n\n`;
}
const accessDenied = (project) =>
  'You are not allowed to perform the given chatops command. Most\n' +
  'likely you do not have access to the slashops project for this chatops\n' +
  'integration.\n\n' +
  'The slashops project for this chatops integration can be found at\n' +
  `${project.web_url}.\n`;

// The server's "chat command" log lines.
const chatLog = (s) => s.log.split('\n').filter((l) => l.includes('"msg":"chat command"')).map((l) => JSON.parse(l));

// ---- the trigger's HTTP statuses ----

test('400 {"error":"token is missing"} without a token, in the field or the header', async () => {
  const { mm } = await setup();
  for (const opts of [{ omit: ['token'], headers: { Authorization: null } },
    { override: { token: '' }, headers: { Authorization: null } }]) {
    const r = await mm.run('help', { ...opts, lenient: true });
    assert.equal(r.status, 400);
    assert.equal(r.raw, '{"error":"token is missing"}');
  }
  // Mattermost's own behaviour: the fake turns a 400 into Mattermost's error text
  await assert.rejects(mm.run('help', { omit: ['token'], headers: { Authorization: null } }), (e) =>
    e instanceof MattermostError && e.message === "Command with a trigger of 'ops' returned response 400 Bad Request.");
});

test('404 "Integration Not Found" alike for unknown project, no integration, inactive, wrong token', async () => {
  const { owner, project, mmToken, mm } = await setup();
  const other = await newProject(srv, owner); // no integration
  const inactive = await setup();
  let r = await srv.api('PUT', settingsPath(inactive.project), { token: inactive.owner.token, json: { token: inactive.mmToken, active: false } });
  assert.equal(r.status, 200);
  assert.equal(r.json.active, false);
  const cases = [
    new FakeMattermost({ url: triggerUrl(srv, 999999), token: mmToken }),
    new FakeMattermost({ url: triggerUrl(srv, 'nobody/nothing'), token: mmToken }),
    new FakeMattermost({ url: triggerUrl(srv, other.id), token: mmToken }),
    inactive.mm,
    new FakeMattermost({ url: triggerUrl(srv, project.id), token: newId() }),
    new FakeMattermost({ url: triggerUrl(srv, project.path_with_namespace), token: mmToken.slice(0, 25) }),
  ];
  const bodies = new Set();
  for (const c of cases) {
    for (const method of ['P', 'G']) {
      const res = await c.run('help', { lenient: true, method });
      assert.equal(res.status, 404, c.url);
      assert.equal(res.headers.get('content-type'), 'application/json');
      bodies.add(res.raw);
    }
  }
  // the token field and the Authorization header disagreeing is a wrong token too
  const mixed = await mm.run('help', { lenient: true, headers: { Authorization: `Token ${newId()}` } });
  assert.equal(mixed.status, 404);
  bodies.add(mixed.raw);
  assert.deepEqual([...bodies], ['{"message":"404 Integration Not Found"}']);
  // and the right token works, by id and by full path, POST and GET
  assert.equal((await mm.run('help')).status, 200);
  const byPath = new FakeMattermost({ url: triggerUrl(srv, project.path_with_namespace), token: mmToken, team: mm.team });
  assert.equal((await byPath.run('help', { method: 'G' })).status, 200);
});

test('the legacy /services/ trigger and settings paths work the same', async () => {
  const { owner, project, mmToken, mm } = await setup();
  const legacy = new FakeMattermost({ url: triggerUrl(srv, project.id, 'services'), token: mmToken, team: mm.team });
  const r = await legacy.run('help');
  assert.match(r.text, CONNECT_RE);
  const g = await srv.api('GET', settingsPath(project, 'services'), { token: owner.token });
  assert.equal(g.status, 200);
  assert.equal(g.json.slug, 'mattermost-slash-commands');
});

// ---- the settings API ----

test('integration API: Maintainer only, GitLab shape, token never returned, DELETE disables', async () => {
  const owner = await newUser(srv, 'owner');
  const project = await newProject(srv, owner);
  const dev = await newUser(srv, 'dev');
  const maint = await newUser(srv, 'maint');
  const stranger = await newUser(srv, 'stranger');
  await addMember(srv, project, dev, 30);
  await addMember(srv, project, maint, 40);
  const mmToken = newId();
  secrets.push(mmToken);

  let r = await srv.api('GET', settingsPath(project), { token: maint.token });
  assert.equal(r.status, 404);
  assert.deepEqual(r.json, { message: '404 Integration Not Found' });
  r = await srv.api('PUT', settingsPath(project), { token: maint.token, json: {} });
  assert.equal(r.status, 400);
  assert.deepEqual(r.json, { error: 'token is missing' });
  for (const [m, body] of [['GET'], ['PUT', { token: mmToken }], ['DELETE']]) {
    r = await srv.api(m, settingsPath(project), { token: dev.token, json: body });
    assert.equal(r.status, 403, `${m} as Developer`);
    assert.deepEqual(r.json, { message: '403 Forbidden' });
    r = await srv.api(m, settingsPath(project), { token: stranger.token, json: body });
    assert.equal(r.status, 404, `${m} by a non-member of a private project`);
    assert.deepEqual(r.json, { message: '404 Project Not Found' });
    r = await srv.api(m, settingsPath(project), { json: body });
    assert.equal(r.status, 401);
  }

  r = await srv.api('PUT', settingsPath(project), { token: maint.token, form: { token: mmToken } });
  assert.equal(r.status, 200, r.text);
  assert.ok(!r.text.includes(mmToken), 'the token is never returned');
  assert.equal(r.json.title, 'Mattermost slash commands');
  assert.equal(r.json.slug, 'mattermost-slash-commands');
  assert.equal(r.json.active, true);
  assert.equal(typeof r.json.id, 'number');
  assert.match(r.json.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.match(r.json.updated_at, /^\d{4}-\d\d-\d\dT/);
  for (const k of ['commit_events', 'push_events', 'issues_events', 'merge_requests_events', 'tag_push_events',
    'note_events', 'pipeline_events', 'wiki_page_events', 'job_events', 'inherited']) {
    assert.equal(typeof r.json[k], 'boolean', k);
  }
  assert.deepEqual(r.json.properties, {});
  assert.equal(r.json.team_id, null);

  r = await srv.api('GET', settingsPath(project), { token: owner.token });
  assert.equal(r.status, 200);
  assert.ok(!r.text.includes(mmToken));
  const mm = new FakeMattermost({ url: triggerUrl(srv, project.id), token: mmToken });
  assert.match((await mm.run('help')).text, CONNECT_RE);

  // a PUT without a token keeps the stored one (the integration exists)
  r = await srv.api('PUT', settingsPath(project), { token: maint.token, json: { active: true } });
  assert.equal(r.status, 200);
  assert.match((await mm.run('help')).text, CONNECT_RE);

  r = await srv.api('DELETE', settingsPath(project), { token: maint.token });
  assert.equal(r.status, 204);
  r = await srv.api('GET', settingsPath(project), { token: maint.token });
  assert.equal(r.status, 404);
  const gone = await mm.run('help', { lenient: true });
  assert.equal(gone.status, 404);
  assert.equal(gone.raw, '{"message":"404 Integration Not Found"}');
});

// ---- linking ----

test('an unlinked chat user gets a single-use connect link of >= 50 URL-safe characters', async () => {
  const { mm } = await setup();
  const cu = chatUser();
  const a = await mm.run('help', { user: cu });
  const b = await mm.run('issue show 1', { user: cu, method: 'G' });
  for (const r of [a, b]) {
    assert.equal(r.ephemeral, true);
    assert.equal(r.response.response_type, 'ephemeral');
    assert.equal(r.response.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/json');
    const m = r.text.match(CONNECT_RE);
    assert.ok(m, r.text);
    assert.ok(m[2].length >= 50, 'token length');
    assert.ok(m[1].startsWith(`${srv.url}/-/profile/chat_names/new?token=`));
    secrets.push(m[2]);
  }
  assert.notEqual(a.text, b.text, 'every request gets its own token');
});

test('"Couldn\'t identify you" when a team or user field is missing', async () => {
  const { mm } = await setup();
  for (const omit of ['user_name', 'user_id', 'team_domain']) {
    const r = await mm.run('help', { omit: [omit] });
    assert.equal(r.text, ":sweat_smile: Couldn't identify you, nor can I authorize you!", omit);
    assert.equal(r.ephemeral, true);
  }
});

test('linking through the pages; revoke brings the connect link back', async () => {
  const ctx = await setup();
  const u = await newUser(srv, 'linker');
  await addMember(srv, ctx.project, u, 10);
  const cu = chatUser('linker');
  const b = await link(srv, ctx.mm, cu, u);
  let r = await ctx.mm.run('help', { user: cu });
  assert.equal(r.text, helpText(srv, '/ops', ctx.project));
  const list = await b.get('/-/profile/chat_names');
  assert.equal(list.status, 200);
  const del = list.text.match(/action="(\/-\/profile\/chat_names\/\d+\/delete)"/);
  assert.ok(del, 'the list offers revoking');
  const gone = await b.post(del[1], { authenticity_token: formToken(list.text) });
  assert.equal(gone.status, 302);
  r = await ctx.mm.run('help', { user: cu });
  assert.match(r.text, CONNECT_RE, 'asked to connect again');
});

// ---- team binding (CVE-2023-5356) ----

test('the first valid request binds the team; other teams are refused; a Maintainer can change it', async () => {
  const ctx = await setup();
  const { cu } = await linkedMember(srv, ctx, 30, 'teamdev');
  let g = await srv.api('GET', settingsPath(ctx.project), { token: ctx.owner.token });
  assert.equal(g.json.team_id, ctx.mm.team.id, 'bound by the linking request');
  assert.equal(g.json.team_domain, ctx.mm.team.domain);

  // the same chat user id, but the request claims another team
  const evil = { id: newId(), domain: 'evil' };
  const wrong = 'This chatops integration does not serve your team, so it cannot run commands for you.\n\n' +
    'The slashops project for this chatops integration can be found at\n' + `${ctx.project.web_url}.\n`;
  for (const text of ['help', 'run deploy']) {
    const r = await ctx.mm.run(text, { user: cu, team: evil });
    assert.equal(r.text, wrong);
    assert.equal(r.ephemeral, true);
  }
  const missing = await ctx.mm.run('help', { user: cu, omit: ['team_id'] });
  assert.equal(missing.text, wrong, 'no team at all is not the bound team either');
  // the linked team still works
  assert.equal((await ctx.mm.run('help', { user: cu })).text, helpText(srv, '/ops', ctx.project));

  // a Developer cannot move it, a Maintainer can
  const dev = await newUser(srv, 'dev');
  await addMember(srv, ctx.project, dev, 30);
  let r = await srv.api('PUT', settingsPath(ctx.project), { token: dev.token, json: { team_id: evil.id } });
  assert.equal(r.status, 403);
  r = await srv.api('PUT', settingsPath(ctx.project), { token: ctx.owner.token, json: { team_id: evil.id, team_domain: 'evil' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.team_id, evil.id);
  assert.equal((await ctx.mm.run('help', { user: cu })).text, wrong, 'the old team is refused now');
  assert.match((await ctx.mm.run('help', { user: cu, team: evil })).text, CONNECT_RE, 'the new team is served');
  r = await srv.api('PUT', settingsPath(ctx.project), { token: ctx.owner.token, json: { team_id: 'has space' } });
  assert.equal(r.status, 400);

  // clearing: the next valid request binds again
  r = await srv.api('PUT', settingsPath(ctx.project), { token: ctx.owner.token, json: { team_id: '' } });
  assert.equal(r.status, 200);
  assert.equal(r.json.team_id, null);
  assert.equal((await ctx.mm.run('help', { user: cu })).text, helpText(srv, '/ops', ctx.project));
  g = await srv.api('GET', settingsPath(ctx.project), { token: ctx.owner.token });
  assert.equal(g.json.team_id, ctx.mm.team.id);

  // a new token clears the binding (a new command, possibly in a new team)
  const newToken = newId();
  secrets.push(newToken);
  r = await srv.api('PUT', settingsPath(ctx.project), { token: ctx.owner.token, json: { token: newToken } });
  assert.equal(r.json.team_id, null);
  const oldToken = await ctx.mm.run('help', { user: cu, lenient: true });
  assert.equal(oldToken.status, 404, 'the old token stops working');
});

// ---- help ----

test('help, unknown text, a leading space, empty text: GitLab\'s layout with the request\'s trigger', async () => {
  const ctx = await setup(srv, { trigger: 'DeployBot' });
  const { cu } = await linkedMember(srv, ctx, 10, 'helper');
  let r = await ctx.mm.run('help', { user: cu });
  assert.equal(r.text, helpText(srv, '/deploybot', ctx.project), 'trigger lower-cased as Mattermost sends it');
  assert.equal(r.ephemeral, true);
  assert.equal(r.response.status, 200);
  for (const text of ['foo', ' help', '', 'Help', 'issue foo', 'run', 'issue show']) {
    r = await ctx.mm.run(text, { user: cu });
    assert.equal(r.text, helpText(srv, '/deploybot', ctx.project, { valid: false }), JSON.stringify(text));
  }
  for (const text of ['helpme', 'help\nmore lines\n', 'help ☕ ünïcödé']) {
    r = await ctx.mm.run(text, { user: cu });
    assert.equal(r.text, helpText(srv, '/deploybot', ctx.project), JSON.stringify(text));
  }
  r = await ctx.mm.run('help', { user: cu, trigger: 'other' });
  assert.ok(r.text.includes('\n/other run <command> <arguments>\n'));
  // the docs link works
  const docs = await fetch(`${srv.url}/help/chatops`);
  assert.equal(docs.status, 200);
  assert.match(docs.headers.get('content-type'), /^text\/markdown/);
  assert.match(await docs.text(), /^# Chat slash commands/);
});

test('mentions, thread root, GET: the request is read the way Mattermost sends it', async () => {
  const ctx = await setup(srv, { method: 'G' });
  const { cu } = await linkedMember(srv, ctx, 10, 'mention');
  const r = await ctx.mm.run('help @bob ~town-square', {
    user: cu, rootId: newId(),
    userMentions: [{ username: 'bob', id: newId() }], channelMentions: [{ name: 'town-square', id: newId() }],
  });
  assert.equal(r.text, helpText(srv, '/ops', ctx.project));
  // the encoding itself: sorted keys, '+' for spaces, repeated mention keys
  const enc = goValuesEncode([['text', 'a b*~'], ['channel_mentions', 'x'], ['channel_mentions', 'y']]);
  assert.equal(enc, 'channel_mentions=x&channel_mentions=y&text=a+b%2A~');
});

// ---- permissions and account state ----

test('role too low: Guest may not run or deploy; Reporter may not deploy; help is fine', async () => {
  const ctx = await setup();
  const guest = await linkedMember(srv, ctx, 10, 'guest');
  const reporter = await linkedMember(srv, ctx, 20, 'reporter');
  const dev = await linkedMember(srv, ctx, 30, 'dev');
  const denied = accessDenied(ctx.project);
  assert.equal((await ctx.mm.run('run deploy now', { user: guest.cu })).text, denied);
  assert.equal((await ctx.mm.run('issue close 3', { user: guest.cu })).text, denied);
  assert.equal((await ctx.mm.run('help', { user: guest.cu })).text, helpText(srv, '/ops', ctx.project));
  assert.equal((await ctx.mm.run('deploy staging to production', { user: reporter.cu })).text, denied);
  assert.equal((await ctx.mm.run('issue move 1 to x/y', { user: reporter.cu })).text,
    'The `issue move` command is not available on this slashops server yet.');
  assert.equal((await ctx.mm.run('deploy staging to production', { user: dev.cu })).text,
    'The `deploy` command is not available on this slashops server yet.');
  assert.equal((await ctx.mm.run('issue new Café ☕ title\n\nDescrição longa\nlinha 2', { user: guest.cu })).text,
    'The `issue new` command is not available on this slashops server yet.');
  // multi-line run arguments, Unicode, a text with a secret in it
  // (the project's repository is empty, so GitLab's "could not be scheduled")
  const r = await ctx.mm.run('run deploy --token SECRET-in-text\nsecond line ünïcödé', { user: dev.cu });
  assert.equal(r.text, 'The command could not be scheduled. Make sure that your project has a .gitlab-ci.yml that defines a job with the name "deploy"');
  assert.equal(r.ephemeral, true);
});

test('non-members: refused on a private project; Guest-level on a public one', async () => {
  const priv = await setup();
  const outsider = await newUser(srv, 'outsider');
  const cu = chatUser('outsider');
  await link(srv, priv.mm, cu, outsider);
  assert.equal((await priv.mm.run('help', { user: cu })).text, accessDenied(priv.project));

  const pub = await setup(srv, { visibility: 'public' });
  const cu2 = chatUser('outsider');
  await link(srv, pub.mm, cu2, outsider);
  assert.equal((await pub.mm.run('help', { user: cu2 })).text, helpText(srv, '/ops', pub.project));
  assert.equal((await pub.mm.run('issue new x', { user: cu2 })).text,
    'The `issue new` command is not available on this slashops server yet.');
  assert.equal((await pub.mm.run('run x', { user: cu2 })).text, accessDenied(pub.project));
});

test('blocked and deactivated accounts are refused with GitLab\'s texts', async () => {
  const ctx = await setup();
  const { u, cu } = await linkedMember(srv, ctx, 40, 'state');
  assert.equal((await ctx.mm.run('help', { user: cu })).text, helpText(srv, '/ops', ctx.project));
  let r = await srv.api('POST', `/api/v4/users/${u.id}/block`, { token: admin });
  assert.equal(r.status, 201, r.text);
  assert.equal((await ctx.mm.run('help', { user: cu })).text, accessDenied(ctx.project));
  assert.equal((await ctx.mm.run('run x', { user: cu })).text, accessDenied(ctx.project));
  r = await srv.api('POST', `/api/v4/users/${u.id}/unblock`, { token: admin });
  assert.equal(r.status, 201, r.text);
  r = await srv.api('POST', `/api/v4/users/${u.id}/deactivate`, { token: admin });
  assert.equal(r.status, 201, r.text);
  assert.equal((await ctx.mm.run('help', { user: cu })).text,
    'You are not allowed to perform the given ChatOps command. Most likely\n' +
    `your ${srv.url} account needs to be reactivated.\n\n` +
    `Please log back in from a web browser to reactivate your account at ${srv.url}\n`);
  r = await srv.api('POST', `/api/v4/users/${u.id}/activate`, { token: admin });
  assert.equal(r.status, 201, r.text);
  assert.equal((await ctx.mm.run('help', { user: cu })).text, helpText(srv, '/ops', ctx.project));
});

// ---- duplicates ----

test('a repeated trigger_id gets the first reply and never runs twice; help is not deduplicated', async () => {
  const ctx = await setup();
  const { cu } = await linkedMember(srv, ctx, 30, 'dup');
  const triggerId = Buffer.from(`${newId()}:${cu.id}:${Date.now()}:sig`).toString('base64');
  const first = await ctx.mm.run('run build', { user: cu, triggerId });
  assert.equal(first.text, 'The command could not be scheduled. Make sure that your project has a .gitlab-ci.yml that defines a job with the name "build"');
  const again = await ctx.mm.run('run build', { user: cu, triggerId });
  assert.equal(again.raw, first.raw, 'the stored reply, byte for byte');
  const other = await ctx.mm.run('run build', { user: cu });
  assert.equal(other.text, first.text, 'a new trigger id runs normally');
  await new Promise((r) => setTimeout(r, 100));
  const lines = chatLog(srv).filter((l) => l.project_id === ctx.project.id && l.command === 'run');
  assert.deepEqual(lines.map((l) => l.outcome), ['ok', 'duplicate', 'ok']);
  // help with a repeated trigger id is answered every time (read-only)
  const hid = Buffer.from(`${newId()}:${cu.id}:1:sig`).toString('base64');
  for (let i = 0; i < 2; i++) {
    assert.equal((await ctx.mm.run('help', { user: cu, triggerId: hid })).text, helpText(srv, '/ops', ctx.project));
  }
});

// ---- the log ----

test('one log line per command: ids, command, outcome, text length; never the token or text', async () => {
  const ctx = await setup();
  const { cu } = await linkedMember(srv, ctx, 30, 'logger');
  const text = 'run deploy SECRET-in-text';
  await ctx.mm.run(text, { user: cu });
  await new Promise((r) => setTimeout(r, 100));
  const line = chatLog(srv).filter((l) => l.project_id === ctx.project.id).pop();
  assert.equal(line.command, 'run');
  assert.equal(line.outcome, 'ok');
  assert.equal(line.text_bytes, Buffer.byteLength(text));
  assert.equal(typeof line.integration_id, 'number');
  assert.ok(!srv.log.includes(ctx.mmToken));
});

// ---- the fake itself, and response_url plumbing for later issues ----

test('the fake enforces Mattermost\'s rules: non-200 and non-JSON replies are failures', async () => {
  const recv = await responseReceiver();
  try {
    const bad = new FakeMattermost({ url: `${srv.url}/-/readiness`, token: 'x' });
    await assert.rejects(bad.run('help', { method: 'P' }), MattermostError);
    const notJson = new FakeMattermost({ url: `${srv.url}/help/chatops`, token: 'x', method: 'G' });
    await assert.rejects(notJson.run('help'), /Content-Type/);
    const r = await fetch(recv.hookUrl('abc123'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"text":"hi"}' });
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'ok');
    const [got] = await recv.waitFor(1);
    assert.deepEqual(got.json, { text: 'hi' });
    for (let i = 0; i < 4; i++) await fetch(recv.hookUrl('abc123'), { method: 'POST', body: 'x' });
    const sixth = await fetch(recv.hookUrl('abc123'), { method: 'POST', body: 'x' });
    assert.equal(sixth.status, 400, 'five uses per response_url');
  } finally {
    await recv.close();
  }
});

// ---- rate limits (their own server, small limits) ----

test('rate limits per chat user and per integration answer "too quickly" and run nothing', async () => {
  const s = await startServer({
    config: 'chat:\n  rate_limit:\n    per_user: 6\n    per_user_burst: 3\n    per_integration: 60\n    per_integration_burst: 8\n',
  });
  try {
    const ctx = await setup(s);
    const cuA = chatUser('fast');
    const cuB = chatUser('other');
    // 3 at once for one user, then one every 10 s
    for (let i = 0; i < 3; i++) assert.match((await ctx.mm.run('help', { user: cuA })).text, CONNECT_RE);
    let r = await ctx.mm.run('help', { user: cuA });
    assert.match(r.text, /^You are sending commands too quickly\. Try again in (\d+) seconds?\.$/);
    const wait = Number(r.text.match(/in (\d+) second/)[1]);
    assert.ok(wait >= 1 && wait <= 10, `retry after ${wait}`);
    assert.equal(r.ephemeral, true);
    assert.equal(r.status, 200);
    // another user is not affected
    assert.match((await ctx.mm.run('help', { user: cuB })).text, CONNECT_RE);
    // the integration's bucket (8) runs dry with many users
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push((await ctx.mm.run('help', { user: chatUser('crowd') })).text);
    assert.ok(answers.slice(0, 3).every((t) => CONNECT_RE.test(t)));
    assert.match(answers[answers.length - 1], /^You are sending commands too quickly\./);
    const lines = chatLog(s).filter((l) => l.outcome === 'rate_limited');
    assert.ok(lines.length >= 2);
  } finally {
    const { code, log } = await s.stop();
    assert.equal(code, 0);
    assert.ok(!log.includes('glpat-'));
  }
});
