// fakemattermost.mjs: a fake Mattermost server's side of custom slash
// commands, for end-to-end tests. It sends a command to a Request URL
// exactly as Mattermost does and judges the reply as Mattermost would.
//
// Design (facts from ../shared/reference/mattermost-slack-protocol.md §1-§3):
//  - The request: POST with an application/x-www-form-urlencoded body, or
//    GET with the same fields appended to the URL's query (no body, no
//    Content-Type). Fields are encoded as Go's url.Values.Encode(): keys
//    sorted, repeated keys for lists, Go's QueryEscape (space is "+",
//    only A-Z a-z 0-9 - _ . ~ stay unescaped). Fields: channel_id,
//    channel_name, command ("/" + the lower-cased trigger), response_url,
//    root_id (always present, "" outside threads), team_domain, team_id,
//    text (everything after the first whitespace, verbatim), token,
//    trigger_id, user_id, user_name, and when the text mentions people or
//    public channels user_mentions/user_mentions_ids and
//    channel_mentions/channel_mentions_ids as parallel repeated keys.
//    Headers: Accept: application/json, Authorization: Token <token>,
//    User-Agent: Mattermost-Bot/1.1, Accept-Encoding: gzip.
//  - The reply: status must be exactly 200; at most 1 MiB of body is read;
//    a Content-Type whose media type is exactly application/json is
//    decoded as a CommandResponse (wrong field types fail the command);
//    any other type is shown verbatim as ephemeral text, which for a
//    ChatOps server means the JSON reached the user as raw text, so this
//    fake treats it as a failure. response_type must be "", "ephemeral" or
//    "in_channel" (anything else posts nothing). An in_channel post longer
//    than 16383 characters fails to post; this fake holds every reply
//    string to that limit.
// Failures throw a MattermostError whose message is the text Mattermost
// would show the user ("Command with a trigger of 'ops' returned response
// 404 Not Found.") and whose `detail` says which rule was broken.
//
// responseReceiver() is the other half: a loopback HTTP server standing in
// for Mattermost's /hooks/commands/<id> endpoint, recording what a server
// posts to a command's response_url (5 uses per hook, as Mattermost).

import http from 'node:http';
import { randomBytes } from 'node:crypto';

export const MAX_RESPONSE_BYTES = 1024 * 1024; // MaxIntegrationResponseSize
export const POST_MAX_RUNES = 16383;           // PostMessageMaxRunesV2
export const USER_AGENT = 'Mattermost-Bot/1.1';

export class MattermostError extends Error {
  constructor(message, { detail, status, body } = {}) {
    super(message);
    this.name = 'MattermostError';
    this.detail = detail;
    this.status = status;
    this.body = body;
  }
}

// Mattermost ids: 26 characters of a base32 alphabet (model.NewId).
const ID_ALPHABET = 'ybndrfg8ejkmcpqxot1uwisza345h769';
export function newId() {
  const b = randomBytes(26);
  let s = '';
  for (let i = 0; i < 26; i++) s += ID_ALPHABET[b[i] & 31];
  return s;
}

// Go's url.QueryEscape.
export function goQueryEscape(s) {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, '+');
}

