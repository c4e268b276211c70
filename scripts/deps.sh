#!/usr/bin/env bash
# deps.sh: installs the Debian packages slashops needs, or says exactly what
# to install. Usage: scripts/deps.sh run|test
#   run   what building and running the server needs
#   test  that, plus what the test suite needs (Criterion, clang for the
#         fuzzers, Chromium for page tests, nginx and wrk for benchmarks)
# As root it runs apt-get itself; otherwise it prints the apt-get line and
# exits 1. It installs only what is missing, so a second run is quick.
set -euo pipefail

RUN_PKGS=(gcc meson ninja-build pkg-config git libmicrohttpd-dev libcurl4-openssl-dev
  libfyaml-dev libjansson-dev libsqlite3-dev libgit2-dev libssh2-1-dev libsodium-dev libpcre2-dev curl)
TEST_PKGS=(libcriterion-dev clang libclang-rt-14-dev sqlite3 chromium valgrind nginx-light wrk rsync
  procps time)

want=("${RUN_PKGS[@]}")
case "${1:-run}" in
  run) ;;
  test) want+=("${TEST_PKGS[@]}") ;;
  *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "slashops needs these Debian packages. Install them as root, then run this again:" >&2
  echo "  apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
