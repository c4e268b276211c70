#!/usr/bin/env bash
# bench/help/run.sh: issue 3's speed benchmark. `help` from a linked chat
# user through the Mattermost trigger endpoint, measured with wrk
# (keep-alive, 64 connections), against nginx returning a fixed JSON body
# of the same size on the same machine in the same run.
#
# Design: everything lives in one temporary directory (data dir, configs,
# logs) and every process this script starts is stopped by the EXIT trap,
# whatever happens. Steps:
#   1. release build (meson setup build-bench --buildtype=release -Dtests=disabled);
#   2. slashops on 127.0.0.1 (free port), chat rate limits switched off so
#      the benchmark measures the command, not the limiter;
#   3. a project and its integration token through the REST API;
#   4. a chat user linked through the real web flow with curl: the trigger's
#      connect link, sign-in, the authorize page, Authorize;
#   5. a check that `help` answers 200 with the help text;
#   6. wrk against slashops while RSS is sampled (VmRSS, VmHWM at the end);
#   7. nginx (Debian's) with `return 200 '<json>'`, same wrk run;
#   8. the figures with PASS/FAIL against the targets: ratio >= 0.4,
#      slashops p99 < 10 ms, peak RSS < 16 MiB. Exit status 1 on any FAIL.
# Knobs (environment): BENCH_DURATION (10s), BENCH_CONNECTIONS (64),
# BENCH_THREADS (2), BENCH_BUILD_DIR (build-bench), SLASHOPS_BIN (skip the
# build and use this binary), BENCH_PERF_OUT (perf record the server during
# its run into this file), BENCH_VERBOSE (print wrk's full output),
# BENCH_SERVER_THREADS (server.threads; default: the server's own, one per
# CPU), BENCH_HOLD (stop after step 5 and keep the linked server up, for profiling
# by hand; the trigger URL and pid are printed).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
duration=${BENCH_DURATION:-10s}
conns=${BENCH_CONNECTIONS:-64}
threads=${BENCH_THREADS:-2}
build_dir=${BENCH_BUILD_DIR:-build-bench}

for tool in wrk curl nginx; do
	command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] ||
		{ echo "bench: $tool is required (apt-get install wrk curl nginx-light)" >&2; exit 2; }
done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/slashops-bench.XXXXXX")
chmod 755 "$tmp"
slashops_pid=""
nginx_pid=""
sampler_pid=""

