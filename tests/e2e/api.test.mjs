// api.test.mjs: the REST API v4 (users, projects, members) against the real
// binary, as GitLab API clients use it: PRIVATE-TOKEN and Bearer tokens,
// JSON and form bodies, URL-encoded project paths, pagination headers, and
// every error status the API promises (docs/API.md).
//
// One server serves the whole file; each test creates the users and
// projects it needs under unique names so tests do not depend on order.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, renameSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from './harness.mjs';

let srv;
let admin; // admin token
let seq = 0;
const uniq = (p) => `${p}${process.pid % 1000}x${++seq}`;

before(async () => {
  srv = await startServer();
  admin = srv.adminToken;
});

after(async () => {
  const { code, log } = await srv.stop();
  assert.equal(code, 0, 'server exits cleanly on SIGTERM');
  assert.ok(!log.includes('glpat-'), 'no token reaches the log');
});

// A user with a token, created through the API (so POST /users is used
// for real). Returns {id, username, token, password}.
async function newUser(prefix = 'user', { scopes = ['api'], admin: isAdmin = false } = {}) {
  const username = uniq(prefix);
  const password = `${username}-pw-12345`;
  const r = await srv.api('POST', '/api/v4/users', {
    token: admin,
    json: { username, email: `${username}@example.com`, name: `User ${username}`, password, admin: isAdmin },
  });
  assert.equal(r.status, 201, r.text);
  const token = srv.createToken(username, { scopes });
  return { id: r.json.id, username, token, password };
}

async function newProject(token, body) {
  const r = await srv.api('POST', '/api/v4/projects', { token, json: body });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

const repoDir = (id) => join(srv.dataDir, 'repositories', `${id}.git`);

// ---- authentication ----

test('401 without credentials and with a bad token, on every kind of route', async () => {
  for (const [m, p] of [['GET', '/api/v4/user'], ['GET', '/api/v4/users'], ['POST', '/api/v4/projects'],
    ['POST', '/api/v4/users'], ['DELETE', '/api/v4/projects/1']]) {
    let r = await srv.api(m, p);
    assert.equal(r.status, 401, `${m} ${p}`);
    assert.deepEqual(r.json, { message: '401 Unauthorized' });
    r = await srv.api(m, p, { token: 'glpat-notarealtoken000000' });
    assert.equal(r.status, 401);
    r = await srv.api(m, p, { token: 'glpat-notarealtoken000000', bearer: true });
    assert.equal(r.status, 401);
  }
});

test('PRIVATE-TOKEN and Bearer both authenticate; GET /user shows the caller', async () => {
  let r = await srv.api('GET', '/api/v4/user', { token: admin });
  assert.equal(r.status, 200);
  assert.equal(r.json.username, 'root');
  assert.equal(r.json.is_admin, true);
  assert.equal(r.json.state, 'active');
  assert.match(r.json.web_url, /\/root$/);
  assert.ok(!('password' in r.json) && !('password_hash' in r.json));
  r = await srv.api('GET', '/api/v4/user', { token: admin, bearer: true });
  assert.equal(r.status, 200);
  assert.equal(r.json.username, 'root');

  const u = await newUser('plain');
  r = await srv.api('GET', '/api/v4/user', { token: u.token });
  assert.equal(r.json.username, u.username);
  assert.equal(r.json.email, `${u.username}@example.com`);
  assert.ok(!r.json.is_admin);
});

test('token scopes: read_api reads but cannot write; read_user cannot use the API', async () => {
  const u = await newUser('scoped', { scopes: ['read_api'] });
  let r = await srv.api('GET', '/api/v4/projects', { token: u.token });
  assert.equal(r.status, 200);
  r = await srv.api('POST', '/api/v4/projects', { token: u.token, json: { name: 'nope' } });
  assert.equal(r.status, 403);
  assert.equal(r.json.error, 'insufficient_scope');
  assert.equal(r.json.scope, 'api');
  const t = srv.createToken(u.username, { name: 'ru', scopes: ['read_user'] });
  r = await srv.api('GET', '/api/v4/projects', { token: t });
  assert.equal(r.status, 403);
  assert.equal(r.json.error, 'insufficient_scope');
});

// ---- users ----

test('POST /users: admin creates a user (201) with GitLab fields and a namespace', async () => {
  const username = uniq('carol');
  const r = await srv.api('POST', '/api/v4/users', {
    token: admin,
    json: { username, email: `${username}@example.com`, name: 'Carol C', password: 'carol-password', skip_confirmation: true },
  });
  assert.equal(r.status, 201, r.text);
  for (const k of ['id', 'username', 'name', 'state', 'avatar_url', 'web_url', 'created_at', 'email', 'is_admin', 'locked', 'bot'])
    assert.ok(k in r.json, `field ${k}`);
  assert.equal(r.json.username, username);
  assert.equal(r.json.is_admin, false);
  assert.equal(r.json.state, 'active');
  assert.equal(r.json.web_url, `${srv.url}/${username}`);
  // the user can sign in to git/API later: make a token and create a project in the namespace
  const token = srv.createToken(username);
  const p = await newProject(token, { name: 'first' });
  assert.equal(p.namespace.kind, 'user');
  assert.equal(p.namespace.full_path, username);
});

test('POST /users: form bodies and random passwords are accepted', async () => {
  const username = uniq('formy');
  const r = await srv.api('POST', '/api/v4/users', {
    token: admin,
    form: { username, email: `${username}@example.com`, name: 'Form User', force_random_password: 'true' },
  });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.username, username);
});

