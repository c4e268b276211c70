#!/usr/bin/env bash
# bench/run/run.sh: issue 5's speed benchmark. `run hello-world` from a
# fake Mattermost (bench/run/measure.mjs): the HTTP acknowledgement
# (targets p50 < 2 ms, p99 < 10 ms while 50 jobs run) and the time from
# the command to the job's reply arriving at the response_url (target
# p50 < 25 ms), beside `gitlab-ci-local hello-world` on the same
# .gitlab-ci.yml in the same run, and beside GitLab Runner's default
# 3-second job pickup interval (check_interval).
#
# Design: everything lives in one temporary directory; the EXIT trap stops
# every process this script started. Steps:
#   1. release build (scripts/build.sh build-bench --buildtype=release
#      -Dtests=disabled), or SLASHOPS_BIN;
#   2. slashops on 127.0.0.1 (free port) with chat rate limits off and
#      jobs.concurrency 60 (50 sleepers + room for the measured jobs);
#   3. project root/bench with examples/demo/.gitlab-ci.yml plus a
#      `sleeper` chat job (sleep 60), pushed with git; the integration token
#      and the chat account through `slashops admin integration set` and
#      `admin chat link`;
#   4. gitlab-ci-local (scripts/gitlab-ci-local.sh prints its wrapper)
#      runs hello-world in a temporary git repo with the same file, 3 times;
#      the median is kept;
#   5. measure.mjs: burst acks, paced acks + replies, the same with 50
#      sleepers running (see measure.mjs for what each means);
#   6. the figures, ratios and PASS/FAIL; exit 1 on any FAIL.
# Knobs: SLASHOPS_BIN, BENCH_BUILD_DIR (build-bench), BENCH_ACK_COUNT
# (1000), BENCH_REPLY_COUNT (200), BENCH_SLEEPERS (50), BENCH_NO_GCL=1,
# BENCH_KEEP_LOG=file (copy the server's log there at the end).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build_dir=${BENCH_BUILD_DIR:-build-bench}
sleepers=${BENCH_SLEEPERS:-50}

command -v node >/dev/null 2>&1 || { echo "bench: node is required" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/slashops-runbench.XXXXXX")
chmod 755 "$tmp"
slashops_pid=""
cleanup() {
	local rc=$?
	set +e
	if [ -n "$slashops_pid" ] && kill -0 "$slashops_pid" 2>/dev/null; then
		kill -TERM "$slashops_pid" 2>/dev/null
		for _ in $(seq 150); do kill -0 "$slashops_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$slashops_pid" 2>/dev/null
		wait "$slashops_pid" 2>/dev/null
	fi
	if [ "$rc" -ne 0 ] && [ -f "$tmp/slashops.log" ]; then
		echo "bench: slashops log tail:" >&2
		grep -v '"msg":"request"' "$tmp/slashops.log" | tail -n 20 >&2
	fi
	if [ -n "${BENCH_KEEP_LOG:-}" ] && [ -f "$tmp/slashops.log" ]; then
		cp "$tmp/slashops.log" "$BENCH_KEEP_LOG"
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "bench: $*" >&2; exit 1; }

# ---- 1. build ----
if [ -n "${SLASHOPS_BIN:-}" ]; then
	bin=$(cd "$(dirname "$SLASHOPS_BIN")" && pwd)/$(basename "$SLASHOPS_BIN")
else
	(cd "$root" && scripts/build.sh "$build_dir" --buildtype=release -Dtests=disabled)
	bin=$root/$build_dir/src/cli/slashops
fi
[ -x "$bin" ] || die "no slashops binary at $bin"

# ---- 2. slashops ----
data=$tmp/data
export SLASHOPS_DATA_DIR=$data
printf '%s\n' bench-admin-password | "$bin" admin user create root --password-stdin \
	--email root@bench.example --admin >/dev/null 2>>"$tmp/cli.log" || die "user create: $(cat "$tmp/cli.log")"
admin_token=$("$bin" admin token create root --name bench --scope api --scope write_repository \
	2>>"$tmp/cli.log" | grep -o 'glpat-[A-Za-z0-9_-]*')
cat >"$tmp/slashops.yml" <<EOF
chat:
  rate_limit:
    per_user: 0
    per_integration: 0
jobs:
  concurrency: 60
  builds_dir: $tmp/builds
EOF
"$bin" serve --listen 127.0.0.1:0 --data-dir "$data" --config "$tmp/slashops.yml" \
	>"$tmp/slashops.log" 2>&1 &
slashops_pid=$!
url=""
for _ in $(seq 100); do
	url=$(grep -o '"msg":"listening"[^}]*"url":"[^"]*"' "$tmp/slashops.log" 2>/dev/null |
		sed 's/.*"url":"\([^"]*\)"/\1/' | head -n 1 || true)
	[ -n "$url" ] && break
	kill -0 "$slashops_pid" 2>/dev/null || die "slashops exited at start"
	sleep 0.1
done
[ -n "$url" ] || die "slashops did not report its address"
for _ in $(seq 100); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/-/readiness")" = 200 ] && break
	sleep 0.1
