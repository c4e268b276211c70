// cli.test.mjs: `slashops lint` and `slashops ci plan` on a plain checkout,
// run as a user would run them (no server).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { slashops, tempDir, git } from './harness.mjs';

function checkout(files) {
  const dir = tempDir('slashops-cli-');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  git(['init', '-q', '-b', 'main'], { cwd: dir });
  git(['add', '-A'], { cwd: dir });
  git(['commit', '-qm', 'init'], { cwd: dir });
  return dir;
}

const demo = `
hello-world:
  stage: chatops
  rules:
    - if: $CI_PIPELINE_SOURCE == "chat"
  script:
    - echo "Hello World"
ordinary:
  except: [chat]
  script: [echo hi]
stages: [test, chatops]
`;

test('lint says OK for a valid file and exits 0', () => {
  const dir = checkout({ '.gitlab-ci.yml': demo });
  const r = slashops(['lint', join(dir, '.gitlab-ci.yml')]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'OK');
});

test('lint reports errors with file:line:col and exits 1', () => {
  const dir = checkout({ '.gitlab-ci.yml': 'build:\n  scrpt: [make]\n' });
  const r = slashops(['lint', join(dir, '.gitlab-ci.yml')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /\.gitlab-ci\.yml:2:3: jobs:build config contains unknown keys: scrpt/);
  assert.match(r.stderr, /should implement the script:, run:, or trigger: keyword/);
});

test('lint follows local includes from the checkout root', () => {
  const dir = checkout({
    '.gitlab-ci.yml': 'include:\n  - local: ci/jobs.yml\n',
    'ci/jobs.yml': 'job:\n  script: [echo included]\n',
  });
  const r = slashops(['lint', join(dir, '.gitlab-ci.yml')]);
  assert.equal(r.status, 0, r.stderr);
  const missing = checkout({ '.gitlab-ci.yml': 'include:\n  - local: nope.yml\n' });
  const r2 = slashops(['lint', join(missing, '.gitlab-ci.yml')]);
  assert.equal(r2.status, 1);
  assert.match(r2.stderr, /nope\.yml/);
});

test('ci plan for chat keeps only the named job and passes CHAT_INPUT byte-exact', () => {
  const dir = checkout({ '.gitlab-ci.yml': demo });
  const input = 'a "quoted" $(touch /tmp/x) `id`\nline two ü';
  const r = slashops(['ci', 'plan', '--source', 'chat', '--job', 'hello-world',
    '--chat-input', input, '--chat-channel', 'C123', join(dir, '.gitlab-ci.yml')]);
  assert.equal(r.status, 0, r.stderr);
  const plan = JSON.parse(r.stdout);
  assert.equal(plan.status, 'created');
  assert.deepEqual(plan.jobs.map((j) => j.name), ['hello-world']);
  const vars = Object.fromEntries(plan.jobs[0].variables.map((v) => [v.key, v.value]));
  assert.equal(vars.CHAT_INPUT, input);
  assert.equal(vars.CHAT_CHANNEL, 'C123');
  assert.equal(vars.CI_PIPELINE_SOURCE, 'chat');
});

test('ci plan explains why nothing would run', () => {
  const dir = checkout({ '.gitlab-ci.yml': demo });
  const excluded = JSON.parse(slashops(['ci', 'plan', '--source', 'chat', '--job', 'ordinary',
    join(dir, '.gitlab-ci.yml')]).stdout);
  assert.equal(excluded.status, 'filtered_by_rules');
  assert.match(excluded.chat_reply, /could not be scheduled.*"ordinary"/);
  const missing = JSON.parse(slashops(['ci', 'plan', '--source', 'chat', '--job', 'nope',
    join(dir, '.gitlab-ci.yml')]).stdout);
  assert.equal(missing.message, 'No stages / jobs for this pipeline.');
  const push = JSON.parse(slashops(['ci', 'plan', join(dir, '.gitlab-ci.yml')]).stdout);
  assert.deepEqual(push.jobs.map((j) => j.name), ['ordinary']);
});

test('ci plan rejects a bad --var and --job without chat', () => {
  const dir = checkout({ '.gitlab-ci.yml': demo });
  assert.equal(slashops(['ci', 'plan', '--var', 'NOEQUALS', join(dir, '.gitlab-ci.yml')]).status, 2);
  assert.equal(slashops(['ci', 'plan', '--job', 'x', join(dir, '.gitlab-ci.yml')]).status, 2);
});

test('include:rules see the pipeline variables (source, branch), not the shell environment', () => {
  const dir = checkout({
    '.gitlab-ci.yml': [
      'include:',
      '  - local: chat-jobs.yml',
      '    rules:',
      '      - if: $CI_PIPELINE_SOURCE == "chat"',
      '  - local: main-only.yml',
      '    rules:',
      '      - if: $CI_COMMIT_BRANCH == "main"',
      'base:',
      '  script: [echo base]',
    ].join('\n') + '\n',
    'chat-jobs.yml': 'chatjob:\n  script: [echo chat]\n',
    'main-only.yml': 'mainjob:\n  script: [echo main]\n',
  });
  const env = { CI_PIPELINE_SOURCE: 'chat', CI_COMMIT_BRANCH: 'other' }; // must be ignored
  const push = JSON.parse(slashops(['ci', 'plan', join(dir, '.gitlab-ci.yml')], { env }).stdout);
  assert.deepEqual(push.jobs.map((j) => j.name).sort(), ['base', 'mainjob']);
  const chat = JSON.parse(slashops(['ci', 'plan', '--source', 'chat', '--job', 'chatjob',
    join(dir, '.gitlab-ci.yml')], { env }).stdout);
  assert.deepEqual(chat.jobs.map((j) => j.name), ['chatjob']);
  const branch = JSON.parse(slashops(['ci', 'plan', '--ref', 'feature', join(dir, '.gitlab-ci.yml')], { env }).stdout);
  assert.deepEqual(branch.jobs.map((j) => j.name), ['base']);
});
