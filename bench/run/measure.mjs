// measure.mjs: the Mattermost side of bench/run (issue 5 "Speed"). It
// sends slash commands to the trigger endpoint exactly as Mattermost does
// and receives the job replies at an in-process response_url receiver.
//
// Design: one keep-alive connection (node:http Agent, maxSockets 1) sends
// every command, sequentially, as Mattermost's POST: form keys sorted
// (Go's url.Values.Encode, `+` for spaces), Authorization: Token,
// Accept: application/json, User-Agent: Mattermost-Bot/1.1, a fresh
// trigger_id and a fresh response_url (/hooks/<n>, since Mattermost allows
// 5 uses per hook) each time. The receiver records when each hook's first
// POST arrives (performance.now(), same clock as the sender).
//   (a) burst ack: N back-to-back `run hello-world`, time from sending to
//       the whole HTTP answer read (each command starts a job, so later
//       acks share the CPUs with the jobs of earlier ones); then (b) paced:
//       M `run hello-world`, each sent after the previous one's reply
//       arrived, timing its ack and its reply (send -> POST at the
//       receiver); then 50 `run sleeper` (sleep 60), waiting until the jobs
//       API reports them running, and (b') the paced run and (a') the
//       burst run again under that load. The issue's "ack while 50 jobs
//       run" is (b'): a person typing commands while 50 jobs run; the burst
//       figures show what a flood of commands costs and are printed too.
// Before (a) it checks that `run` exists (the answer says "has been
// created!"); if not, it measures `help` instead and says so.
// Environment: BENCH_URL, BENCH_PROJECT_ID, BENCH_TOKEN (integration),
// BENCH_ADMIN_TOKEN, BENCH_TEAM_ID, BENCH_USER_ID, BENCH_ACK_COUNT (1000),
// BENCH_REPLY_COUNT (200), BENCH_SLEEPERS (50), BENCH_ACK_TEXT (measure the
// ack of this command instead, e.g. `help`, for comparison). Output: human lines, then
// one line `RESULT <json>` for run.sh.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const env = process.env;
const base = new URL(env.BENCH_URL);
const projectId = env.BENCH_PROJECT_ID;
const token = env.BENCH_TOKEN;
const ackCount = Number(env.BENCH_ACK_COUNT ?? 1000);
const replyCount = Number(env.BENCH_REPLY_COUNT ?? 200);
const sleepers = Number(env.BENCH_SLEEPERS ?? 50);
const triggerPath = `/api/v4/projects/${projectId}/integrations/mattermost_slash_commands/trigger`;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function goQueryEscape(s) {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, '+');
}
function encode(fields) {
  return Object.keys(fields).sort().map((k) => `${goQueryEscape(k)}=${goQueryEscape(fields[k])}`).join('&');
}

// ---- the response_url receiver ----
const arrivals = new Map(); // hook path -> {t, body}
const waiters = new Map();  // hook path -> resolve
let received = 0;
const receiver = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const t = performance.now();
    received++;
    if (!arrivals.has(req.url)) arrivals.set(req.url, { t, body: Buffer.concat(chunks).toString() });
    const w = waiters.get(req.url);
    if (w) { waiters.delete(req.url); w(); }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{}');
  });
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
const rport = receiver.address().port;
let hookSeq = 0;