test('POST /users: non-admins get 403, duplicates 409, bad input 400', async () => {
  const u = await newUser('nonadmin');
  const body = (username, extra = {}) => ({ username, email: `${username}@example.com`, name: 'X', password: 'password-123', ...extra });
  let r = await srv.api('POST', '/api/v4/users', { token: u.token, json: body(uniq('x')) });
  assert.equal(r.status, 403);
  assert.deepEqual(r.json, { message: '403 Forbidden' });

  r = await srv.api('POST', '/api/v4/users', { token: admin, json: body(u.username, { email: `${uniq('other')}@example.com` }) });
  assert.equal(r.status, 409);
  assert.deepEqual(r.json, { message: 'Username has already been taken' });
  r = await srv.api('POST', '/api/v4/users', { token: admin, json: body(uniq('fresh'), { email: `${u.username}@example.com` }) });
  assert.equal(r.status, 409);
  assert.deepEqual(r.json, { message: 'Email has already been taken' });

  r = await srv.api('POST', '/api/v4/users', { token: admin, json: { name: 'no user' } });
  assert.equal(r.status, 400);
  assert.match(r.json.error, /username is missing/);
  assert.match(r.json.error, /email is missing/);

  r = await srv.api('POST', '/api/v4/users', { token: admin, json: body(uniq('nopw'), { password: undefined }) });
  assert.equal(r.status, 400);
  assert.match(r.json.error, /at least one parameter must be provided/);

  r = await srv.api('POST', '/api/v4/users', { token: admin, json: body('-bad') });
  assert.equal(r.status, 400);
  assert.ok(Array.isArray(r.json.message.username), r.text);

  r = await srv.api('POST', '/api/v4/users', { token: admin, json: body('api') });
  assert.equal(r.status, 400);
  assert.deepEqual(r.json.message.username, ['is a reserved name']);

  r = await srv.api('POST', '/api/v4/users', { token: admin, json: body(uniq('email'), { email: 'not-an-email' }) });
  assert.equal(r.status, 400);
  assert.ok(r.json.message.email, r.text);

  r = await srv.api('POST', '/api/v4/users', { token: admin, json: body(uniq('short'), { password: 'short' }) });
  assert.equal(r.status, 400);
  assert.ok(r.json.message.password, r.text);

  r = await srv.api('POST', '/api/v4/users', { token: admin, json: body(uniq('unk'), { favourite_colour: 'blue' }) });
  assert.equal(r.status, 400);
  assert.deepEqual(r.json, { error: 'unknown parameter: favourite_colour' });

  r = await srv.api('POST', '/api/v4/users', { token: admin, json: body(uniq('typ'), { admin: 'maybe' }) });
  assert.equal(r.status, 400);
  assert.deepEqual(r.json, { error: 'admin is invalid' });
});

