// link.test.mjs: linking a chat account to a slashops account, and the
// project's Mattermost slash commands settings page, against the real
// binary. First as raw HTTP (fetch with a hand-kept cookie jar, so every
// status, redirect and cookie can be checked), then in headless Chromium
// (playwright-core) as a person would click through it.
//
// Flow under test (GitLab's /-/profile/chat_names, issue 3 item 3): an
// unlinked chat user's command gets a connect link; opening it needs a
// session (sign-in comes back to it); the page names the chat team, the
// chat user and the integration; Authorize links the account, Deny drops
// the request; either way the link is used up (404). The chat names page
// lists and revokes links. An expired link is a 404 (a second server runs
// with the hidden chat.link_ttl set to 2 s).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, chromiumLaunchOptions, Browser, formToken, signIn } from './harness.mjs';
import { FakeMattermost, newId } from './fakemattermost.mjs';

let srv;
let project;
let alice;
let dave;
const MM_TOKEN = 'mmlinktoken0000000000000aa'; // 26 characters, as Mattermost makes them
const team = { id: newId(), domain: 'acme' };
let mm;

async function signedIn(login, password) {
  const b = new Browser(srv.url);
  const r = await signIn(b, login, password);
  assert.equal(r.status, 302);
  return b;
}

// The connect link in an unlinked user's reply, as a path.
function connectPath(reply, base) {
  assert.equal(reply.status, 200);
  const m = reply.text.match(/\((https?:\/\/[^)\s]+\/-\/profile\/chat_names\/new\?token=([A-Za-z0-9_-]+))\)/) ||
    reply.text.match(/<(https?:\/\/[^|>\s]+\/-\/profile\/chat_names\/new\?token=([A-Za-z0-9_-]+))\|/);
  assert.ok(m, `a connect link in: ${reply.text}`);
  assert.ok(m[1].startsWith(base), `${m[1]} is on ${base}`);
  assert.ok(m[2].length >= 50, 'at least 50 random characters');
  return m[1].slice(base.length);
}

const settingsPath = () => `/-/projects/${project.id}/settings/integrations/mattermost_slash_commands`;

before(async () => {
  srv = await startServer();
  alice = srv.createUser('alice', { password: 'alice-password-1' });
  dave = srv.createUser('dave', { password: 'dave-password-1' });
  srv.createUser('bob', { password: 'bob-password-1' });
  const token = srv.createToken('alice', { name: 'link-e2e' });
  let r = await srv.api('POST', '/api/v4/projects', { token, json: { name: 'Demo', path: 'demo' } });
  assert.equal(r.status, 201, r.text);
  project = r.json;
  const daveId = (await srv.api('GET', '/api/v4/users?username=dave', { token: srv.adminToken })).json[0].id;
  r = await srv.api('POST', `/api/v4/projects/${project.id}/members`,
    { token, json: { user_id: daveId, access_level: 30 } });
  assert.equal(r.status, 201, r.text);
  mm = new FakeMattermost({
    url: `${srv.url}/api/v4/projects/${project.id}/integrations/mattermost_slash_commands/trigger`,
    token: MM_TOKEN, team,
  });
});

after(async () => {
  if (!srv) return;
  const { code, log } = await srv.stop();
  assert.equal(code, 0, 'clean shutdown');
  for (const secret of [MM_TOKEN, 'alice-password-1', '_slashops_session=', 'chat_names/new?token=']) {
    assert.ok(!log.includes(secret), `the log must not contain ${secret}`);
  }
});

test('link pages: sign-in redirect with the query string, 404 for unknown tokens, CSRF', async () => {
  const anon = new Browser(srv.url);
  let r = await anon.get('/-/profile/chat_names/new?token=abc');
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), '/users/sign_in?redirect_to=%2F-%2Fprofile%2Fchat_names%2Fnew%3Ftoken%3Dabc');
  r = await anon.get('/-/profile/chat_names');
  assert.equal(r.status, 302);

  const b = await signedIn('alice', alice.password);
  for (const path of ['/-/profile/chat_names/new?token=abc', '/-/profile/chat_names/new', '/-/profile/chat_names/new?token=']) {
    r = await b.get(path);
    assert.equal(r.status, 404, path);
    assert.match(r.text, /404: Page not found/);
  }
  r = await b.get('/-/profile/chat_names');
  assert.equal(r.status, 200);
  assert.match(r.text, /You don&#39;t have any active chat names\./);
  const csrf = formToken(r.text);
  r = await b.post('/-/profile/chat_names', { token: 'abc' });
  assert.equal(r.status, 422);
  r = await b.post('/-/profile/chat_names', { token: 'abc', authenticity_token: 'forged' });
  assert.equal(r.status, 422);
  r = await b.post('/-/profile/chat_names', { token: 'abc', authenticity_token: csrf });
  assert.equal(r.status, 404);
  r = await b.post('/-/profile/chat_names/deny', { token: 'abc', authenticity_token: csrf });
  assert.equal(r.status, 404);
  r = await b.post('/-/profile/chat_names/1/delete', { authenticity_token: csrf });
  assert.equal(r.status, 404);
});