done

# ---- 3. project, CI file, integration, chat account ----
api() { curl -s -H "PRIVATE-TOKEN: $admin_token" -H 'Content-Type: application/json' "$@"; }
project_json=$(api -X POST "$url/api/v4/projects" -d '{"name":"bench","path":"bench","default_branch":"main"}')
project_id=$(printf '%s' "$project_json" | grep -o '"id":[0-9]*' | head -n 1 | cut -d: -f2)
[ -n "$project_id" ] || die "project not created: $project_json"
repo=$tmp/repo
mkdir -p "$repo"
cp -r "$root/examples/demo/." "$repo/"
cat >>"$repo/.gitlab-ci.yml" <<'EOF'

sleeper:
  stage: chatops
  only: [chat]
  script:
    - sleep 60
EOF
(
	cd "$repo"
	git init -q -b main
	git -c user.name=bench -c user.email=bench@localhost add -A
	git -c user.name=bench -c user.email=bench@localhost commit -qm bench
	hostport=${url#http://}
	git -c credential.helper= push -q "http://root:$admin_token@$hostport/root/bench.git" main
) || die "git push failed"
mm_token=$(set +o pipefail; LC_ALL=C tr -dc 'a-z0-9' </dev/urandom | head -c 26)
printf '%s\n' "$mm_token" | "$bin" admin integration set root/bench --token-stdin >/dev/null ||
	die "admin integration set failed"
team_id=benchteam00000000000000000
chat_user=benchuser00000000000000000
"$bin" admin chat link root --team-id "$team_id" --team-domain bench --chat-id "$chat_user" \
	--chat-name root >/dev/null || die "admin chat link failed"

# ---- 4. gitlab-ci-local on the same file ----
gcl_ms=""
if [ -z "${BENCH_NO_GCL:-}" ] && ! command -v rsync >/dev/null 2>&1; then
	echo "gitlab-ci-local: skipped (it copies the checkout with rsync: apt-get install rsync)"
elif [ -z "${BENCH_NO_GCL:-}" ] && [ -x "$root/scripts/gitlab-ci-local.sh" ]; then
	if gcl=$("$root/scripts/gitlab-ci-local.sh" 2>"$tmp/gcl-install.log"); then
		times=()
		for i in 1 2 3; do
			work=$tmp/gcl$i
			cp -r "$repo" "$work"
			# gitlab-ci-local reads the project path and default branch
			# from an origin remote and origin/HEAD.
			git -C "$work" remote add origin https://gitlab.example.com/root/bench.git
			git -C "$work" update-ref refs/remotes/origin/main HEAD
			git -C "$work" symbolic-ref refs/remotes/origin/HEAD refs/remotes/origin/main
			t0=$(date +%s%N)
			(cd "$work" && "$gcl" hello-world >"$tmp/gcl$i.log" 2>&1) ||
				die "gitlab-ci-local hello-world failed: $(tail -n 20 "$tmp/gcl$i.log")"
			t1=$(date +%s%N)
			grep -q 'Hello World' "$tmp/gcl$i.log" || die "gitlab-ci-local did not print Hello World"
			times+=($(( (t1 - t0) / 1000 )))
		done
		gcl_ms=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p | awk '{printf "%.1f", $1/1000}')
		echo "gitlab-ci-local hello-world: $(printf '%s ' "${times[@]}" | awk '{for(i=1;i<=NF;i++) printf "%.1f ms ", $i/1000}')(median $gcl_ms ms)"
	else
		echo "gitlab-ci-local: not available ($(tail -n 1 "$tmp/gcl-install.log")); skipped"
	fi