test('GET /users: paginated; admins see emails, others basic fields; username filter', async () => {
  const u = await newUser('lister');
  let r = await srv.api('GET', '/api/v4/users?per_page=1&page=1', { token: admin });
  assert.equal(r.status, 200);
  assert.equal(r.json.length, 1);
  const total = Number(r.headers.get('x-total'));
  assert.ok(total >= 2);
  assert.equal(r.headers.get('x-total-pages'), String(total));
  assert.equal(r.headers.get('x-page'), '1');
  assert.equal(r.headers.get('x-per-page'), '1');
  assert.equal(r.headers.get('x-next-page'), '2');
  assert.ok(!r.headers.get('x-prev-page'), 'no previous page');
  assert.match(r.headers.get('link'), /rel="next"/);
  assert.ok('email' in r.json[0]);

  r = await srv.api('GET', `/api/v4/users?username=${u.username.toUpperCase()}`, { token: u.token });
  assert.equal(r.status, 200);
  assert.equal(r.json.length, 1);
  assert.equal(r.json[0].id, u.id);
  assert.ok(!('email' in r.json[0]), 'non-admins do not see emails');

  r = await srv.api('GET', '/api/v4/users?username=nobody-here', { token: u.token });
  assert.deepEqual(r.json, []);
  assert.equal(r.headers.get('x-total'), '0');

  r = await srv.api('GET', `/api/v4/users/${u.id}`, { token: u.token });
  assert.equal(r.json.email, `${u.username}@example.com`, 'self sees own email');
  r = await srv.api('GET', '/api/v4/users/1', { token: u.token });
  assert.equal(r.status, 200);
  assert.ok(!('email' in r.json));
  r = await srv.api('GET', '/api/v4/users/999999', { token: u.token });
  assert.equal(r.status, 404);
  assert.deepEqual(r.json, { message: '404 User Not Found' });
});

test('admin state actions: block, unblock, deactivate, activate', async () => {
  const u = await newUser('blockme');
  const other = await newUser('notadmin');
  let r = await srv.api('POST', `/api/v4/users/${u.id}/block`, { token: other.token });
  assert.equal(r.status, 403);
  r = await srv.api('POST', `/api/v4/users/${u.id}/block`, { token: admin });
  assert.equal(r.status, 201);
  assert.equal(r.text, 'true');
  r = await srv.api('GET', '/api/v4/user', { token: u.token });
  assert.equal(r.status, 401, 'a blocked user cannot use their token');
  r = await srv.api('POST', `/api/v4/users/${u.id}/activate`, { token: admin });
  assert.equal(r.status, 403);
  r = await srv.api('POST', `/api/v4/users/${u.id}/unblock`, { token: admin });
  assert.equal(r.status, 201);
  r = await srv.api('POST', `/api/v4/users/${u.id}/deactivate`, { token: admin });
  assert.equal(r.status, 201);
  r = await srv.api('GET', `/api/v4/users/${u.id}`, { token: admin });
  assert.equal(r.json.state, 'deactivated');
  r = await srv.api('POST', `/api/v4/users/${u.id}/activate`, { token: admin });
  assert.equal(r.status, 201);
  r = await srv.api('GET', '/api/v4/user', { token: u.token });
  assert.equal(r.status, 200);
  r = await srv.api('POST', '/api/v4/users/999999/block', { token: admin });
  assert.equal(r.status, 404);
});

// ---- projects ----

