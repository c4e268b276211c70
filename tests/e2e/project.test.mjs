// project.test.mjs: the project pages at GitLab's URLs (/<ns>/<project>),
// which API and chat replies link to as web_url, and their visibility rules.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, Browser, signIn } from './harness.mjs';

let srv;
let aliceToken;

before(async () => {
  srv = await startServer();
  srv.createUser('alice', { password: 'alice-password-1' });
  srv.createUser('bob', { password: 'bob-password-1' });
  aliceToken = srv.createToken('alice');
  for (const [path, visibility] of [['secret', 'private'], ['open', 'public']]) {
    const r = await srv.api('POST', '/api/v4/projects',
      { token: aliceToken, json: { name: path, path, visibility, description: `the ${path} <project>` } });
    assert.equal(r.status, 201, r.text);
  }
  const g = await srv.api('POST', '/api/v4/projects',
    { token: aliceToken, json: { name: 'deep', path: 'deep', namespace: 'team/sub' } });
  assert.equal(g.status, 201, g.text);
});

after(async () => { if (srv) assert.equal((await srv.stop()).code, 0); });

test('a member sees the project page at its web_url, escaped, with the clone URL', async () => {
  const p = await srv.api('GET', '/api/v4/projects/alice%2Fsecret', { token: aliceToken });
  const webPath = new URL(p.json.web_url).pathname;
  assert.equal(webPath, '/alice/secret');
  const b = new Browser(srv.url);
  assert.equal((await signIn(b, 'alice', 'alice-password-1')).status, 302);
  const r = await b.get(webPath);
  assert.equal(r.status, 200);
  assert.match(r.text, /<h1>secret<\/h1>/);
  assert.match(r.text, /the secret &lt;project&gt;/);
  assert.ok(r.text.includes(`${srv.url}/alice/secret.git`));
  assert.match(r.text, /you are Owner/);
  assert.match(r.text, /The repository is empty/);
  assert.match(r.text, /settings\/integrations\/mattermost_slash_commands/);
});

test('nested namespaces and trailing slashes resolve; unknown sub-pages are 404', async () => {
  const b = new Browser(srv.url);
  await signIn(b, 'alice', 'alice-password-1');
  assert.equal((await b.get('/team/sub/deep')).status, 200);
  assert.equal((await b.get('/team/sub/deep/')).status, 200);
  assert.equal((await b.get('/team/sub/deep/-/nothing-here')).status, 404);
});

test('a private project is a 404 for a signed-in outsider, exactly like a missing one', async () => {
  const b = new Browser(srv.url);
  await signIn(b, 'bob', 'bob-password-1');
  const hidden = await b.get('/alice/secret');
  const missing = await b.get('/alice/no-such-project');
  assert.equal(hidden.status, 404);
  assert.equal(missing.status, 404);
  assert.equal(hidden.text, missing.text);
  assert.equal((await b.get('/alice/open')).status, 200, 'public projects are visible');
});

test('anonymous visitors: public pages open, private and missing ones ask to sign in alike', async () => {
  const b = new Browser(srv.url);
  assert.equal((await b.get('/alice/open')).status, 200);
  const priv = await b.get('/alice/secret');
  assert.equal(priv.status, 302);
  assert.equal(priv.headers.get('location'), '/users/sign_in?redirect_to=%2Falice%2Fsecret');
  const nope = await b.get('/alice/nope-nope');
  assert.equal(nope.status, 302, 'a missing project looks the same as a private one');
  assert.equal(nope.headers.get('location'), '/users/sign_in?redirect_to=%2Falice%2Fnope-nope');
  assert.equal((await b.get('/just-one-segment')).status, 404);
});
