// gitlab-ci-local.test.mjs: slashops' pipeline plan against gitlab-ci-local
// (the reference oracle of issue 4) on gitlab-ci-local's own test cases.
//
// Design: runs only when SLASHOPS_GCL names a gitlab-ci-local wrapper
// (scripts/gitlab-ci-local.sh installs one and prints its path; test.sh
// exports it when the install works); otherwise every test is skipped with
// the reason. The corpus is $SLASHOPS_CORPUS_DIR/gitlab-ci-local (default
// ../shared/corpus next to the repository). Each eligible case folder is
// copied into a throw-away git repository (branch main, an `origin` remote
// with origin/HEAD, so both tools see the same CI_PROJECT_PATH, branch and
// default branch), then
//   gitlab-ci-local --list-json          (flag checked in 4.75.1's --help)
//   slashops ci plan --source push --no-variables --project gcl/<case>
// and the push pipelines are compared: job names, stage, when,
// allow_failure (bool, or its exit_codes) and needs (job names that are in
// the pipeline). gitlab-ci-local's --list-json also shows `when: never`
// jobs; those are not in a pipeline and are left out. When gitlab-ci-local
// refuses a file, slashops must refuse it too.
// Where gitlab-ci-local is not a faithful reference (reference
// gitlab-ci.md §5.1) the field or the case is excluded, each with its
// reason in EXCLUDED or in compareJobs below. The comparator itself is
// tested on a deliberate difference, so the suite can fail.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { repoRoot, slashopsBin, git } from './harness.mjs';

const GCL = process.env.SLASHOPS_GCL;
const CORPUS = resolve(process.env.SLASHOPS_CORPUS_DIR ?? join(repoRoot, '..', 'shared', 'corpus'),
  'gitlab-ci-local');

// Cases not compared, with the reason. Keys are case folder names.
export const EXCLUDED = {
  // gitlab-ci-local ignores only/except (reference §5.1)
  // (none of its cases use them at the time of writing; a case that does is
  // caught by usesOnlyExcept below)

  // includes slashops refuses by design (docs/CI.md): remote, template,
  // component, project includes of projects that exist only on gitlab.com
  'include-remote': 'include:remote (slashops does not fetch configuration over the network)',
  'include-template': 'include:template (GitLab templates are not bundled)',
  'include-component': 'include:component (no CI/CD catalog)',
  'component-inputs-cli': 'include:component with inputs given on the gitlab-ci-local command line',
  'component-inputs-edge-cases': 'include:component',
  'component-inputs-multiple': 'include:component',
  'include-invalid-remote': 'include:remote',
  'include-project-file': 'include:project of a gitlab.com project (cloned by gitlab-ci-local over the network)',
  'include-project-file-ref-with-inner-local': 'include:project of a gitlab.com project',
  'include-project-file-wildcard': 'include:project of a gitlab.com project',
  'include-project-file-with-variable': 'include:project of a gitlab.com project',
  'include-invalid-project-file-ref': 'include:project of a gitlab.com project',
  'remote-variables-file': 'gitlab-ci-local --remote-variables (a gitlab-ci-local feature)',
  'parent-child': 'trigger:include of child pipelines (artifact/local child configs are run by gitlab-ci-local, not planned by slashops)',
  // gitlab-ci-local's own variable and CLI features, not GitLab's
  'cli-option-variables': 'values come from gitlab-ci-local --variable',
  'project-variables-file': '.gitlab-ci-local-variables.yml (a gitlab-ci-local file)',
  'gcl-env-variable-split': 'GCL_* environment options of gitlab-ci-local',
  'gcl-variable-env': 'GCL_* environment options of gitlab-ci-local',
  'argv-cwd': 'gitlab-ci-local --cwd handling',
  'argv-dotenv-ignore-predefined-vars': 'gitlab-ci-local .env options',
  'project-ignores-file': '.gitlab-ci-local-ignores (a gitlab-ci-local file)',
  'completion': 'shell completion of the gitlab-ci-local CLI',
  // interactive and executor features with no pipeline-plan counterpart
  interactive: 'gitlab-ci-local interactive jobs (`# @Interactive`)',
  'interactive-image': 'gitlab-ci-local interactive jobs',
  // gitlab-ci-local lists what GitLab refuses or does not create; its
  // errors come only when jobs run (slashops: the reference's outcome)
  'log-padding': 'only .pre jobs: GitLab creates no pipeline (slashops: edge_stages_only), gitlab-ci-local lists them',
  'never-needs': "a need on a `when: never` job: GitLab's seed error (slashops: config_error), gitlab-ci-local fails at run time",
  'self-dependency': 'a job needing itself: GitLab refuses the file (slashops too), gitlab-ci-local --list-json does not check',
  'needs-parallel-matrix-error': 'a needs:parallel:matrix selector matching nothing: GitLab refuses it (slashops too), gitlab-ci-local fails at run time',
  // known, documented difference (docs/CI.md): a selector naming some of the
  // matrix keys matches nothing in GitLab and slashops, a subset in gcl
  'needs-parallel-matrix-expressions': 'needs:parallel:matrix selector with a subset of the keys (docs/CI.md known differences)',
  'needs-parallel-matrix-static': 'needs:parallel:matrix selector with a subset of the keys (docs/CI.md known differences)',
  // include:rules see GITLAB_CI=false in gitlab-ci-local (true in GitLab);
  // slashops's CLI evaluates include rules with the process environment
  'include-rules': 'include:rules:if on $GITLAB_CI: gitlab-ci-local says "false", GitLab (and slashops) "true"',
};