test('POST /projects: 201 with GitLab fields; path derived from name; creator is Owner; bare repo exists', async () => {
  const u = await newUser('alice');
  const p = await newProject(u.token, { name: 'My Demo', description: 'd', default_branch: 'trunk' });
  assert.equal(p.path, 'my-demo');
  assert.equal(p.name, 'My Demo');
  assert.equal(p.path_with_namespace, `${u.username}/my-demo`);
  assert.equal(p.name_with_namespace, `User ${u.username} / My Demo`);
  assert.equal(p.default_branch, 'trunk');
  assert.equal(p.visibility, 'private');
  assert.equal(p.web_url, `${srv.url}/${u.username}/my-demo`);
  assert.equal(p.http_url_to_repo, `${srv.url}/${u.username}/my-demo.git`);
  assert.equal(p.ssh_url_to_repo, null);
  assert.equal(p.empty_repo, true);
  assert.equal(p.archived, false);
  assert.equal(p.creator_id, u.id);
  assert.equal(p.description, 'd');
  for (const k of ['id', 'created_at', 'last_activity_at', 'readme_url']) assert.ok(k in p, k);
  assert.deepEqual(Object.keys(p.namespace).sort(), ['avatar_url', 'full_path', 'id', 'kind', 'name', 'parent_id', 'path', 'web_url']);
  assert.equal(p.namespace.kind, 'user');
  assert.equal(p.namespace.parent_id, null);
  assert.equal(p.permissions.project_access.access_level, 50);
  assert.equal(p.permissions.group_access, null);
  assert.ok(existsSync(repoDir(p.id)), 'bare repository created');

  const members = await srv.api('GET', `/api/v4/projects/${p.id}/members`, { token: u.token });
  assert.equal(members.json.length, 1);
  assert.equal(members.json[0].id, u.id);
  assert.equal(members.json[0].access_level, 50);
});

test('GET /projects/:id by numeric id and by URL-encoded path', async () => {
  const u = await newUser('getter');
  const p = await newProject(u.token, { name: 'demo', path: 'demo' });
  let r = await srv.api('GET', `/api/v4/projects/${p.id}`, { token: u.token });
  assert.equal(r.status, 200);
  assert.equal(r.json.id, p.id);
  r = await srv.api('GET', `/api/v4/projects/${u.username}%2Fdemo`, { token: u.token });
  assert.equal(r.status, 200);
  assert.equal(r.json.id, p.id);
  r = await srv.api('GET', `/api/v4/projects/${encodeURIComponent(`${u.username.toUpperCase()}/DEMO`)}`, { token: u.token, bearer: true });
  assert.equal(r.status, 200, 'paths compare case-insensitively');
});

test('private projects are invisible to outsiders: the same 404 as a missing project', async () => {
  const owner = await newUser('secretive');
  const outsider = await newUser('outsider');
  const p = await newProject(owner.token, { name: 'hidden' });
  const missing = await srv.api('GET', '/api/v4/projects/99999999', { token: outsider.token });
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.json, { message: '404 Project Not Found' });
  for (const id of [String(p.id), encodeURIComponent(p.path_with_namespace)]) {
    for (const [m, suffix] of [['GET', ''], ['DELETE', ''], ['GET', '/members'], ['POST', '/members']]) {
      const r = await srv.api(m, `/api/v4/projects/${id}${suffix}`, { token: outsider.token, json: m === 'POST' ? { user_id: outsider.id, access_level: 50 } : undefined });
      assert.equal(r.status, 404, `${m} ${suffix}`);
      assert.equal(r.text, missing.text, 'byte-identical to a missing project');
    }
    const anon = await srv.api('GET', `/api/v4/projects/${id}`);
    assert.equal(anon.status, 404);
    assert.equal(anon.text, missing.text);
  }
  let r = await srv.api('GET', '/api/v4/projects?per_page=100', { token: outsider.token });
  assert.ok(!r.json.some((x) => x.id === p.id), 'not listed either');
  r = await srv.api('GET', `/api/v4/projects/${p.id}`, { token: admin });
  assert.equal(r.status, 200, 'admins see everything');
});