cleanup() {
	local rc=$?
	set +e
	[ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null && wait "$sampler_pid" 2>/dev/null
	if [ -n "$nginx_pid" ] && kill -0 "$nginx_pid" 2>/dev/null; then
		kill -QUIT "$nginx_pid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$nginx_pid" 2>/dev/null
		wait "$nginx_pid" 2>/dev/null
	fi
	if [ -n "$slashops_pid" ] && kill -0 "$slashops_pid" 2>/dev/null; then
		kill -TERM "$slashops_pid" 2>/dev/null
		for _ in $(seq 150); do kill -0 "$slashops_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$slashops_pid" 2>/dev/null
		wait "$slashops_pid" 2>/dev/null
	fi
	if [ "$rc" -ne 0 ] && [ -f "$tmp/slashops.log" ]; then
		echo "bench: slashops log tail:" >&2
		tail -n 20 "$tmp/slashops.log" >&2
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "bench: $*" >&2; exit 1; }

# ---- 1. build ----
if [ -n "${SLASHOPS_BIN:-}" ]; then
	bin=$SLASHOPS_BIN
else
	if [ ! -f "$root/$build_dir/build.ninja" ]; then
		(cd "$root" && meson setup "$build_dir" --buildtype=release -Dtests=disabled >/dev/null)
	fi
	ninja -C "$root/$build_dir" src/cli/slashops >/dev/null
	bin=$root/$build_dir/src/cli/slashops
fi
[ -x "$bin" ] || die "no slashops binary at $bin"

# ---- 2. slashops ----
data=$tmp/data
export SLASHOPS_DATA_DIR=$data
admin_pw=bench-admin-password
printf '%s\n' "$admin_pw" | "$bin" admin user create root --password-stdin \
	--email root@bench.example --admin >/dev/null 2>>"$tmp/cli.log" || die "admin user create failed: $(cat "$tmp/cli.log")"
admin_token=$("$bin" admin token create root --name bench --scope api 2>>"$tmp/cli.log" | grep -o 'glpat-[A-Za-z0-9_-]*')
[ -n "$admin_token" ] || die "no admin token"
cat >"$tmp/slashops.yml" <<EOF
chat:
  rate_limit:
    per_user: 0
    per_integration: 0
EOF
if [ -n "${BENCH_SERVER_THREADS:-}" ]; then
	printf 'server:\n  threads: %s\n' "$BENCH_SERVER_THREADS" >>"$tmp/slashops.yml"
fi
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

# ---- 3. project and integration ----
api() { curl -s -H "PRIVATE-TOKEN: $admin_token" -H 'Content-Type: application/json' "$@"; }
project_json=$(api -X POST "$url/api/v4/projects" -d '{"name":"bench","path":"bench"}')
project_id=$(printf '%s' "$project_json" | grep -o '"id":[0-9]*' | head -n 1 | cut -d: -f2)
[ -n "$project_id" ] || die "project not created: $project_json"
mm_token=benchtoken0000000000000000  # 26 characters, as Mattermost's
export BENCH_TOKEN=$mm_token BENCH_TEAM_ID=benchteam00000000000000000 BENCH_USER_ID=benchuser00000000000000000
code=$(api -o /dev/null -w '%{http_code}' -X PUT \
	"$url/api/v4/projects/$project_id/integrations/mattermost-slash-commands" \
	-d "{\"token\":\"$mm_token\",\"active\":true}")
[ "$code" = 200 ] || die "integration PUT answered $code"
trigger_url=$url/api/v4/projects/$project_id/integrations/mattermost_slash_commands/trigger

trigger() { # text -> reply body (status in $tmp/status)
	curl -s -o "$tmp/reply" -w '%{http_code}' -X POST "$trigger_url" \
		-H "Authorization: Token $mm_token" -H 'Accept: application/json' \
		-H 'User-Agent: Mattermost-Bot/1.1' \
		--data "channel_id=jux16pkewjrkfj3ehep1psxyxc&channel_name=town-square&command=%2Fops&response_url=https%3A%2F%2Fmm.example.com%2Fhooks%2Fcommands%2Fxbrkb8p393gjpq5cawei7npije&root_id=&team_domain=bench&team_id=$BENCH_TEAM_ID&text=$1&token=$mm_token&trigger_id=check$RANDOM$RANDOM&user_id=$BENCH_USER_ID&user_name=benchuser" \
		>"$tmp/status"
	cat "$tmp/reply"
}

# ---- 4. link the chat user through the web flow ----
reply=$(trigger help)
[ "$(cat "$tmp/status")" = 200 ] || die "unlinked trigger answered $(cat "$tmp/status"): $reply"
link_token=$(printf '%s' "$reply" | grep -o 'chat_names/new?token=[A-Za-z0-9_-]*' | head -n 1 |
	cut -d= -f2)
[ -n "$link_token" ] || die "no connect link in the reply: $reply"
jar=$tmp/cookies
form_token() { grep -o 'name="authenticity_token" value="[^"]*"' | head -n 1 | sed 's/.*value="\([^"]*\)"/\1/'; }
csrf=$(curl -s -c "$jar" -b "$jar" "$url/users/sign_in" | form_token)
code=$(curl -s -o /dev/null -w '%{http_code}' -c "$jar" -b "$jar" "$url/users/sign_in" \
	--data-urlencode "authenticity_token=$csrf" --data-urlencode "user[login]=root" \
	--data-urlencode "user[password]=$admin_pw")
[ "$code" = 302 ] || die "sign-in answered $code"
page=$(curl -s -c "$jar" -b "$jar" "$url/-/profile/chat_names/new?token=$link_token")
printf '%s' "$page" | grep -q 'is requesting access' || die "no authorize page"
csrf=$(printf '%s' "$page" | form_token)
code=$(curl -s -o /dev/null -w '%{http_code}' -c "$jar" -b "$jar" "$url/-/profile/chat_names" \
	--data-urlencode "authenticity_token=$csrf" --data-urlencode "token=$link_token")
[ "$code" = 302 ] || die "authorize answered $code"

# ---- 5. help works ----
reply=$(trigger help)
[ "$(cat "$tmp/status")" = 200 ] || die "help answered $(cat "$tmp/status")"
printf '%s' "$reply" | grep -q 'Available commands' || die "no help text in: $reply"
reply_bytes=${#reply}
if [ -n "${BENCH_HOLD:-}" ]; then # keep the linked server up for profiling by hand
	echo "bench: holding slashops pid $slashops_pid; trigger $trigger_url" \
		"(BENCH_TOKEN=$BENCH_TOKEN BENCH_TEAM_ID=$BENCH_TEAM_ID BENCH_USER_ID=$BENCH_USER_ID);" \
		"stop with Ctrl-C or TERM"
	while kill -0 "$slashops_pid" 2>/dev/null; do sleep 1; done
	exit 0
fi

# ---- 6. wrk against slashops, sampling RSS ----
rss_file=$tmp/rss
: >"$rss_file"
(
	while kill -0 "$slashops_pid" 2>/dev/null; do
		awk '/^VmRSS:/ {print $2}' "/proc/$slashops_pid/status" >>"$rss_file" 2>/dev/null || true
		sleep 0.1
	done
) &
sampler_pid=$!
# Signing in ran Argon2id (64 MiB) in the server a moment ago: reset the
# peak RSS counter (Linux clear_refs 5) so VmHWM covers the run only.
echo 5 >"/proc/$slashops_pid/clear_refs" 2>/dev/null || true
perf_pid=""
if [ -n "${BENCH_PERF_OUT:-}" ]; then # profile the server during the run
	perf record -q -F 499 -g -p "$slashops_pid" -o "$BENCH_PERF_OUT" >/dev/null 2>&1 &
	perf_pid=$!
fi
wrk -t"$threads" -c"$conns" -d"$duration" --latency -s "$here/post.lua" "$trigger_url" \
	>"$tmp/wrk-slashops.txt" 2>&1 || die "wrk failed: $(cat "$tmp/wrk-slashops.txt")"
kill "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=""
if [ -n "$perf_pid" ]; then kill -INT "$perf_pid" 2>/dev/null; wait "$perf_pid" 2>/dev/null || true; fi
hwm_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$slashops_pid/status")
peak_rss_kib=$(sort -n "$rss_file" | tail -n 1)
peak_rss_kib=${peak_rss_kib:-0}
# the server still answers correctly after the run
reply=$(trigger help)
printf '%s' "$reply" | grep -q 'Available commands' || die "help broken after the run: $reply"

# ---- 7. nginx with a fixed JSON body of the same size ----
pad=$(( reply_bytes > 40 ? reply_bytes - 40 : 1 ))
body="{\"response_type\":\"ephemeral\",\"text\":\"$(head -c "$pad" /dev/zero | tr '\0' 'x')\"}"
nginx_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log $tmp/nginx/access.log;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$nginx_port;
        default_type application/json;
        location / { return 200 '$body'; }
    }
}
EOF
"$nginx_bin" -c "$tmp/nginx.conf" -p "$tmp/nginx" >"$tmp/nginx/stdout.log" 2>&1 &
nginx_pid=$!
for _ in $(seq 100); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$nginx_port/")" = 200 ] && break
	kill -0 "$nginx_pid" 2>/dev/null || die "nginx exited: $(cat "$tmp/nginx/stdout.log" "$tmp/nginx/error.log" 2>/dev/null)"
	sleep 0.1