// gitlab-ci-local names parallel instances its own way: `job: [1/2]` for
// GitLab's `job 1/2`, `job: [a,b]` for GitLab's `job: [a, b]` (values
// joined without the space). Names are compared in one canonical form:
// GitLab's `job 1/2`, and matrix values joined by "," alone (a value that
// itself holds ", " is then the same on both sides).
function canon(name, fromGcl) {
  const m = /^(.*): \[(\d+)\/(\d+)\]$/.exec(name);
  if (fromGcl && m) return `${m[1]} ${m[2]}/${m[3]}`;
  return name.replace(/: \[(.*)\]$/, (_, v) => `: [${v.replaceAll(', ', ',')}]`);
}
const gitlabName = (n) => canon(n, true);

function usesOnlyExcept(text) {
  return /^\s+(only|except):/m.test(text);
}

function run(cmd, args, { cwd, env, timeout = 120000 } = {}) {
  return new Promise((res) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (status) => { clearTimeout(timer); res({ status, stdout, stderr }); });
  });
}

// A case folder as a git repository in a temporary directory.
function caseRepo(name, home) {
  const dir = mkdtempSync(join(tmpdir(), `slashops-gcl-${name}-`));
  cpSync(join(CORPUS, name), dir, { recursive: true });
  git(['init', '-q', '-b', 'main'], { cwd: dir });
  git(['remote', 'add', 'origin', `https://gitlab.example.com/gcl/${name}.git`], { cwd: dir });
  git(['add', '-A'], { cwd: dir });
  git(['-c', 'user.name=gcl', '-c', 'user.email=gcl@example.com', 'commit', '-qm', name], { cwd: dir, env: { HOME: home } });
  git(['update-ref', 'refs/remotes/origin/main', 'HEAD'], { cwd: dir });
  git(['symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main'], { cwd: dir });
  return dir;
}

