// git.test.mjs: git over HTTP against the real binary with the real `git`
// client: clone, push, default branch, roles (Reporter pulls, Developer
// pushes), token scopes, private/public visibility, wrong credentials, the
// dumb protocol, and a large push that must stream (the server's peak
// memory stays far below the size of the push).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync, readdirSync, rmSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { startServer, git, tempDir, authUrl } from './harness.mjs';

let srv;
const users = {};   // name -> {username, password, id, token}
let demo;           // the private project alice owns
const dirs = [];

function work() {
  const d = tempDir('slashops-git-e2e-');
  dirs.push(d);
  return d;
}

function ok(r, what) {
  assert.equal(r.status, 0, `${what} failed:\n${r.stderr}${r.stdout}`);
  return r;
}

function commit(dir, name, content, msg) {
  writeFileSync(join(dir, name), content);
  ok(git(['add', name], { cwd: dir }), 'git add');
  ok(git(['commit', '-q', '-m', msg], { cwd: dir }), 'git commit');
}

// The processes whose parent is pid (zombies included), from /proc.
function childrenOf(pid) {
  const out = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const st = readFileSync(`/proc/${e}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) === pid) out.push(`${e} ${f[0]}`);
    } catch { /* gone */ }
  }
  return out;
}

function basic(user, secret) {
  return 'Basic ' + Buffer.from(`${user}:${secret}`).toString('base64');
}

async function user(name, { scopes = ['api'] } = {}) {
  const u = srv.createUser(name);
  u.token = srv.createToken(name, { name: `${name}-git`, scopes });
  const r = await srv.api('GET', '/api/v4/user', { token: u.token });
  assert.equal(r.status, 200, r.text);
  u.id = r.json.id;
  users[name] = u;
  return u;
}

async function project(owner, body) {
  const r = await srv.api('POST', '/api/v4/projects', { token: owner.token, json: body });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

async function addMember(p, u, level) {
  const r = await srv.api('POST', `/api/v4/projects/${p.id}/members`, {
    token: users.alice.token, json: { user_id: u.id, access_level: level },
  });
  assert.equal(r.status, 201, r.text);
}

const repoUrl = (p) => `${srv.url}/${p.path_with_namespace}.git`;

before(async () => {
  srv = await startServer();
  await user('alice');
  await user('bob');     // Reporter on demo
  await user('carol');   // not a member
  await user('dave');    // Developer on demo
  users.dave.readToken = srv.createToken('dave', { name: 'ro', scopes: ['read_repository'] });
  users.dave.writeToken = srv.createToken('dave', { name: 'rw', scopes: ['write_repository'] });
  users.dave.userToken = srv.createToken('dave', { name: 'user', scopes: ['read_user'] });
  demo = await project(users.alice, { name: 'Demo', path: 'demo' });
  assert.equal(demo.default_branch ?? null, null);
  await addMember(demo, users.bob, 20);
  await addMember(demo, users.dave, 30);
});

after(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  if (!srv) return;
  const { code, log } = await srv.stop();
  assert.equal(code, 0, 'clean shutdown');
  for (const u of Object.values(users)) {
    for (const secret of [u.password, u.token, u.readToken, u.writeToken].filter(Boolean)) {
      assert.ok(!log.includes(secret), 'the log must not contain a password or token');
    }
  }
});

test('cloning an empty project works', () => {
  const d = work();
  const r = ok(git(['clone', authUrl(repoUrl(demo), 'alice', users.alice.password), 'c'], { cwd: d }), 'clone');
  assert.match(r.stderr, /empty repository/);
});

test('the first pushed branch becomes the default branch', async () => {
  const d = work();
  ok(git(['clone', authUrl(repoUrl(demo), 'alice', users.alice.password), 'c'], { cwd: d }), 'clone');
  const c = join(d, 'c');
  ok(git(['checkout', '-q', '-b', 'trunk'], { cwd: c }), 'checkout');
  commit(c, 'README.md', '# demo\n', 'first');
  ok(git(['push', '-q', 'origin', 'trunk'], { cwd: c }), 'push trunk');
  let r = await srv.api('GET', `/api/v4/projects/${demo.id}`, { token: users.alice.token });
  assert.equal(r.status, 200);
  assert.equal(r.json.default_branch, 'trunk');
  // A later branch does not change it.
  ok(git(['push', '-q', 'origin', 'trunk:main'], { cwd: c }), 'push main');
  r = await srv.api('GET', `/api/v4/projects/${demo.id}`, { token: users.alice.token });
  assert.equal(r.json.default_branch, 'trunk');
});

test('a push is kept as a pack, not exploded into loose objects', () => {
  // Each job copies the object database; git would leave a push of
  // under 100 objects as a file per object (receive.unpackLimit).
  const objects = join(srv.dataDir, 'repositories', `${demo.id}.git`, 'objects');
  const loose = readdirSync(objects).filter((d) => /^[0-9a-f]{2}$/.test(d))
    .flatMap((d) => readdirSync(join(objects, d)));
  assert.deepEqual(loose, []);
  assert.ok(readdirSync(join(objects, 'pack')).some((f) => f.endsWith('.pack')));
});

test('a clone gets the content and checks out the default branch', () => {
  const d = work();
  ok(git(['clone', '-q', authUrl(repoUrl(demo), 'bob', users.bob.password), 'c'], { cwd: d }), 'clone as Reporter');
  const c = join(d, 'c');
  assert.equal(readFileSync(join(c, 'README.md'), 'utf8'), '# demo\n');
  assert.equal(git(['rev-parse', '--abbrev-ref', 'HEAD'], { cwd: c }).stdout.trim(), 'trunk');
  // protocol v0/v1 works as well as v2
  const v0 = work();
  ok(git(['-c', 'protocol.version=0', 'clone', '-q', authUrl(repoUrl(demo), 'bob', users.bob.password), 'c'], { cwd: v0 }), 'clone v0');
  assert.equal(readFileSync(join(v0, 'c', 'README.md'), 'utf8'), '# demo\n');
});

test('a Developer pushes with a token and any username', () => {
  const d = work();
  const url = authUrl(repoUrl(demo), 'anything', users.dave.writeToken);
  ok(git(['clone', '-q', url, 'c'], { cwd: d }), 'clone with write_repository token');
  const c = join(d, 'c');
  commit(c, 'dave.txt', 'from dave\n', 'dave');
  ok(git(['push', '-q', 'origin', 'trunk'], { cwd: c }), 'push with token');
  const check = work();
  ok(git(['clone', '-q', authUrl(repoUrl(demo), 'alice', users.alice.token), 'c'], { cwd: check }), 'clone');
  assert.equal(readFileSync(join(check, 'c', 'dave.txt'), 'utf8'), 'from dave\n');
});

test('a Reporter cannot push', () => {
  const d = work();
  ok(git(['clone', '-q', authUrl(repoUrl(demo), 'bob', users.bob.password), 'c'], { cwd: d }), 'clone');
  const c = join(d, 'c');
  commit(c, 'bob.txt', 'x\n', 'bob');
  const r = git(['push', 'origin', 'trunk'], { cwd: c });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /not allowed to push code/);
});

test('token scopes: read_repository pulls but cannot push; read_user cannot pull', async () => {
  const d = work();
  ok(git(['clone', '-q', authUrl(repoUrl(demo), 'dave', users.dave.readToken), 'c'], { cwd: d }), 'clone read_repository');
  const c = join(d, 'c');
  commit(c, 'ro.txt', 'x\n', 'ro');
  const r = git(['push', 'origin', 'trunk'], { cwd: c });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /write_repository/);
  const res = await fetch(`${repoUrl(demo)}/info/refs?service=git-upload-pack`, {
    headers: { Authorization: basic('dave', users.dave.userToken) },
  });
  assert.equal(res.status, 403);
});

test('a private project is invisible to non-members', async () => {
  const d = work();
  const r = git(['clone', authUrl(repoUrl(demo), 'carol', users.carol.password), 'c'], { cwd: d });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /not found/);
  const res = await fetch(`${repoUrl(demo)}/info/refs?service=git-upload-pack`, {
    headers: { Authorization: basic('carol', users.carol.token) },
  });
  assert.equal(res.status, 404);
  // the same answer as for a project that does not exist at all
  const none = await fetch(`${srv.url}/alice/nothing-here.git/info/refs?service=git-upload-pack`, {
    headers: { Authorization: basic('carol', users.carol.token) },
  });
  assert.equal(none.status, 404);
  assert.equal(await none.text(), await res.text());
  const api = await srv.api('GET', `/api/v4/projects/${demo.id}`, { token: users.carol.token });
  assert.equal(api.status, 404);
});

test('anonymous and wrong credentials get 401 with a Basic challenge', async () => {
  for (const headers of [{}, { Authorization: basic('alice', 'wrong-password') },
    { Authorization: basic('alice', 'glpat-notarealtoken00000') }]) {
    const res = await fetch(`${repoUrl(demo)}/info/refs?service=git-upload-pack`, { headers });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Basic realm="slashops"');
  }
  // anonymous on a project that does not exist: also 401 (nothing leaks)
  const res = await fetch(`${srv.url}/alice/nothing-here.git/info/refs?service=git-upload-pack`);
  assert.equal(res.status, 401);
  const d = work();
  const r = git(['clone', authUrl(repoUrl(demo), 'alice', 'wrong-password'), 'c'], { cwd: d });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /Authentication failed/);
});

test('public projects can be cloned anonymously but not pushed to', async () => {
  const pub = await project(users.alice, { name: 'Pub', path: 'pub', visibility: 'public' });
  const d = work();
  ok(git(['clone', '-q', authUrl(repoUrl(pub), 'alice', users.alice.token), 'c'], { cwd: d }), 'clone');
  const c = join(d, 'c');
  commit(c, 'hello.txt', 'hello\n', 'hello');
  ok(git(['push', '-q', 'origin', 'HEAD:main'], { cwd: c }), 'push');
  const anon = work();
  ok(git(['clone', '-q', repoUrl(pub), 'c'], { cwd: anon }), 'anonymous clone');
  assert.equal(readFileSync(join(anon, 'c', 'hello.txt'), 'utf8'), 'hello\n');
  commit(join(anon, 'c'), 'anon.txt', 'x\n', 'anon');
  const r = git(['push', 'origin', 'main'], { cwd: join(anon, 'c') });
  assert.notEqual(r.status, 0);
  const res = await fetch(`${repoUrl(pub)}/info/refs?service=git-receive-pack`);
  assert.equal(res.status, 401);
  // a Guest-free, signed-in non-member may read a public project, not push
  const res2 = await fetch(`${repoUrl(pub)}/info/refs?service=git-receive-pack`, {
    headers: { Authorization: basic('carol', users.carol.token) },
  });
  assert.equal(res2.status, 403);
});

test('internal projects: any signed-in user pulls; Guests of private projects cannot', async () => {
  const internal = await project(users.alice, { name: 'Inner', path: 'inner', visibility: 'internal' });
  const d = work();
  ok(git(['clone', '-q', authUrl(repoUrl(internal), 'carol', users.carol.password), 'c'], { cwd: d }), 'clone internal as non-member');
  const anon = await fetch(`${repoUrl(internal)}/info/refs?service=git-upload-pack`);
  assert.equal(anon.status, 401);
  const push = await fetch(`${repoUrl(internal)}/info/refs?service=git-receive-pack`, {
    headers: { Authorization: basic('carol', users.carol.token) },
  });
  assert.equal(push.status, 403);

  const guest = await user('gina');
  await addMember(demo, guest, 10);
  const res = await fetch(`${repoUrl(demo)}/info/refs?service=git-upload-pack`, {
    headers: { Authorization: basic('gina', guest.token) },
  });
  assert.equal(res.status, 403);
  assert.match(await res.text(), /not allowed to download code/);
  // the project path matches case-insensitively, as GitLab's does
  const upper = await fetch(`${srv.url}/ALICE/Demo.git/info/refs?service=git-upload-pack`, {
    headers: { Authorization: basic('alice', users.alice.token) },
  });
  assert.equal(upper.status, 200);
});

test('smart HTTP answers carry the CGI content type and no-cache', async () => {
  const res = await fetch(`${repoUrl(demo)}/info/refs?service=git-upload-pack`, {
    headers: { Authorization: basic('alice', users.alice.token) },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/x-git-upload-pack-advertisement');
  assert.match(res.headers.get('cache-control'), /no-cache/);
  const body = await res.text();
  assert.match(body, /^001e# service=git-upload-pack\n0000/);
  assert.match(body, /refs\/heads\/trunk/);
});

test('the dumb protocol is refused and other paths are not git routes', async () => {
  const auth = { Authorization: basic('alice', users.alice.token) };
  for (const p of ['HEAD', 'objects/info/packs', 'info/refs']) {
    const res = await fetch(`${repoUrl(demo)}/${p}`, { headers: auth });
    assert.equal(res.status, 403, p);
  }
  const wrongMethod = await fetch(`${repoUrl(demo)}/git-upload-pack`, { headers: auth });
  assert.equal(wrongMethod.status, 405);
  const other = await fetch(`${repoUrl(demo)}/config`, { headers: auth });
  assert.equal(other.status, 404);
  assert.ok(!(await other.text()).includes('[core]'));
});

test('a push larger than git.max_push_bytes is refused with 413', async () => {
  const small = await startServer({ config: 'git:\n  max_push_bytes: 200000\n' });
  try {
    small.createUser('zed');
    const token = small.createToken('zed', { name: 'z', scopes: ['api'] });
    const r = await small.api('POST', '/api/v4/projects', { token, json: { name: 'p', path: 'p' } });
    assert.equal(r.status, 201, r.text);
    const d = work();
    const url = authUrl(`${small.url}/zed/p.git`, 'zed', token);
    ok(git(['clone', '-q', url, 'c'], { cwd: d }), 'clone');
    const c = join(d, 'c');
    commit(c, 'big.bin', randomBytes(1 << 20), 'big');
    const p = git(['push', 'origin', 'HEAD:main'], { cwd: c });
    assert.notEqual(p.status, 0);
    assert.match(p.stderr, /413|larger than the limit/);
    const res = await fetch(`${small.url}/zed/p.git/info/refs?service=git-upload-pack`, {
      headers: { Authorization: basic('zed', token) },
    });
    assert.doesNotMatch(await res.text(), /refs\/heads\/main/);
  } finally {
    const { code } = await small.stop();
    assert.equal(code, 0);
  }
});

test('a 60 MB push streams: server memory stays far below the push size', async (t) => {
  // A server of its own, used only with tokens (password checks use
  // Argon2id, whose 64 MiB working memory would mask the measurement).
  const big = await startServer();
  try {
    big.createUser('eve');
    const token = big.createToken('eve', { name: 'e', scopes: ['api'] });
    const r = await big.api('POST', '/api/v4/projects', { token, json: { name: 'big', path: 'big' } });
    assert.equal(r.status, 201, r.text);
    const url = authUrl(`${big.url}/eve/big.git`, 'eve', token);
    const d = work();
    ok(git(['clone', '-q', url, 'c'], { cwd: d }), 'clone');
    const c = join(d, 'c');
    commit(c, 'small.txt', 'warm up\n', 'small');
    ok(git(['push', '-q', 'origin', 'HEAD:main'], { cwd: c }), 'small push');
    const baseline = big.peakRssKiB();
    assert.ok(baseline > 0);

    const size = 60 * 1024 * 1024;
    const hash = createHash('sha256');
    const fd = openSync(join(c, 'blob.bin'), 'w');
    for (let done = 0; done < size; done += 1 << 20) {
      const chunk = randomBytes(1 << 20);
      hash.update(chunk);
      writeSync(fd, chunk);
    }
    closeSync(fd);
    ok(git(['add', 'blob.bin'], { cwd: c }), 'add');
    ok(git(['commit', '-q', '-m', 'big'], { cwd: c }), 'commit');
    ok(git(['push', '-q', 'origin', 'HEAD:main'], { cwd: c }), 'large push');
    const afterPush = big.peakRssKiB();
    t.diagnostic(`peak RSS before ${baseline} KiB, after the push ${afterPush} KiB`);
    assert.ok(afterPush - baseline < 40 * 1024,
      `peak RSS grew by ${afterPush - baseline} KiB during a ${size >> 20} MiB push`);

    // and it comes back intact, streamed the other way
    const back = work();
    ok(git(['clone', '-q', url, 'c'], { cwd: back }), 'clone back');
    const got = createHash('sha256').update(readFileSync(join(back, 'c', 'blob.bin'))).digest('hex');
    assert.equal(got, hash.digest('hex'));
    const afterClone = big.peakRssKiB();
    t.diagnostic(`peak RSS after the clone ${afterClone} KiB`);
    assert.ok(afterClone - baseline < 40 * 1024,
      `peak RSS grew by ${afterClone - baseline} KiB during a ${size >> 20} MiB clone`);

    // A client that hangs up mid-download: the backend is killed and
    // reaped (the server is left with no child processes, not even zombies).
    const auth = { Authorization: basic('eve', token) };
    const refs = await (await fetch(`${big.url}/eve/big.git/info/refs?service=git-upload-pack`, { headers: auth })).text();
    const sha = refs.match(/([0-9a-f]{40}) refs\/heads\/main/)[1];
    const want = `want ${sha}\n`;
    const body = (want.length + 4).toString(16).padStart(4, '0') + want + '0000' + '0009done\n';
    const ac = new AbortController();
    const res = await fetch(`${big.url}/eve/big.git/git-upload-pack`, {
      method: 'POST', body, signal: ac.signal,
      headers: { ...auth, 'Content-Type': 'application/x-git-upload-pack-request' },
    });
    assert.equal(res.status, 200);
    const reader = res.body.getReader();
    const first = await reader.read();
    assert.ok(first.value.length > 0);
    assert.ok(childrenOf(big.pid).length > 0, 'the backend runs while the pack streams');
    ac.abort();
    let left = childrenOf(big.pid);
    for (let i = 0; i < 100 && left.length; i++) {
      await new Promise((r) => setTimeout(r, 50));
      left = childrenOf(big.pid);
    }
    assert.deepEqual(left, [], 'no git http-backend (or zombie) left after the client hung up');
  } finally {
    const { code } = await big.stop();
    assert.equal(code, 0);
  }
});