test('public projects are readable anonymously; internal ones by any signed-in user', async () => {
  const owner = await newUser('publisher');
  const other = await newUser('reader');
  const pub = await newProject(owner.token, { name: 'open', visibility: 'public' });
  const int = await newProject(owner.token, { name: 'inside', visibility: 'internal' });
  let r = await srv.api('GET', `/api/v4/projects/${pub.id}`);
  assert.equal(r.status, 200);
  assert.equal(r.json.permissions.project_access, null);
  r = await srv.api('GET', '/api/v4/projects?per_page=100');
  assert.ok(r.json.some((x) => x.id === pub.id));
  assert.ok(!r.json.some((x) => x.id === int.id));
  r = await srv.api('GET', `/api/v4/projects/${int.id}`);
  assert.equal(r.status, 404);
  r = await srv.api('GET', `/api/v4/projects/${int.id}`, { token: other.token });
  assert.equal(r.status, 200);
  r = await srv.api('GET', `/api/v4/projects/${pub.id}/members`);
  assert.equal(r.status, 200);
  r = await srv.api('DELETE', `/api/v4/projects/${pub.id}`, { token: other.token });
  assert.equal(r.status, 403, 'visible but not owner: 403');
  assert.deepEqual(r.json, { message: '403 Forbidden' });
});

test('POST /projects: invalid names, duplicates and bad values are 400 and leave nothing behind', async () => {
  const u = await newUser('validator');
  const before = await srv.api('GET', '/api/v4/projects?owned=true', { token: u.token });
  const cases = [
    [{ name: 'x', path: '-dash' }, 'path'],
    [{ name: 'x', path: 'x.git' }, 'path'],
    [{ name: 'x', path: 'has space' }, 'path'],
    [{ name: 'x', path: 'blob' }, 'path'],
    [{ name: '-bad name' }, 'name'],
    [{ name: 'x', path: 'okpath', default_branch: 'a..b' }, 'default_branch'],
    [{ name: 'x', namespace: 'api' }, 'namespace'],
    [{ name: 'x', namespace: 'bad//ns' }, 'namespace'],
  ];
  for (const [body, field] of cases) {
    const r = await srv.api('POST', '/api/v4/projects', { token: u.token, json: body });
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.ok(Array.isArray(r.json.message[field]), `${JSON.stringify(body)} -> ${r.text}`);
  }
  let r = await srv.api('POST', '/api/v4/projects', { token: u.token, json: {} });
  assert.equal(r.status, 400);
  assert.equal(r.json.error, 'name, path are missing, at least one parameter must be provided');
  r = await srv.api('POST', '/api/v4/projects', { token: u.token, json: { name: 'v', visibility: 'secret' } });
  assert.equal(r.status, 400);
  assert.equal(r.json.error, 'visibility does not have a valid value');
  r = await srv.api('POST', '/api/v4/projects', { token: u.token, json: { name: 'v', colour: 'red' } });
  assert.equal(r.status, 400);
  assert.equal(r.json.error, 'unknown parameter: colour');

  await newProject(u.token, { name: 'Twice', path: 'twice' });
  r = await srv.api('POST', '/api/v4/projects', { token: u.token, json: { name: 'Twice again', path: 'TWICE' } });
  assert.equal(r.status, 400);
  assert.deepEqual(r.json, { message: { path: ['has already been taken'] } });

  const after = await srv.api('GET', '/api/v4/projects?owned=true', { token: u.token });
  assert.equal(Number(after.headers.get('x-total')), Number(before.headers.get('x-total')) + 1, 'only the one good project exists');
});

test('POST /projects in a group namespace: created on demand, nested, owner-only', async () => {
  const u = await newUser('grouper');
  const other = await newUser('intruder');
  const group = uniq('team');
  const p = await newProject(u.token, { name: 'svc', namespace: `${group}/backend` });
  assert.equal(p.path_with_namespace, `${group}/backend/svc`);
  assert.equal(p.namespace.kind, 'group');
  assert.equal(p.namespace.full_path, `${group}/backend`);
  assert.notEqual(p.namespace.parent_id, null);
  assert.equal(p.namespace.web_url, `${srv.url}/groups/${group}/backend`);
  const again = await newProject(u.token, { name: 'svc2', namespace_id: p.namespace.id });
  assert.equal(again.namespace.id, p.namespace.id);
  let r = await srv.api('POST', '/api/v4/projects', { token: other.token, json: { name: 'x', namespace: group } });
  assert.equal(r.status, 403);
  r = await srv.api('POST', '/api/v4/projects', { token: other.token, json: { name: 'x', namespace: `${group}/newsub` } });
  assert.equal(r.status, 403);
  r = await srv.api('POST', '/api/v4/projects', { token: other.token, json: { name: 'x', namespace: u.username } });
  assert.equal(r.status, 403, "another user's namespace");
  r = await srv.api('POST', '/api/v4/projects', { token: u.token, json: { name: 'x', namespace_id: 99999999 } });
  assert.equal(r.status, 404);
  assert.deepEqual(r.json, { message: '404 Namespace Not Found' });
  r = await srv.api('GET', `/api/v4/projects/${encodeURIComponent(`${group}/backend/svc`)}`, { token: u.token });
  assert.equal(r.status, 200);
  assert.equal(r.json.name_with_namespace, `${group} / backend / svc`);
  const byAdmin = await newProject(admin, { name: 'adm', namespace: group });
  assert.equal(byAdmin.namespace.full_path, group);
});

