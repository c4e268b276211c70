// web.test.mjs: the web sign-in, dashboard and sign-out against the real
// binary, first as raw HTTP (fetch with a hand-kept cookie jar, so every
// header can be checked), then in headless Chromium (playwright-core) as a
// person would use it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, chromiumLaunchOptions, Browser, formToken, signIn } from './harness.mjs';

let srv;
let alice;

before(async () => {
  srv = await startServer();
  alice = srv.createUser('alice', { password: 'alice-password-1' });
  srv.createUser('bob', { password: 'bob-password-1' });
  const token = srv.createToken('alice', { name: 'web-e2e', scopes: ['api'] });
  const r = await srv.api('POST', '/api/v4/projects', { token, json: { name: 'demo', path: 'demo' } });
  assert.equal(r.status, 201, r.text);
});

after(async () => {
  if (!srv) return;
  const { code, log } = await srv.stop();
  assert.equal(code, 0, 'clean shutdown');
  for (const secret of ['alice-password-1', 'bob-password-1', '_slashops_session=', '_slashops_csrf=']) {
    assert.ok(!log.includes(secret), `the log must not contain ${secret}`);
  }
});

test('the sign-in form has GitLab field names, a CSRF token and a strict CSP', async () => {
  const b = new Browser(srv.url);
  const r = await b.get('/users/sign_in');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  assert.match(r.text, /name="user\[login\]"/);
  assert.match(r.text, /name="user\[password\]"/);
  assert.ok(formToken(r.text).length > 40);
  const csrf = r.setCookies.find((c) => c.startsWith('_slashops_csrf='));
  assert.ok(csrf, 'anonymous CSRF cookie set');
  assert.match(csrf, /HttpOnly/);
  assert.match(csrf, /SameSite=Lax/);
  assert.equal(b.jar.get('_slashops_csrf'), formToken(r.text));
  // The page's own policy replaces the http layer's general one.
  const csp = r.headers.get('content-security-policy');
  assert.ok(csp.split(', ').length === 1 && csp.split(', ').includes("default-src 'none'; style-src 'self'; img-src 'self'; " +
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"), csp);
  assert.equal(r.headers.get('x-frame-options'), 'DENY');
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.doesNotMatch(r.text, /<script/);

  const css = await b.get('/assets/app.css');
  assert.equal(css.status, 200);
  assert.match(css.headers.get('content-type'), /^text\/css/);
});

test('a wrong password re-renders the form with "Invalid login or password."', async () => {
  const b = new Browser(srv.url);
  const r = await signIn(b, 'alice', 'not-her-password');
  assert.equal(r.status, 200);
  assert.match(r.text, /Invalid login or password\./);
  assert.doesNotMatch(r.text, /not-her-password/);
  assert.ok(!b.jar.has('_slashops_session'));
  const unknown = await signIn(b, 'nobody', 'whatever-password');
  assert.equal(unknown.status, 200);
  assert.match(unknown.text, /Invalid login or password\./);
});

test('a POST without the CSRF token is rejected with 422', async () => {
  const b = new Browser(srv.url);
  const none = await b.post('/users/sign_in', { 'user[login]': 'alice', 'user[password]': alice.password });
  assert.equal(none.status, 422);
  assert.ok(!none.setCookies.some((c) => c.startsWith('_slashops_session=')));
  // A token copied from a page but without its cookie (a forged cross-site post).
  const page = await new Browser(srv.url).get('/users/sign_in');
  const forged = await b.post('/users/sign_in', {
    authenticity_token: formToken(page.text), 'user[login]': 'alice', 'user[password]': alice.password,
  });
  assert.equal(forged.status, 422);
});

test('sign in, see the dashboard, sign out; the old cookie stops working', async () => {
  const b = new Browser(srv.url);
  const anon = await b.get('/');
  assert.equal(anon.status, 302);
  assert.match(anon.headers.get('location'), /\/users\/sign_in/);

  const r = await signIn(b, 'alice', alice.password);
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), '/');
  const session = r.setCookies.find((c) => c.startsWith('_slashops_session='));
  assert.ok(session, 'session cookie set');
  assert.match(session, /HttpOnly/);
  assert.match(session, /SameSite=Lax/);
  assert.match(session, /Path=\//);
  assert.doesNotMatch(session, /Secure/, 'plain http: no Secure flag');

  const dash = await b.get('/');
  assert.equal(dash.status, 200);
  assert.match(dash.text, /@alice/);
  assert.match(dash.text, /alice\/demo/);
  assert.ok(dash.text.includes(`${srv.url}/alice/demo.git`), 'clone URL shown');
  assert.equal(dash.headers.get('cache-control'), 'no-store');
  const oldCookie = b.cookieHeader();

  // sign-out needs the session's CSRF token
  const noToken = await b.post('/users/sign_out', {});
  assert.equal(noToken.status, 422);
  const wrongToken = await b.post('/users/sign_out', { authenticity_token: 'forged' });
  assert.equal(wrongToken.status, 422);
  assert.equal((await b.get('/')).status, 200, 'still signed in after refused sign-outs');

  const out = await b.post('/users/sign_out', { authenticity_token: formToken(dash.text) });
  assert.equal(out.status, 302);
  assert.equal(out.headers.get('location'), '/users/sign_in');
  assert.ok(out.setCookies.some((c) => /^_slashops_session=;/.test(c) && /Max-Age=0/.test(c)));

  const replay = await fetch(srv.url + '/', { headers: { Cookie: oldCookie }, redirect: 'manual' });
  assert.equal(replay.status, 302, 'the old session cookie no longer works');
});

test('redirect_to: local paths are followed, other sites are not', async () => {
  const b1 = new Browser(srv.url);
  const anon = await b1.get('/?tab=projects');
  assert.equal(anon.headers.get('location'), '/users/sign_in?redirect_to=%2F%3Ftab%3Dprojects');
  const page = await b1.get(anon.headers.get('location'));
  assert.match(page.text, /name="redirect_to" value="\/\?tab=projects"/);
  const ok = await b1.post('/users/sign_in', {
    authenticity_token: formToken(page.text), 'user[login]': 'alice', 'user[password]': alice.password,
    redirect_to: '/?tab=projects',
  });
  assert.equal(ok.status, 302);
  assert.equal(ok.headers.get('location'), '/?tab=projects');

  for (const evil of ['//evil.example', 'https://evil.example/', '/\\evil.example']) {
    const b = new Browser(srv.url);
    const r = await signIn(b, 'alice', alice.password, { redirect_to: evil });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), '/', `redirect_to=${evil}`);
  }
});

