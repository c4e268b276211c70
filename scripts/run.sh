#!/usr/bin/env bash
# run.sh: THE run command (README). On a fresh Debian machine it installs
# the missing packages (as root; otherwise it prints the apt-get line and
# stops), builds, and starts slashops on 127.0.0.1:8080 with a data
# directory holding an admin account and a demo project. On the first
# start it creates the admin "root" and a token and pushes the demo
# project; later starts reuse them. It always runs on the embedded default
# store (SQLite) with no other service.
#
# Environment: SLASHOPS_DATA_DIR (default ./data), SLASHOPS_LISTEN
# (default 127.0.0.1:8080), SLASHOPS_BUILD_DIR (default build).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ -n "${SLASHOPS_BIN:-}" ]; then
  bin=$(cd "$(dirname "$SLASHOPS_BIN")" && pwd)/$(basename "$SLASHOPS_BIN")
else
  scripts/deps.sh run
  build="${SLASHOPS_BUILD_DIR:-build}"
  echo "Building slashops in $build/ ..."
  scripts/build.sh "$build" -Dtests=disabled
  bin="$root/$build/src/cli/slashops"
fi

data="${SLASHOPS_DATA_DIR:-$root/data}"
listen="${SLASHOPS_LISTEN:-127.0.0.1:8080}"
rlisten="${SLASHOPS_RECEIVER_LISTEN:-127.0.0.1:8081}"
url="http://$listen"
export SLASHOPS_DATA_DIR="$data"
creds="$data/demo-credentials.txt"

if [ ! -f "$creds" ]; then
  mkdir -p "$data" && chmod 700 "$data"
  password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 20)
  printf '%s\n' "$password" | "$bin" admin user create root --admin \
      --email root@example.com --name Administrator --password-stdin >/dev/null
  token=$("$bin" admin token create root --name demo --scope api \
      --scope write_repository | grep -Eo 'glpat-[A-Za-z0-9_-]+')
  # umask in a subshell: the server started below must keep the caller's
  # umask, or the jobs' builds directory becomes unreadable to the job user.
  (umask 077; printf 'admin_user=root\nadmin_password=%s\nadmin_token=%s\n' "$password" "$token" >"$creds")
fi
# shellcheck disable=SC1090
. <(sed 's/^/demo_/' "$creds")

server=""
receiver=""
stop_all() {
  [ -n "$receiver" ] && kill -TERM "$receiver" 2>/dev/null
  [ -n "$server" ] && kill -TERM "$server" 2>/dev/null
  [ -n "$receiver" ] && { wait "$receiver" 2>/dev/null || true; }
  [ -n "$server" ] && { wait "$server" 2>/dev/null || true; }
  return 0
}
trap stop_all EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# The response_url stand-in, its output prefixed in this terminal.
"$bin" dev receiver --listen "$rlisten" > >(sed -u 's/^/[receiver] /') 2>&1 &
receiver=$!

"$bin" serve --listen "$listen" --external-url "$url" &
server=$!
for _ in $(seq 1 100); do
  curl -fsS "$url/-/readiness" >/dev/null 2>&1 && break
  if ! kill -0 $server 2>/dev/null; then echo "slashops failed to start" >&2; exit 1; fi
  sleep 0.1
done

if ! kill -0 "$receiver" 2>/dev/null; then
  echo "warning: the demo's reply receiver could not start on $rlisten (set SLASHOPS_RECEIVER_LISTEN)" >&2
fi

api() { curl -sS -H "PRIVATE-TOKEN: $demo_admin_token" "$@"; }
if ! api -f "$url/api/v4/projects/root%2Fdemo" >/dev/null 2>&1; then
  api -f -X POST "$url/api/v4/projects" -H 'Content-Type: application/json' \
      -d '{"name":"demo","path":"demo","default_branch":"main","description":"slashops demo project"}' >/dev/null
  work=$(mktemp -d)
  cp -r examples/demo/. "$work/"
  (
    cd "$work"
    git init -q -b main
    git -c user.name=slashops -c user.email=demo@localhost add -A
    git -c user.name=slashops -c user.email=demo@localhost commit -qm "Demo project with ChatOps jobs"
    git -c credential.helper= push -q "http://root:$demo_admin_token@$listen/root/demo.git" main
  )
  rm -rf "$work"
fi

# The chat demo's integration token and chat account (first start only;
# data directories from before the demo get them on their next start).
demo_team=demoteam000000000000000000
demo_chat_user=demouser00000000000000000a
if [ -z "${demo_integration_token:-}" ]; then
  itoken=$(set +o pipefail; LC_ALL=C tr -dc 'a-z0-9' </dev/urandom | head -c 26)
  printf '%s\n' "$itoken" | "$bin" admin integration set root/demo --token-stdin >/dev/null
  "$bin" admin chat link root --team-id "$demo_team" --team-domain demo \
      --chat-id "$demo_chat_user" --chat-name root >/dev/null 2>&1 || true
  (umask 077; printf 'integration_token=%s\n' "$itoken" >>"$creds")
  demo_integration_token=$itoken
fi

# What Mattermost sends for "/ops <text>": a form POST, keys sorted, "+"
# for spaces (Go's url.Values.Encode), the token in the body and in
# "Authorization: Token". trigger_id is fixed per command here; slashops
# answers a repeated trigger_id of a command with effects with its first
# reply, so a fixed one would run the job once: the curl lines therefore
# take a fresh trigger_id from the shell ($(date +%s%N)) on every paste.
project_id=$(api "$url/api/v4/projects/root%2Fdemo" | grep -o '"id":[0-9]*' | head -n 1 | cut -d: -f2)
trigger_url="$url/api/v4/projects/$project_id/integrations/mattermost_slash_commands/trigger"
rurl_enc=$(printf 'http://%s/hooks/demo' "$rlisten" | sed 's/:/%3A/g; s#/#%2F#g')
mm_curl() { # text (already form-encoded)
  printf "curl -sS -H 'Accept: application/json' -H 'User-Agent: Mattermost-Bot/1.1' -H 'Authorization: Token %s' --data \"channel_id=demochannel000000000000000&channel_name=town-square&command=%%2Fops&response_url=%s&team_domain=demo&team_id=%s&text=%s&token=%s&trigger_id=demo\$(date +%%s%%N)&user_id=%s&user_name=root\" '%s'" \
    "$demo_integration_token" "$rurl_enc" "$demo_team" "$1" "$demo_integration_token" "$demo_chat_user" "$trigger_url"
}

cat <<MSG

slashops is running at $url  (Ctrl-C stops it)

  Sign in:        $url/users/sign_in   as root / $demo_admin_password
  Admin token:    $demo_admin_token
                  (kept in $creds; try: curl -H "PRIVATE-TOKEN: $demo_admin_token" $url/api/v4/projects)
  Demo project:   $url/root/demo
  Clone it:       git clone http://root:$demo_admin_token@$listen/root/demo.git

Chat demo: run the demo project's ChatOps jobs the way Mattermost would send
"/ops run hello-world" and "/ops run ls" (paste into another terminal):

  $(mm_curl run+hello-world)

  $(mm_curl run+ls)

The command is answered at once ("Your ChatOps job ... has been created!");
the job's result is posted to the response_url, a receiver this script runs
on http://$rlisten/: its output appears here, lines prefixed [receiver].

MSG
wait $server
