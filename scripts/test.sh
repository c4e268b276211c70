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

echo "== build (-Werror)"
scripts/build.sh build -Dwerror=true
echo "== unit tests"
meson test -C build --suite unit --print-errorlogs

if [ "${SKIP_ASAN:-0}" != 1 ]; then
  echo "== build (ASan+UBSan)"
  scripts/build.sh build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
  echo "== unit tests (ASan+UBSan)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-asan --suite unit --print-errorlogs
fi

echo "== end-to-end tests"
SLASHOPS_BIN=build/src/cli/slashops node --test --test-concurrency=1 tests/e2e/
if [ "${SKIP_ASAN:-0}" != 1 ]; then
  echo "== end-to-end tests (ASan+UBSan binary)"
  SLASHOPS_E2E_ASAN=1 SLASHOPS_BIN=build-asan/src/cli/slashops \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    node --test --test-concurrency=1 tests/e2e/
fi

if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  echo "== fuzz smoke run"
  scripts/fuzz-smoke.sh "${FUZZ_SECONDS:-15}"
fi
echo "== all tests passed"