// Go's url.Values.Encode(): entries [key, value] (a key may repeat), keys
// sorted (a stable sort keeps a key's values in order).
export function goValuesEncode(entries) {
  const sorted = [...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return sorted.map(([k, v]) => `${goQueryEscape(k)}=${goQueryEscape(v)}`).join('&');
}

// A trigger id shaped as model.GenerateTriggerId makes it:
// base64("<clientTriggerId>:<userId>:<millis>:" + base64(signature)).
export function newTriggerId(userId) {
  const sig = randomBytes(64).toString('base64');
  return Buffer.from(`${newId()}:${userId}:${Date.now()}:${sig}`).toString('base64');
}

// Mattermost's display conversion of Slack links: <url|label> -> [label](url).
export function slackToMarkdown(text) {
  return (text ?? '').replace(/<([^<|]+)\|([^>]+)>/g, '[$2]($1)');
}

function runes(s) {
  return [...s].length;
}

// Checks the decoded JSON against model.CommandResponse's field types, as
// json.Unmarshal would; returns a reason or null.
function badShape(r) {
  if (r === null || typeof r !== 'object' || Array.isArray(r)) return 'the body is not a JSON object';
  const strings = ['response_type', 'text', 'username', 'channel_id', 'icon_url', 'type',
    'goto_location', 'trigger_id'];
  for (const k of strings) {
    if (k in r && r[k] !== null && typeof r[k] !== 'string') return `${k} is not a string`;
  }
  if ('skip_slack_parsing' in r && r.skip_slack_parsing !== null && typeof r.skip_slack_parsing !== 'boolean') {
    return 'skip_slack_parsing is not a boolean';
  }
  if ('props' in r && r.props !== null && (typeof r.props !== 'object' || Array.isArray(r.props))) {
    return 'props is not an object';
  }
  for (const list of ['attachments', 'extra_responses']) {
    if (list in r && r[list] !== null) {
      if (!Array.isArray(r[list])) return `${list} is not an array`;
      for (const a of r[list]) {
        if (a !== null && (typeof a !== 'object' || Array.isArray(a))) return `${list} holds a non-object`;
      }
    }
  }
  for (const a of r.attachments ?? []) {
    if (!a) continue;
    for (const k of ['fallback', 'color', 'pretext', 'author_name', 'author_link', 'author_icon',
      'title', 'title_link', 'text', 'image_url', 'thumb_url', 'footer', 'footer_icon']) {
      if (k in a && a[k] !== null && typeof a[k] !== 'string') return `attachment ${k} is not a string`;
    }
    if ('fields' in a && a.fields !== null && !Array.isArray(a.fields)) return 'attachment fields is not an array';
  }
  return null;
}

// Every string a post is made of, for the length rule.
function replyStrings(r) {
  const out = [];
  if (typeof r.text === 'string') out.push(['text', r.text]);
  (r.attachments ?? []).forEach((a, i) => {
    if (!a) return;
    for (const k of ['pretext', 'text', 'title', 'fallback']) {
      if (typeof a[k] === 'string') out.push([`attachments[${i}].${k}`, a[k]]);
    }
    (a.fields ?? []).forEach((f, j) => {
      if (f && typeof f.value === 'string') out.push([`attachments[${i}].fields[${j}].value`, f.value]);
    });
  });
  return out;
}

export class FakeMattermost {
  // url: the command's Request URL; token: the command's token;
  // trigger: the trigger word without '/'; method: 'P' (POST) or 'G' (GET);
  // team: {id, domain}; channel: {id, name}; siteUrl: for response_url;
  // responseUrl: a function (hookId) => URL, e.g. from responseReceiver().
  constructor({ url, token, trigger = 'ops', method = 'P', team, channel, siteUrl, responseUrl } = {}) {
    this.url = url;
    this.token = token;
    this.trigger = trigger.toLowerCase();
    this.method = method;
    this.team = team ?? { id: newId(), domain: 'e2e-team' };
    this.channel = channel ?? { id: newId(), name: 'town-square' };
    this.siteUrl = siteUrl ?? 'http://mattermost.invalid';
    this.responseUrl = responseUrl ?? ((hookId) => `${this.siteUrl}/hooks/commands/${hookId}`);
  }

  // The form fields for one command, as [key, value] entries.
  fields(text, opts = {}) {
    const user = opts.user ?? { id: newId(), username: 'someone' };
    const team = opts.team ?? this.team;
    const channel = opts.channel ?? this.channel;
    const hookId = newId();
    const f = {
      channel_id: channel.id,
      channel_name: channel.name,
      command: '/' + (opts.trigger ?? this.trigger).toLowerCase(),
      response_url: this.responseUrl(hookId),
      root_id: opts.rootId ?? '',
      team_domain: team.domain,
      team_id: team.id,
      text,
      token: opts.token ?? this.token,
      trigger_id: opts.triggerId ?? newTriggerId(user.id),
      user_id: user.id,
      user_name: user.username,
    };
    for (const k of opts.omit ?? []) delete f[k];
    Object.assign(f, opts.override ?? {});
    const entries = Object.entries(f).filter(([, v]) => v !== undefined && v !== null);
    for (const m of opts.userMentions ?? []) {
      entries.push(['user_mentions', m.username], ['user_mentions_ids', m.id]);
    }
    for (const m of opts.channelMentions ?? []) {
      entries.push(['channel_mentions', m.name], ['channel_mentions_ids', m.id]);
    }
    return { entries, hookId, triggerId: f.trigger_id };
  }

  // Sends `/trigger text` and returns the judged reply:
  // {status, headers, raw, response, text, ephemeral, markdown, triggerId, hookId}.
  // opts: user {id, username}, team {id, domain}, channel, rootId,
  // triggerId, token (overrides the command's), method ('P'|'G'),
  // omit [field names], override {field: value}, userMentions
  // [{username, id}], channelMentions [{name, id}], headers (extra or
  // replacing; a value of null removes one), lenient (return non-200 and
  // non-JSON replies instead of throwing: for tests of error statuses).
  async run(text, opts = {}) {
    const { entries, hookId, triggerId } = this.fields(text, opts);
    const encoded = goValuesEncode(entries);
    const method = opts.method ?? this.method;
    const headers = {
      Accept: 'application/json',
      'Accept-Encoding': 'gzip',
      'User-Agent': USER_AGENT,
    };
    const token = opts.token ?? this.token;
    if (token) headers.Authorization = `Token ${token}`;
    let url = this.url;
    let body;
    if (method === 'G') {
      url += (url.includes('?') ? '&' : '?') + encoded;
    } else {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      body = encoded;
    }
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      if (v === null) delete headers[k];
      else headers[k] = v;
    }
    const triggerName = (opts.trigger ?? this.trigger).toLowerCase();
    let res;
    try {
      res = await fetch(url, { method: method === 'G' ? 'GET' : 'POST', headers, body, redirect: 'manual' });
    } catch (e) {
      throw new MattermostError(`Command with a trigger of '${triggerName}' failed.`, { detail: String(e) });
    }
    const buf = Buffer.from(await res.arrayBuffer());
    const raw = buf.subarray(0, MAX_RESPONSE_BYTES).toString('utf8');
    const result = { status: res.status, headers: res.headers, raw, triggerId, hookId, bodyBytes: buf.length };
    if (opts.lenient) {
      try { result.json = JSON.parse(raw); } catch { result.json = null; }
    }
    if (res.status !== 200) {
      if (opts.lenient) return result;
      throw new MattermostError(
        `Command with a trigger of '${triggerName}' returned response ${res.status} ${res.statusText}.`,
        { detail: `status ${res.status}`, status: res.status, body: raw });
    }
    const type = (res.headers.get('content-type') ?? '').split(';')[0].trim();
    if (type !== 'application/json') {
      if (opts.lenient) return { ...result, response: { text: raw }, text: raw, ephemeral: true };
      throw new MattermostError(`the reply's Content-Type is "${res.headers.get('content-type')}": ` +
        'Mattermost would show the body to the user as raw text', { detail: 'content-type', body: raw });
    }
    if (buf.length > MAX_RESPONSE_BYTES) {
      throw new MattermostError(`Command with a trigger of '${triggerName}' failed.`,
        { detail: `body of ${buf.length} bytes exceeds ${MAX_RESPONSE_BYTES}`, body: raw });
    }
    let response;
    try {
      response = JSON.parse(raw);
    } catch (e) {
      throw new MattermostError(`Command with a trigger of '${triggerName}' failed.`,
        { detail: `invalid JSON: ${e.message}`, body: raw });
    }
    const bad = badShape(response);
    if (bad) {
      throw new MattermostError(`Command with a trigger of '${triggerName}' failed.`, { detail: bad, body: raw });
    }
    const rt = response.response_type ?? '';
    if (!['', 'ephemeral', 'in_channel'].includes(rt)) {
      throw new MattermostError('nothing would be posted', { detail: `response_type "${rt}"`, body: raw });
    }
    for (const [where, s] of replyStrings(response)) {
      if (runes(s) > POST_MAX_RUNES) {
        throw new MattermostError(
          `Command '${triggerName}' failed to post response. Please contact your System Administrator.`,
          { detail: `${where} has ${runes(s)} characters (> ${POST_MAX_RUNES})`, body: raw });
      }
    }
    return {
      ...result,
      response,
      text: response.text ?? '',
      ephemeral: rt !== 'in_channel',
      markdown: response.skip_slack_parsing ? response.text : slackToMarkdown(response.text),
    };
  }
}

