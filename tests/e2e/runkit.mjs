// runkit.mjs: what run.test.mjs and run-more.test.mjs share to set up a
// `/ops run` scene: a new user, a project of theirs with the Mattermost
// slash commands integration on and a fake Mattermost pointing at it,
// files pushed with real git, and a chat user linked to the owner through
// the real pages (harness linkChatAccount). Each test file keeps its own
// response_url receiver and passes how response_urls are made.

import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { git, tempDir, authUrl, linkChatAccount } from './harness.mjs';
import { FakeMattermost, newId } from './fakemattermost.mjs';

export function ok(r, what) {
  assert.equal(r.status, 0, `${what} failed:\n${r.stderr}${r.stdout}`);
  return r;
}

// A user created through the API by the admin; username must be unique.
export async function newUser(s, username) {
  const password = `${username}-pw-12345`;
  const r = await s.api('POST', '/api/v4/users', {
    token: s.adminToken,
    json: { username, email: `${username}@example.com`, name: `User ${username}`, password },
  });
  assert.equal(r.status, 201, r.text);
  return { id: r.json.id, username, password, name: `User ${username}` };
}

// Writes files into the work tree, commits them and pushes main as user.
export function pushFiles(s, project, user, work, files, { message = 'seed', env = {}, verbatim = false } = {}) {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(work, name, '..'), { recursive: true });
    writeFileSync(join(work, name), content);
  }
  ok(git(['add', '-A'], { cwd: work }), 'git add');
  ok(git(['commit', '-q', ...(verbatim ? ['--cleanup=verbatim'] : []), '-m', message], { cwd: work, env }),
    'git commit');
  ok(git(['push', '-q', authUrl(`${s.url}/${project.path_with_namespace}.git`, user.username, user.password), 'main'],
    { cwd: work }), 'git push');
}

// A project with the integration on, `files` pushed in one commit into a
// new work tree (none: an empty repository), and a chat user linked to the
// owner. uniq(prefix) names things; responseUrl(id) makes response_urls;
// work trees are added to cleanup.
export async function runScene(s, { uniq, responseUrl, files, commit = {}, cleanup, workPrefix }) {
  const owner = await newUser(s, uniq('owner'));
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
    token: mmToken, team: { id: newId(), domain: uniq('team') }, responseUrl,
  });
  let work;
  if (files) {
    work = tempDir(workPrefix);
    cleanup.push(work);
    ok(git(['init', '-q', '-b', 'main', work]), 'git init');
    pushFiles(s, project, owner, work, files, commit);
  }
  const cu = { id: newId(), username: uniq('chat') };
  await linkChatAccount(s.url, mm, cu, owner);
  return { owner, ownerToken, project, mm, cu, work };
}

// GitLab's acknowledgement of a created job; groups: job id twice.
export const CREATED_RE = (s, project) =>
  new RegExp(`^Your ChatOps job <${s.url.replace(/[.]/g, '\\.')}/${project.path_with_namespace}/-/jobs/(\\d+)\\|#(\\d+)> has been created!$`);