else
	echo "gitlab-ci-local: skipped"
fi

# ---- 5. measure ----
BENCH_URL=$url BENCH_PROJECT_ID=$project_id BENCH_TOKEN=$mm_token BENCH_ADMIN_TOKEN=$admin_token \
BENCH_TEAM_ID=$team_id BENCH_USER_ID=$chat_user BENCH_SLEEPERS=$sleepers \
	node "$here/measure.mjs" | tee "$tmp/measure.out"
result=$(grep '^RESULT ' "$tmp/measure.out" | cut -c8-)
[ -n "$result" ] || die "measure.mjs gave no result"

# ---- 6. verdict ----
RESULT=$result GCL_MS=$gcl_ms SLEEPERS=$sleepers node -e '
const r = JSON.parse(process.env.RESULT);
const gcl = process.env.GCL_MS ? Number(process.env.GCL_MS) : null;
const n = process.env.SLEEPERS;
let fail = 0;
const check = (what, v, lim) => {
  const ok = v < lim;
  if (!ok) fail++;
  console.log(`${ok ? "PASS" : "FAIL"}  ${what}: ${v.toFixed(3)} ms (target < ${lim} ms)`);
};
console.log("");
console.log(`command measured: ${r.command}`);
const info = (what, s) => console.log(`INFO  ${what}: p50 ${s.p50.toFixed(3)} ms, p99 ${s.p99.toFixed(3)} ms`);
if (r.ack_paced_idle) {
  check("ack p50, paced, no other jobs", r.ack_paced_idle.p50, 2);
  check("ack p99, paced, no other jobs", r.ack_paced_idle.p99, 10);
}
if (r.ack_paced_loaded) {
  check(`ack p50, paced, ${n} jobs running (${r.running_before} seen)`, r.ack_paced_loaded.p50, 2);
  check(`ack p99, paced, ${n} jobs running`, r.ack_paced_loaded.p99, 10);
  if (r.running_before < Number(n)) { fail++; console.log(`FAIL  only ${r.running_before} of ${n} sleeper jobs were running`); }
} else {
  check("ack p50 (help: no run command)", r.ack_idle.p50, 2);
  check("ack p99 (help: no run command)", r.ack_idle.p99, 10);
}
info("ack, burst of back-to-back commands, each starting a job", r.ack_idle);
if (r.ack_loaded) info(`ack, burst, ${n} jobs running`, r.ack_loaded);
if (r.reply_loaded) info(`reply, paced, ${n} jobs running`, r.reply_loaded);
if (r.reply) {
  check("reply p50 (command -> POST at response_url)", r.reply.p50, 25);
  console.log(`      reply p99 ${r.reply.p99.toFixed(3)} ms, not successful: ${r.reply.failed}`);
  if (r.reply.failed) { fail++; console.log("FAIL  some hello-world jobs did not succeed"); }
  if (gcl !== null) console.log(`INFO  gitlab-ci-local hello-world median ${gcl.toFixed(1)} ms; reply p50 : gcl = 1 : ${(gcl / r.reply.p50).toFixed(1)}`);
  console.log(`INFO  GitLab Runner default check_interval 3000 ms (pickup alone); reply p50 : 3 s = 1 : ${(3000 / r.reply.p50).toFixed(1)}`);
} else {
  fail++;
  console.log("FAIL  no run command: reply latency not measured");
}
for (const k of ["ack_idle", "ack_loaded", "ack_paced_idle", "ack_paced_loaded"]) if (r[k] && r[k].bad) { fail++; console.log(`FAIL  ${k}: ${r[k].bad} non-200 answers`); }
process.exit(fail ? 1 : 0);
'