test('a failing repository creation leaves no row and no directory', async () => {
  const u = await newUser('failer');
  const repos = join(srv.dataDir, 'repositories');
  const moved = `${repos}.moved`;
  renameSync(repos, moved);
  writeFileSync(repos, 'not a directory'); // the repository cannot be created
  let r;
  try {
    r = await srv.api('POST', '/api/v4/projects', { token: u.token, json: { name: 'doomed' } });
  } finally {
    rmSync(repos);
    renameSync(moved, repos);
  }
  assert.equal(r.status, 500, r.text);
  r = await srv.api('GET', `/api/v4/projects/${u.username}%2Fdoomed`, { token: admin });
  assert.equal(r.status, 404, 'no project row left');
  const p = await newProject(u.token, { name: 'doomed' });
  assert.equal(p.path, 'doomed', 'the path is free again');
  assert.ok(existsSync(repoDir(p.id)));
});

test('DELETE /projects/:id: 202 for the owner, removes rows and repository', async () => {
  const u = await newUser('deleter');
  const dev = await newUser('dev');
  const p = await newProject(u.token, { name: 'gone' });
  let r = await srv.api('POST', `/api/v4/projects/${p.id}/members`, { token: u.token, json: { user_id: dev.id, access_level: 40 } });
  assert.equal(r.status, 201);
  r = await srv.api('DELETE', `/api/v4/projects/${p.id}`, { token: dev.token });
  assert.equal(r.status, 403, 'maintainers cannot delete');
  assert.ok(existsSync(repoDir(p.id)));
  r = await srv.api('DELETE', `/api/v4/projects/${encodeURIComponent(p.path_with_namespace)}`, { token: u.token });
  assert.equal(r.status, 202);
  assert.deepEqual(r.json, { message: '202 Accepted' });
  assert.ok(!existsSync(repoDir(p.id)), 'repository removed');
  r = await srv.api('GET', `/api/v4/projects/${p.id}`, { token: admin });
  assert.equal(r.status, 404);
  r = await srv.api('GET', `/api/v4/projects/${p.id}/members`, { token: admin });
  assert.equal(r.status, 404);
});