function request(method, path, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: base.hostname, port: base.port, method, path, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

// Sends one command; returns {ms, status, body, hook}.
async function command(text) {
  const hook = `/hooks/${++hookSeq}`;
  const body = encode({
    channel_id: 'benchchannel00000000000000', channel_name: 'town-square', command: '/ops',
    response_url: `http://127.0.0.1:${rport}${hook}`, root_id: '', team_domain: 'bench',
    team_id: env.BENCH_TEAM_ID, text, token, trigger_id: `bench${hookSeq}x${Date.now()}`,
    user_id: env.BENCH_USER_ID, user_name: 'root',
  });
  const t0 = performance.now();
  const r = await request('POST', triggerPath, body, {
    'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body),
    Accept: 'application/json', Authorization: `Token ${token}`, 'User-Agent': 'Mattermost-Bot/1.1',
    'Accept-Encoding': 'gzip',
  });
  return { t0, ms: performance.now() - t0, status: r.status, body: r.body, hook };
}

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
function stats(xs) {
  return { n: xs.length, p50: pct(xs, 50), p99: pct(xs, 99), max: Math.max(...xs) };
}
const f = (x) => x.toFixed(3);

async function waitUntil(cond, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function ackRun(text, n, label) {
  const xs = [];
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const r = await command(text);
    if (r.status !== 200) bad++;
    xs.push(r.ms);
  }
  const s = stats(xs);
  console.log(`ack ${label}: n=${s.n} p50=${f(s.p50)} ms p99=${f(s.p99)} ms max=${f(s.max)} ms non-200=${bad}`);
  return { ...s, bad };
}

// n paced `run hello-world`: each sent after the previous reply arrived.
async function pacedRun(n, label) {
  const acks = [], rs = [];
  let failed = 0, bad = 0;
  for (let i = 0; i < n; i++) {
    const r = await command('run hello-world');
    if (r.status !== 200) bad++;
    acks.push(r.ms);
    if (!arrivals.has(r.hook)) await new Promise((res) => waiters.set(r.hook, res));
    const a = arrivals.get(r.hook);
    if (!/completed successfully/.test(a.body)) failed++;
    rs.push(a.t - r.t0);
  }
  const ack = { ...stats(acks), bad }, reply = { ...stats(rs), failed };
  console.log(`ack paced ${label}: n=${ack.n} p50=${f(ack.p50)} ms p99=${f(ack.p99)} ms max=${f(ack.max)} ms non-200=${bad}`);
  console.log(`reply paced ${label} (send -> POST at response_url): n=${rs.length} p50=${f(reply.p50)} ms p99=${f(reply.p99)} ms max=${f(reply.max)} ms not-successful=${failed}`);
  return { ack, reply };
}

async function runningJobs() {
  const r = await request('GET', `/api/v4/projects/${projectId}/jobs?scope=running&per_page=100`, null,
    { 'PRIVATE-TOKEN': env.BENCH_ADMIN_TOKEN });
  if (r.status !== 200) return -1;
  try { return JSON.parse(r.body).length; } catch { return -1; }
}

const result = {};
// Does `run` exist?
const probe = await command('run hello-world');
const haveRun = probe.status === 200 && /has been created!/.test(probe.body);
const cmd = env.BENCH_ACK_TEXT || (haveRun ? 'run hello-world' : 'help');
result.command = cmd;
if (!haveRun) console.log(`NOTE: run is not available yet (answer: ${probe.body.slice(0, 200)}); measuring help`);
if (haveRun) await waitUntil(() => arrivals.has(probe.hook), 30000, 'the probe reply');

// (a) ack, idle (warm-up of 20 first)
await ackRun(cmd, 20, 'warm-up');
const before = received;
result.ack_idle = await ackRun(cmd, ackCount, 'burst, no other jobs');
if (haveRun && cmd.startsWith('run ')) {
  const t0 = performance.now();
  await waitUntil(() => received >= before + ackCount, 300000, `${ackCount} replies`);
  console.log(`  all ${ackCount} replies arrived ${f((performance.now() - t0) / 1000)} s after the last ack`);

  // (b) paced: ack and reply latency, one command at a time
  const paced = await pacedRun(replyCount, 'idle');
  result.ack_paced_idle = paced.ack;
  result.reply = paced.reply;

  // (a') ack while `sleepers` jobs run
  for (let i = 0; i < sleepers; i++) await command('run sleeper');
  let running = -1;
  const end = Date.now() + 30000;
  while (Date.now() < end && (running = await runningJobs()) < sleepers) await new Promise((r) => setTimeout(r, 100));
  console.log(`  ${running} jobs running (jobs API) before the loaded run`);
  result.running_before = running;
  const pacedLoaded = await pacedRun(replyCount, `with ${sleepers} sleeper jobs running`);
  result.ack_paced_loaded = pacedLoaded.ack;
  result.reply_loaded = pacedLoaded.reply;
  result.ack_loaded = await ackRun(cmd, ackCount, `burst, with ${sleepers} sleeper jobs running`);
  result.running_after = await runningJobs();
  console.log(`  ${result.running_after} jobs running after it`);
}
console.log('RESULT ' + JSON.stringify(result));
agent.destroy();
receiver.close();
process.exit(0);