test('settings page: Developer 404, Maintainer sees the values and sets the token', async () => {
  const d = await signedIn('dave', dave.password);
  let r = await d.get(settingsPath());
  assert.equal(r.status, 404);
  r = await d.post(settingsPath(), { token: 'x', active: '1', authenticity_token: 'x' });
  assert.equal(r.status, 404);
  assert.doesNotMatch((await d.get('/')).text, /mattermost_slash_commands/, 'no settings link for a Developer');

  // before the integration exists the trigger knows nothing
  let reply = await mm.run('help', { lenient: true });
  assert.equal(reply.status, 404);

  const b = await signedIn('alice', alice.password);
  const home = await b.get('/');
  assert.ok(home.text.includes(`href="${settingsPath()}"`), 'the dashboard links to the settings');
  assert.ok(home.text.includes('href="/-/profile/chat_names"'), 'the dashboard links to chat accounts');
  r = await b.get(`/-/projects/${encodeURIComponent(project.path_with_namespace)}/settings/integrations/mattermost_slash_commands`);
  assert.equal(r.status, 200, 'the full path works too');
  r = await b.get(settingsPath());
  assert.equal(r.status, 200);
  const value = (id) => {
    const m = r.text.match(new RegExp(`id="mm_${id}" value="([^"]*)" readonly`));
    assert.ok(m, `value ${id}`);
    return m[1];
  };
  assert.equal(value('url'), `${srv.url}/api/v4/projects/${project.id}/integrations/mattermost_slash_commands/trigger`);
  assert.equal(value('method'), 'POST');
  assert.equal(value('display_name'), 'slashops / alice / Demo');
  assert.equal(value('description'), 'Perform common operations on slashops project: alice / Demo');
  assert.equal(value('autocomplete_description'), 'Perform common operations on slashops project: alice / Demo');
  assert.equal(value('autocomplete_hint'), '[help]');
  assert.equal(value('autocomplete'), 'Yes');
  assert.equal(value('username'), 'slashops');
  assert.deepEqual([value('trigger_1'), value('trigger_2'), value('trigger_3')], ['ops', 'demo', 'alice/demo']);
  assert.match(r.text, /Not configured/);
  assert.match(r.text, /System Console/);
  assert.doesNotMatch(r.text, /<script/);
  assert.doesNotMatch(r.text, /&lt;div/, 'no markup escaped twice');

  const csrf = formToken(r.text);
  r = await b.post(settingsPath(), { token: MM_TOKEN, active: '1' });
  assert.equal(r.status, 422, 'CSRF');
  r = await b.post(settingsPath(), { authenticity_token: csrf, token: MM_TOKEN, active: '1' });
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), settingsPath());
  r = await b.get(settingsPath());
  assert.match(r.text, /Mattermost slash commands settings saved and active\./);
  assert.match(r.text, /Set \(hidden\)/);
  assert.ok(!r.text.includes(MM_TOKEN), 'the token is never shown');

  // the integration now answers with the token set on the page
  reply = await mm.run('help', { user: { id: newId(), username: 'probe' } });
  assert.equal(reply.status, 200);
  assert.match(reply.text, /connect your slashops account/);
  reply = await mm.run('help', { token: 'wrongtoken0000000000000000', lenient: true });
  assert.equal(reply.status, 404);

  // the first valid request bound the team; the page shows it
  r = await b.get(settingsPath());
  assert.ok(r.text.includes(`acme <span class="muted">(${team.id})</span>`), 'bound team shown');
  const api = await srv.api('GET', `/api/v4/projects/${project.id}/integrations/mattermost-slash-commands`,
    { token: srv.adminToken });
  assert.equal(api.status, 200);
  assert.equal(api.json.active, true);
});