test('GET /projects: pagination headers, Link without secrets, filters', async () => {
  const u = await newUser('pager');
  for (const n of ['p-one', 'p-two', 'p-three']) await newProject(u.token, { name: n });
  let r = await srv.api('GET', '/api/v4/projects?membership=true&per_page=2', { token: u.token });
  assert.equal(r.status, 200);
  assert.equal(r.json.length, 2);
  assert.equal(r.headers.get('x-total'), '3');
  assert.equal(r.headers.get('x-total-pages'), '2');
  assert.equal(r.headers.get('x-next-page'), '2');
  assert.ok(!r.headers.get('x-prev-page'), 'no previous page');
  assert.equal(r.json[0].name, 'p-three', 'newest first');
  r = await srv.api('GET', `/api/v4/projects?membership=true&per_page=2&page=2&private_token=${u.token}`);
  assert.equal(r.status, 200, 'private_token query parameter authenticates');
  assert.equal(r.json.length, 1);
  assert.equal(r.headers.get('x-prev-page'), '1');
  assert.ok(!r.headers.get('x-next-page'), 'no next page');
  const link = r.headers.get('link');
  assert.match(link, /rel="prev"/);
  assert.match(link, /rel="first"/);
  assert.match(link, /rel="last"/);
  assert.ok(link.includes('membership=true'));
  assert.ok(!link.includes(u.token) && !link.includes('private_token'), 'no token echoed in Link');
  r = await srv.api('GET', '/api/v4/projects?search=TWO', { token: u.token });
  assert.deepEqual(r.json.map((x) => x.name), ['p-two']);
  // Clients send optional extras with reads; GitLab ignores what it does not know.
  r = await srv.api('GET', '/api/v4/projects?search=TWO&order_by=id&sort=desc&statistics=true', { token: u.token });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.map((x) => x.name), ['p-two']);
  r = await srv.api('GET', '/api/v4/projects?per_page=1000', { token: u.token });
  assert.equal(r.headers.get('x-per-page'), '100', 'per_page is capped at 100');
  r = await srv.api('GET', '/api/v4/projects?per_page=abc', { token: u.token });
  assert.equal(r.status, 400);
  assert.deepEqual(r.json, { error: 'per_page is invalid' });
});

// ---- members ----