done
wrk -t"$threads" -c"$conns" -d"$duration" --latency -s "$here/post.lua" "http://127.0.0.1:$nginx_port/" \
	>"$tmp/wrk-nginx.txt" 2>&1 || die "wrk failed against nginx: $(cat "$tmp/wrk-nginx.txt")"

# ---- 8. figures ----
rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
p99_ms() { # wrk prints 99% as e.g. 812.00us, 1.23ms or 1.01s
	awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
		if (u == "us") v /= 1000; else if (u == "s") v *= 1000; printf "%.2f", v }' "$1"
}
errors() { awk '/Non-2xx or 3xx responses:/ {n += $NF} /Socket errors:/ {n += 1} END {print n + 0}' "$1"; }
s_rps=$(rps "$tmp/wrk-slashops.txt"); n_rps=$(rps "$tmp/wrk-nginx.txt")
s_p99=$(p99_ms "$tmp/wrk-slashops.txt"); n_p99=$(p99_ms "$tmp/wrk-nginx.txt")
s_err=$(errors "$tmp/wrk-slashops.txt")
ratio=$(awk -v a="$s_rps" -v b="$n_rps" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
peak_kib=$(( hwm_kib > peak_rss_kib ? hwm_kib : peak_rss_kib ))
verdict() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi; }
v_ratio=$(verdict "$ratio >= 0.4")
v_p99=$(verdict "$s_p99 < 10")
v_rss=$(verdict "$peak_kib < 16384")
v_err=$(verdict "$s_err == 0")

echo "slashops help benchmark: wrk -t$threads -c$conns -d$duration, keep-alive, $(nproc) CPUs"
printf '  %-34s %12s req/s   p99 %8s ms\n' "slashops (help, linked user)" "$s_rps" "$s_p99"
printf '  %-34s %12s req/s   p99 %8s ms\n' "nginx (fixed $(( ${#body} )) B JSON)" "$n_rps" "$n_p99"
printf '  %-34s %12s   (target >= 0.4)   %s\n' "ratio slashops/nginx" "$ratio" "$v_ratio"
printf '  %-34s %12s   (target < 10 ms)  %s\n' "slashops p99 latency (ms)" "$s_p99" "$v_p99"
printf '  %-34s %12s   (target < 16 MiB) %s   [VmHWM %s KiB, sampled VmRSS max %s KiB]\n' \
	"slashops peak RSS (KiB)" "$peak_kib" "$v_rss" "$hwm_kib" "$peak_rss_kib"
printf '  %-34s %12s   (target 0)        %s\n' "slashops non-2xx / socket errors" "$s_err" "$v_err"
if [ -n "${BENCH_VERBOSE:-}" ]; then
	echo "--- wrk slashops"; cat "$tmp/wrk-slashops.txt"
	echo "--- wrk nginx"; cat "$tmp/wrk-nginx.txt"
fi
[ "$v_ratio$v_p99$v_rss$v_err" = PASSPASSPASSPASS ]