test('authorize: sign in through the link, authorize, single use, duplicate account, help works', async () => {
  const user = { id: newId(), username: 'mm.alice' };
  const first = connectPath(await mm.run('help', { user }), srv.url);
  const second = connectPath(await mm.run('help', { user }), srv.url);
  assert.notEqual(first, second);

  const b = new Browser(srv.url);
  let r = await b.get(first);
  assert.equal(r.status, 302);
  const loc = r.headers.get('location');
  assert.equal(loc, `/users/sign_in?redirect_to=${encodeURIComponent(first)}`);
  r = await signIn(b, 'alice', alice.password, first);
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), first, 'back to the link after signing in');

  r = await b.get(first);
  assert.equal(r.status, 200);
  assert.match(r.text, /An application called Mattermost slash commands is requesting access to your slashops account/);
  assert.match(r.text, /<td>acme <span class="muted">/);
  assert.ok(r.text.includes(`(${team.id})`));
  assert.ok(r.text.includes(`mm.alice <span class="muted">(${user.id})</span>`));
  assert.match(r.text, /alice\/demo/);
  const token = first.split('token=')[1];
  const csrf = formToken(r.text);
  r = await b.post('/-/profile/chat_names', { authenticity_token: csrf, token });
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), '/-/profile/chat_names');
  const flash = r.setCookies.find((c) => c.startsWith('_slashops_flash='));
  assert.ok(flash && /HttpOnly/.test(flash) && /SameSite=Lax/.test(flash), flash);
  r = await b.get('/-/profile/chat_names');
  assert.equal(r.status, 200);
  assert.match(r.text, /Authorized mm\.alice/);
  assert.match(r.text, /<td>acme<\/td><td>mm\.alice<\/td><td>Never<\/td>/);
  r = await b.get('/-/profile/chat_names');
  assert.doesNotMatch(r.text, /Authorized mm\.alice/, 'the flash shows once');

  // used: the page and the button answer 404
  r = await b.get(first);
  assert.equal(r.status, 404);
  r = await b.post('/-/profile/chat_names', { authenticity_token: csrf, token });
  assert.equal(r.status, 404);

  // the command now runs as alice
  let reply = await mm.run('help', { user });
  assert.equal(reply.status, 200);
  assert.match(reply.text, /Available commands/);
  r = await b.get('/-/profile/chat_names');
  assert.doesNotMatch(r.text, /<td>Never<\/td>/, 'last used is recorded');

  // a second link for the same chat account (bob's session): could not authorize
  const bb = await signedIn('bob', 'bob-password-1');
  r = await bb.get(second);
  assert.equal(r.status, 200);
  r = await bb.post('/-/profile/chat_names', { authenticity_token: formToken(r.text), token: second.split('token=')[1] });
  assert.equal(r.status, 302);
  r = await bb.get('/-/profile/chat_names');
  assert.match(r.text, /Could not authorize integration account nickname\. Try again!/);
  assert.match(r.text, /You don&#39;t have any active chat names\./);
  r = await bb.get(second);
  assert.equal(r.status, 404, 'used even though it failed');

  // revoke: bob cannot, alice can; then the next command asks to connect again
  r = await b.get('/-/profile/chat_names');
  const action = r.text.match(/action="(\/-\/profile\/chat_names\/\d+\/delete)"/)[1];
  r = await bb.post(action, { authenticity_token: formToken((await bb.get('/-/profile/chat_names')).text) });
  assert.equal(r.status, 404);
  r = await b.post(action, { authenticity_token: 'forged' });
  assert.equal(r.status, 422);
  r = await b.post(action, { authenticity_token: csrf });
  assert.equal(r.status, 302);
  r = await b.get('/-/profile/chat_names');
  assert.match(r.text, /Deleted chat nickname: mm\.alice!/);
  assert.match(r.text, /You don&#39;t have any active chat names\./);
  reply = await mm.run('help', { user });
  connectPath(reply, srv.url);
});