// One comparable record per job of a pipeline.
function fromGcl(list) {
  const jobs = list.filter((j) => j.when !== 'never');
  const names = new Set(jobs.map((j) => gitlabName(j.name)));
  // a need on a parallel job's base name means every instance (GitLab)
  const instances = (base) => [...names].filter((n) => n.startsWith(`${base}: [`) ||
    new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\d+/\\d+$`).test(n));
  return jobs.map((j) => ({
    name: gitlabName(j.name),
    stage: j.stage,
    when: j.when,
    allow_failure: typeof j.allow_failure === 'object' && j.allow_failure !== null
      ? { exit_codes: [j.allow_failure.exit_codes].flat() } : Boolean(j.allow_failure),
    // a needs:parallel:matrix selector is resolved by each tool its own
    // way (see EXCLUDED): such needs are not compared
    needs: j.needs === undefined ? null
      : j.needs.some((n) => typeof n === 'object' && n.parallel) ? 'skip'
        : j.needs.map((n) => (typeof n === 'string' ? n : n.job))
          .map(gitlabName).flatMap((n) => (names.has(n) ? [n] : instances(n))).sort(),
  }));
}

function fromPlan(plan) {
  if (plan.status !== 'created') return [];
  return plan.jobs.map((j) => ({
    name: canon(j.name, false),
    stage: j.stage,
    when: j.when,
    allow_failure: j.allow_failure_exit_codes ? { exit_codes: j.allow_failure_exit_codes } : j.allow_failure,
    needs: j.needs === null ? null : j.needs.map((n) => canon(n.job, false)).sort(),
  }));
}

// Differences between two pipelines, as readable lines. Fields where
// gitlab-ci-local is known to differ from GitLab are skipped here:
//   - allow_failure of a job-level `when: manual` job: gitlab-ci-local says
//     false, GitLab true (reference §5.1);
//   - needs: [] and no needs at all are both "no needs" for a listing.
export function compareJobs(gcl, ours) {
  const diffs = [];
  const byName = new Map(ours.map((j) => [j.name, j]));
  const gclNames = new Set(gcl.map((j) => j.name));
  for (const g of gcl) {
    const o = byName.get(g.name);
    if (!o) { diffs.push(`job "${g.name}" only in gitlab-ci-local`); continue; }
    for (const k of ['stage', 'when']) {
      if (g[k] !== o[k]) diffs.push(`${g.name}: ${k} ${JSON.stringify(g[k])} (gcl) vs ${JSON.stringify(o[k])} (slashops)`);
    }
    const manualDefault = g.when === 'manual' && o.allow_failure === true && g.allow_failure === false;
    if (!manualDefault && JSON.stringify(g.allow_failure) !== JSON.stringify(o.allow_failure)) {
      diffs.push(`${g.name}: allow_failure ${JSON.stringify(g.allow_failure)} (gcl) vs ${JSON.stringify(o.allow_failure)} (slashops)`);
    }
    const gn = g.needs && g.needs.length ? g.needs : null;
    const on = o.needs && o.needs.length ? o.needs : null;
    if (g.needs !== 'skip' && JSON.stringify(gn) !== JSON.stringify(on)) {
      diffs.push(`${g.name}: needs ${JSON.stringify(gn)} (gcl) vs ${JSON.stringify(on)} (slashops)`);
    }
  }
  for (const o of ours) if (!gclNames.has(o.name)) diffs.push(`job "${o.name}" only in slashops`);
  return diffs;
}

async function compareCase(name, home) {
  const dir = caseRepo(name, home);
  try {
    const env = { HOME: home, NO_COLOR: '1', FORCE_COLOR: '0' };
    // rules:changes: a new branch's push has no diff, so GitLab counts
    // changes as true (slashops too); gitlab-ci-local would diff against
    // origin/main unless told not to
    const g = await run(GCL, ['--list-json', '--no-evaluate-rule-changes'], { cwd: dir, env });
    const s = await run(slashopsBin, ['ci', 'plan', '--source', 'push', '--no-variables',
      '--project', `gcl/${name}`, '.gitlab-ci.yml'], { cwd: dir });
    let gList = null;
    if (g.status === 0) {
      // warnings may come first on stdout; the JSON array starts a line
      const at = g.stdout.search(/^\[/m);
      try { gList = JSON.parse(g.stdout.slice(at)); } catch { gList = null; }
    }
    if (!gList) {
      // gitlab-ci-local refuses the file: slashops must refuse it too
      if (s.status === 0) return { name, outcome: 'diff', diffs: [`gitlab-ci-local refuses it (${lastLine(g.stderr || g.stdout)}), slashops plans it`] };
      return { name, outcome: 'both-reject' };
    }
    if (s.status !== 0) return { name, outcome: 'diff', diffs: [`slashops refuses it: ${lastLine(s.stderr)}`] };
    const diffs = compareJobs(fromGcl(gList), fromPlan(JSON.parse(s.stdout)));
    return { name, outcome: diffs.length ? 'diff' : 'equal', diffs, jobs: gList.length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function lastLine(s) {
  const lines = String(s).trim().split('\n').filter((l) => l.trim());
  return lines.length ? lines[lines.length - 1].slice(0, 200) : '';
}

const skip = !GCL
  ? 'SLASHOPS_GCL is not set: run scripts/gitlab-ci-local.sh and export SLASHOPS_GCL=<the path it prints>'
  : !existsSync(GCL) ? `SLASHOPS_GCL=${GCL} does not exist`
    : !existsSync(CORPUS) ? `no corpus at ${CORPUS} (set SLASHOPS_CORPUS_DIR)`
      : !existsSync(slashopsBin) ? `no slashops binary at ${slashopsBin}` : false;

test('the comparator reports a deliberate difference', () => {
  const gcl = fromGcl([
    { name: 'a', stage: 'build', when: 'on_success', allow_failure: false },
    { name: 'b', stage: 'test', when: 'manual', allow_failure: false, needs: [{ job: 'a' }] },
    { name: 'n', stage: 'test', when: 'never', allow_failure: false },
  ]);
  const plan = {
    status: 'created',
    jobs: [
      { name: 'a', stage: 'build', when: 'on_success', allow_failure: false, allow_failure_exit_codes: null, needs: null },
      { name: 'b', stage: 'test', when: 'manual', allow_failure: true, allow_failure_exit_codes: null, needs: [{ job: 'a' }] },
    ],
  };
  assert.deepEqual(compareJobs(gcl, fromPlan(plan)), [], 'same pipeline (manual allow_failure skipped, never left out)');
  plan.jobs[0].stage = 'test';
  plan.jobs[1].needs = [];
  plan.jobs.push({ name: 'extra', stage: 'test', when: 'on_success', allow_failure: false, needs: null });
  assert.deepEqual(compareJobs(gcl, fromPlan(plan)), [
    'a: stage "build" (gcl) vs "test" (slashops)',
    'b: needs ["a"] (gcl) vs null (slashops)',
    'job "extra" only in slashops',
  ]);
});

test('slashops plans the push pipeline gitlab-ci-local lists, on its corpus', { skip, timeout: 900000 }, async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'slashops-gcl-home-'));
  const cases = readdirSync(CORPUS).filter((n) => statSync(join(CORPUS, n)).isDirectory()).sort();
  const excluded = [];
  const eligible = [];
  for (const name of cases) {
    const file = join(CORPUS, name, '.gitlab-ci.yml');
    if (EXCLUDED[name]) excluded.push(`${name}: ${EXCLUDED[name]}`);
    else if (existsSync(join(CORPUS, name, '.gitlab-ci-local-variables.yml'))) {
      excluded.push(`${name}: variables from .gitlab-ci-local-variables.yml (a gitlab-ci-local file)`);
    }
    else if (!existsSync(file)) excluded.push(`${name}: no .gitlab-ci.yml (only variants or fragments)`);
    else if (usesOnlyExcept(readFileSync(file, 'utf8'))) {
      excluded.push(`${name}: only/except (gitlab-ci-local ignores them)`);
    } else eligible.push(name);
  }
  const results = [];
  const queue = [...eligible];
  const workers = Array.from({ length: 4 }, async () => {
    while (queue.length) {
      const name = queue.shift();
      results.push(await compareCase(name, home));
    }
  });
  await Promise.all(workers);
  rmSync(home, { recursive: true, force: true });
  results.sort((a, b) => a.name.localeCompare(b.name));
  const equal = results.filter((r) => r.outcome === 'equal');
  const reject = results.filter((r) => r.outcome === 'both-reject');
  const diffs = results.filter((r) => r.outcome === 'diff');
  t.diagnostic(`${cases.length} cases: ${eligible.length} compared, ${excluded.length} excluded; ` +
    `${equal.length} equal, ${reject.length} refused by both, ${diffs.length} different`);
  for (const e of excluded) t.diagnostic(`excluded ${e}`);
  for (const r of diffs) t.diagnostic(`DIFFERENT ${r.name}: ${r.diffs.join('; ')}`);
  assert.deepEqual(diffs.map((r) => `${r.name}: ${r.diffs.join('; ')}`), []);
  assert.ok(equal.length >= 50, `only ${equal.length} cases compared equal`);
});