test('members: add, get, list, update, remove with GitLab status codes', async () => {
  const owner = await newUser('mowner');
  const bob = await newUser('bob');
  const carol = await newUser('carol');
  const p = await newProject(owner.token, { name: 'team-proj' });
  const base = `/api/v4/projects/${p.id}/members`;

  let r = await srv.api('POST', base, { token: owner.token, form: { user_id: String(bob.id), access_level: '30' } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.id, bob.id);
  assert.equal(r.json.username, bob.username);
  assert.equal(r.json.access_level, 30);
  assert.equal(r.json.state, 'active');
  assert.equal(r.json.expires_at, null);
  assert.equal(r.json.created_by.id, owner.id);
  for (const k of ['name', 'avatar_url', 'web_url', 'created_at']) assert.ok(k in r.json, k);

  r = await srv.api('POST', base, { token: owner.token, json: { user_id: bob.id, access_level: 30 } });
  assert.equal(r.status, 409);
  assert.deepEqual(r.json, { message: 'Member already exists' });
  r = await srv.api('POST', base, { token: owner.token, json: { user_id: 99999999, access_level: 30 } });
  assert.equal(r.status, 404);
  assert.deepEqual(r.json, { message: '404 User Not Found' });
  r = await srv.api('POST', base, { token: owner.token, json: { user_id: carol.id, access_level: 35 } });
  assert.equal(r.status, 400);
  assert.deepEqual(r.json, { error: 'access_level does not have a valid value' });
  r = await srv.api('POST', base, { token: owner.token, json: { user_id: carol.id } });
  assert.equal(r.status, 400);
  assert.deepEqual(r.json, { error: 'access_level is missing' });
  r = await srv.api('POST', base, { token: owner.token, json: { user_id: carol.id, access_level: 30, expires_at: '2001-01-01' } });
  assert.equal(r.status, 400);
  assert.deepEqual(r.json, { message: { expires_at: ['cannot be a date in the past'] } });
  r = await srv.api('POST', base, { token: owner.token, json: { user_id: carol.id, access_level: 30, expires_at: 'soon' } });
  assert.equal(r.status, 400);

  // a Developer cannot manage members
  r = await srv.api('POST', base, { token: bob.token, json: { user_id: carol.id, access_level: 10 } });
  assert.equal(r.status, 403);
  assert.deepEqual(r.json, { message: '403 Forbidden' });

  // GET one and the list
  r = await srv.api('GET', `${base}/${bob.id}`, { token: bob.token });
  assert.equal(r.status, 200);
  assert.equal(r.json.access_level, 30);
  r = await srv.api('GET', `${base}/${carol.id}`, { token: bob.token });
  assert.equal(r.status, 404);
  assert.deepEqual(r.json, { message: '404 Member Not Found' });
  r = await srv.api('GET', `${base}?per_page=1`, { token: bob.token });
  assert.equal(r.json.length, 1);
  assert.equal(r.headers.get('x-total'), '2');

  // promote bob to Maintainer; a Maintainer may add but not make Owners
  r = await srv.api('PUT', `${base}/${bob.id}`, { token: owner.token, json: { access_level: 40, expires_at: '2999-12-31' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.access_level, 40);
  assert.equal(r.json.expires_at, '2999-12-31');
  r = await srv.api('POST', base, { token: bob.token, json: { user_id: carol.id, access_level: 50 } });
  assert.equal(r.status, 403);
  r = await srv.api('POST', base, { token: bob.token, json: { user_id: carol.id, access_level: 20 } });
  assert.equal(r.status, 201);
  r = await srv.api('PUT', `${base}/${owner.id}`, { token: bob.token, json: { access_level: 30 } });
  assert.equal(r.status, 403, 'a Maintainer cannot demote an Owner');
  r = await srv.api('PUT', `${base}/${carol.id}`, { token: bob.token, json: { access_level: 50 } });
  assert.equal(r.status, 403, 'a Maintainer cannot promote to Owner');
  r = await srv.api('PUT', `${base}/${carol.id}`, { token: bob.token, json: {} });
  assert.equal(r.status, 400);

  // the last Owner stays
  r = await srv.api('DELETE', `${base}/${owner.id}`, { token: owner.token });
  assert.equal(r.status, 403);
  assert.match(r.json.message, /^403 Forbidden/);
  r = await srv.api('PUT', `${base}/${owner.id}`, { token: owner.token, json: { access_level: 40 } });
  assert.equal(r.status, 403);

  // remove: Maintainer removes a Reporter; a member may leave
  r = await srv.api('DELETE', `${base}/${carol.id}`, { token: bob.token });
  assert.equal(r.status, 204);
  assert.equal(r.text, '');
  r = await srv.api('DELETE', `${base}/${carol.id}`, { token: bob.token });
  assert.equal(r.status, 404);
  r = await srv.api('DELETE', `${base}/${bob.id}`, { token: bob.token });
  assert.equal(r.status, 204);
  r = await srv.api('GET', `/api/v4/projects/${p.id}`, { token: bob.token });
  assert.equal(r.status, 404, 'after leaving, the private project is invisible');
});

// ---- bodies ----

test('bodies: oversized 413, malformed JSON 400, unsupported type 415, query parameters on POST', async () => {
  const u = await newUser('bodies');
  let r = await srv.api('POST', '/api/v4/projects', {
    token: u.token, headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'big', description: 'x'.repeat(2 * 1024 * 1024) }),
  });
  assert.equal(r.status, 413);
  r = await srv.api('POST', '/api/v4/projects', { token: u.token, headers: { 'Content-Type': 'application/json' }, body: '{"name": "oops",' });
  assert.equal(r.status, 400);
  assert.match(r.json.message, /^400 Bad request - malformed JSON/);
  r = await srv.api('POST', '/api/v4/projects', { token: u.token, headers: { 'Content-Type': 'application/json' }, body: '{"name":"a","name":"b"}' });
  assert.equal(r.status, 400);
  r = await srv.api('POST', '/api/v4/projects', { token: u.token, headers: { 'Content-Type': 'application/json' }, body: `{"name":${'['.repeat(100)}` });
  assert.equal(r.status, 400);
  assert.match(r.json.message, /nested too deeply/);
  r = await srv.api('POST', '/api/v4/projects', { token: u.token, headers: { 'Content-Type': 'text/plain' }, body: 'name=x' });
  assert.equal(r.status, 415);
  r = await srv.api('POST', '/api/v4/projects?name=from-query&visibility=public', { token: u.token });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.path, 'from-query');
  assert.equal(r.json.visibility, 'public');
  r = await srv.api('POST', '/api/v4/projects?name=q', { token: u.token, form: { name: 'f' } });
  assert.equal(r.status, 400);
  assert.equal(r.json.error, 'name is given more than once');
  r = await srv.api('POST', '/api/v4/projects', { token: u.token, form: { name: 'Über Project' } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.name, 'Über Project');
});