test('deny: the request is dropped, the link is used up, the user is still unlinked', async () => {
  const user = { id: newId(), username: 'mm.carol' };
  const path = connectPath(await mm.run('help', { user }), srv.url);
  const b = await signedIn('bob', 'bob-password-1');
  let r = await b.get(path);
  assert.equal(r.status, 200);
  const token = path.split('token=')[1];
  r = await b.post('/-/profile/chat_names/deny', { authenticity_token: formToken(r.text), token });
  assert.equal(r.status, 302);
  r = await b.get('/-/profile/chat_names');
  assert.match(r.text, /Denied authorization of chat nickname mm\.carol\./);
  assert.match(r.text, /You don&#39;t have any active chat names\./);
  r = await b.get(path);
  assert.equal(r.status, 404);
  connectPath(await mm.run('help', { user }), srv.url);
});

test('an expired link is a 404 (chat.link_ttl: 2s)', async () => {
  const short = await startServer({ config: 'chat:\n  link_ttl: 2s\n' });
  try {
    short.createUser('erin', { password: 'erin-password-1' });
    const token = short.createToken('erin', { name: 'ttl' });
    let r = await short.api('POST', '/api/v4/projects', { token, json: { name: 'ttl', path: 'ttl' } });
    assert.equal(r.status, 201, r.text);
    const pid = r.json.id;
    r = await short.api('PUT', `/api/v4/projects/${pid}/integrations/mattermost-slash-commands`,
      { token, json: { token: MM_TOKEN, active: true } });
    assert.equal(r.status, 200, r.text);
    const fake = new FakeMattermost({
      url: `${short.url}/api/v4/projects/${pid}/integrations/mattermost_slash_commands/trigger`,
      token: MM_TOKEN,
    });
    const user = { id: newId(), username: 'mm.erin' };
    // Sign in first (a password hash is slow under ASan), then make the links.
    const b = new Browser(short.url);
    r = await signIn(b, 'erin', 'erin-password-1');
    assert.equal(r.status, 302);
    const fresh = connectPath(await fake.run('help', { user }), short.url);
    const stale = connectPath(await fake.run('help', { user }), short.url);
    r = await b.get(fresh);
    assert.equal(r.status, 200, 'valid at first');
    const csrf = formToken(r.text);
    await new Promise((res) => setTimeout(res, 3200));
    r = await b.get(stale);
    assert.equal(r.status, 404, 'expired');
    r = await b.post('/-/profile/chat_names', { authenticity_token: csrf, token: fresh.split('token=')[1] });
    assert.equal(r.status, 404, 'an open page cannot authorize an expired link');
  } finally {
    const { code } = await short.stop();
    assert.equal(code, 0);
  }
});

test('headless Chromium: sign in from the link, Authorize, see the chat accounts; settings page', async () => {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch(chromiumLaunchOptions);
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    const user = { id: newId(), username: 'mm.dave' };
    const path = connectPath(await mm.run('help', { user }), srv.url);
    await page.goto(srv.url + path);
    assert.match(page.url(), /\/users\/sign_in\?redirect_to=/);
    await page.fill('#user_login', 'dave');
    await page.fill('#user_password', dave.password);
    await Promise.all([page.waitForURL((u) => u.pathname === '/-/profile/chat_names/new'), page.click('button[type=submit]')]);
    const lead = await page.textContent('.lead');
    assert.match(lead, /An application called Mattermost slash commands is requesting access to your slashops account/);
    assert.match(await page.textContent('.details'), /mm\.dave/);
    await page.screenshot({ path: '/tmp/link.png', fullPage: true });
    await Promise.all([page.waitForURL((u) => u.pathname === '/-/profile/chat_names'),
      page.click('button:has-text("Authorize")')]);
    assert.match(await page.textContent('.flash'), /Authorized mm\.dave/);
    assert.match(await page.textContent('table.chat-names'), /acme\s*mm\.dave\s*Never/);
    await page.screenshot({ path: '/tmp/chat_names.png', fullPage: true });
    const reply = await mm.run('help', { user });
    assert.match(reply.text, /Available commands/);

    // alice's settings page, for the screenshot and the copyable values
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const p2 = await ctx.newPage();
    await p2.goto(srv.url + '/users/sign_in');
    await p2.fill('#user_login', 'alice');
    await p2.fill('#user_password', alice.password);
    await Promise.all([p2.waitForURL((u) => u.pathname === '/'), p2.click('button[type=submit]')]);
    await Promise.all([p2.waitForURL((u) => u.pathname === settingsPath()), p2.click('a:has-text("Mattermost slash commands")')]);
    assert.equal(await p2.inputValue('#mm_url'),
      `${srv.url}/api/v4/projects/${project.id}/integrations/mattermost_slash_commands/trigger`);
    assert.match(await p2.textContent('.status'), /Active/);
    await p2.screenshot({ path: '/tmp/settings.png', fullPage: true });
  } finally {
    await browser.close();
  }
});
