#!/usr/bin/env bash
# test.sh: THE test command (README). On a fresh machine it installs what
# the tests need (Debian packages, Node packages from the committed
# lockfile), then runs, in order:
#   1. the unit tests (Criterion) on a -Werror build;
#   2. the unit tests again on an ASan+UBSan build;
#   3. the end-to-end tests (Node's test runner) against the real binary,
#      both the plain build and the ASan+UBSan build;
#   4. a short smoke run of every libFuzzer target.
# Environment: FUZZ_SECONDS (default 15), SKIP_FUZZ=1, SKIP_ASAN=1 to
# shorten a local run. Any failure stops the run with a non-zero status.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh test
if [ ! -d tests/e2e/node_modules/playwright-core ]; then
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi

# Its own build directory: scripts/run.sh's build/ may have been
# configured before the test packages (Criterion) were installed.
echo "== build (-Werror)"
scripts/build.sh build-test -Dwerror=true -Dtests=enabled
echo "== unit tests"
meson test -C build-test --suite unit --print-errorlogs

# Sanitizer reports go to files, and any report fails the run: a test
# runner that forks (Criterion) may not turn a child's leak report into a
# failed test, and a server's report at exit is easy to miss in a log.
san_dir=$(mktemp -d)
trap 'rm -rf "$san_dir"' EXIT
san_env=(ASAN_OPTIONS="detect_leaks=1:log_path=$san_dir/asan"
         UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$san_dir/ubsan")
check_sanitizers() {
  if compgen -G "$san_dir/*" >/dev/null; then
    echo "sanitizer reports ($1):" >&2
    cat "$san_dir"/* >&2
    exit 1
  fi
}

if [ "${SKIP_ASAN:-0}" != 1 ]; then
  echo "== build (ASan+UBSan)"
  scripts/build.sh build-asan -Dwerror=true -Dtests=enabled -Db_sanitize=address,undefined -Db_lundef=false
  echo "== unit tests (ASan+UBSan)"
  env "${san_env[@]}" meson test -C build-asan --suite unit --print-errorlogs
  check_sanitizers "unit tests"
fi

# gitlab-ci-local, the reference for the CI comparison test (installed
# from the npm registry into a cache dir; if that fails the test skips)
if scripts/gitlab-ci-local.sh >/dev/null 2>&1; then export SLASHOPS_GCL=$(scripts/gitlab-ci-local.sh); fi

echo "== end-to-end tests"
SLASHOPS_BIN=build-test/src/cli/slashops node --test --test-concurrency=1 tests/e2e/
if [ "${SKIP_ASAN:-0}" != 1 ]; then
  echo "== end-to-end tests (ASan+UBSan binary)"
  env "${san_env[@]}" SLASHOPS_E2E_ASAN=1 SLASHOPS_BIN=build-asan/src/cli/slashops \
    node --test --test-concurrency=1 tests/e2e/
  check_sanitizers "end-to-end tests"
fi

if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  echo "== fuzz smoke run"
  scripts/fuzz-smoke.sh "${FUZZ_SECONDS:-15}"
fi
echo "== all tests passed"
