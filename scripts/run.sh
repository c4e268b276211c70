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

scripts/deps.sh run
build="${SLASHOPS_BUILD_DIR:-build}"
echo "Building slashops in $build/ ..."
scripts/build.sh "$build" -Dtests=disabled
bin="$root/$build/src/cli/slashops"

data="${SLASHOPS_DATA_DIR:-$root/data}"
listen="${SLASHOPS_LISTEN:-127.0.0.1:8080}"
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
  umask 077
  printf 'admin_user=root\nadmin_password=%s\nadmin_token=%s\n' "$password" "$token" >"$creds"
fi
# shellcheck disable=SC1090
. <(sed 's/^/demo_/' "$creds")

"$bin" serve --listen "$listen" --external-url "$url" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server' INT TERM
for _ in $(seq 1 100); do
  curl -fsS "$url/-/readiness" >/dev/null 2>&1 && break
  if ! kill -0 $server 2>/dev/null; then echo "slashops failed to start" >&2; exit 1; fi
  sleep 0.1
done

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

cat <<MSG

slashops is running at $url  (Ctrl-C stops it)

  Sign in:        $url/users/sign_in   as root / $demo_admin_password
  Admin token:    $demo_admin_token
                  (kept in $creds; try: curl -H "PRIVATE-TOKEN: $demo_admin_token" $url/api/v4/projects)
  Demo project:   $url/root/demo
  Clone it:       git clone http://root:$demo_admin_token@$listen/root/demo.git

MSG
wait $server