// A stand-in for Mattermost's /hooks/commands/<id> endpoint on loopback.
// Returns {url, hookUrl(id), received, waitFor(n, ms), close()}; each
// received entry is {hookId, method, headers, body, json, contentType}.
export async function responseReceiver({ maxUses = 5 } = {}) {
  const received = [];
  const uses = new Map();
  const waiters = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size <= 300000 + 512) chunks.push(c);
    });
    req.on('end', () => {
      const m = req.url.match(/^\/hooks\/commands\/([A-Za-z0-9]+)$/);
      const reply = (status, type, text) => { res.writeHead(status, { 'Content-Type': type }); res.end(text); };
      if (req.method !== 'POST' || !m) return reply(404, 'application/json', '{"message":"Unable to find the webhook."}');
      if (size > 300000 + 512) return reply(413, 'application/json', '{"message":"Unable to process request. Request body too large."}');
      const hookId = m[1];
      const n = (uses.get(hookId) ?? 0) + 1;
      uses.set(hookId, n);
      if (n > maxUses) return reply(400, 'application/json', '{"message":"Invalid webhook."}');
      const body = Buffer.concat(chunks).toString('utf8');
      const contentType = req.headers['content-type'] ?? '';
      let json = null;
      if (contentType.split(';')[0].trim() === 'application/json') {
        try { json = JSON.parse(body); } catch {
          return reply(400, 'application/json', `{"message":"Unable to parse incoming data for webhook ${hookId}."}`);
        }
      }
      received.push({ hookId, method: req.method, headers: req.headers, body, json, contentType });
      for (const w of waiters.splice(0)) w();
      reply(200, 'text/plain', 'ok');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    url: base,
    hookUrl: (id) => `${base}/hooks/commands/${id}`,
    received,
    async waitFor(n, ms = 10000) {
      const deadline = Date.now() + ms;
      while (received.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} posts to response_url, got ${received.length}`);
        await new Promise((r) => { waiters.push(r); setTimeout(r, 100); });
      }
      return received.slice(0, n);
    },
    close: () => new Promise((r) => server.close(r)),
  };
}