test('a blocked user cannot sign in, and loses an existing session', async () => {
  const b = new Browser(srv.url);
  assert.equal((await signIn(b, 'bob', 'bob-password-1')).status, 302);
  assert.equal((await b.get('/')).status, 200);
  const blocked = srv.slashops(['admin', 'user', 'block', 'bob']);
  assert.equal(blocked.status, 0, blocked.stderr);
  assert.equal((await b.get('/')).status, 302, 'session refused once blocked');
  const again = await signIn(new Browser(srv.url), 'bob', 'bob-password-1');
  assert.equal(again.status, 200);
  assert.match(again.text, /blocked/);
  assert.ok(!again.setCookies.some((c) => c.startsWith('_slashops_session=')));
});

test('headless Chromium: sign in with the form, see the dashboard, sign out', async () => {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch(chromiumLaunchOptions);
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
    const cspErrors = [];
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text()); });

    await page.goto(srv.url + '/');
    assert.match(page.url(), /\/users\/sign_in/);
    await page.fill('input[name="user[login]"]', 'alice');
    await page.fill('input[name="user[password]"]', 'wrong-password-x');
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    assert.match(await page.textContent('[role="alert"]'), /Invalid login or password\./);

    await page.fill('input[name="user[password]"]', alice.password);
    await page.screenshot({ path: '/tmp/signin.png' });
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    assert.equal(new URL(page.url()).pathname, '/');
    assert.match(await page.textContent('header'), /@alice/);
    assert.match(await page.textContent('main'), /alice\/demo/);
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === '_slashops_session');
    assert.ok(session && session.httpOnly && session.sameSite === 'Lax');
    // The stylesheet applied (no CSP violation): the header bar is dark.
    const bg = await page.evaluate(() => getComputedStyle(document.querySelector('.topbar')).backgroundColor);
    assert.equal(bg, 'rgb(40, 39, 45)');
    await page.screenshot({ path: '/tmp/dashboard.png' });

    await Promise.all([page.waitForNavigation(), page.click('form.signout button')]);
    assert.match(page.url(), /\/users\/sign_in$/);
    await page.goto(srv.url + '/');
    assert.match(page.url(), /\/users\/sign_in/);
    assert.deepEqual(cspErrors, []);
  } finally {
    await browser.close();
  }
});
