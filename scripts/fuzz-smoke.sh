#!/usr/bin/env bash
# fuzz-smoke.sh: builds every libFuzzer target with clang + ASan/UBSan and
# runs each one briefly from its seed corpus. A crash, leak, timeout or
# sanitizer report fails the run. Usage: scripts/fuzz-smoke.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-${FUZZ_SECONDS:-15}}"
CC=clang scripts/build.sh build-fuzz -Dfuzz=true -Dtests=disabled \
  -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true
mapfile -t targets < <(find build-fuzz/tests/fuzz -type f -executable -name 'fuzz_*' | sort)
[ ${#targets[@]} -gt 0 ] || { echo "no fuzz targets built" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
for t in "${targets[@]}"; do
  name=$(basename "$t")
  seeds="tests/fuzz/corpus/$name"
  mkdir -p "$work/$name"
  [ -d "$seeds" ] && cp -r "$seeds/." "$work/$name/" 2>/dev/null || true
  if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     "$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
          -artifact_prefix="$work/$name-" "$work/$name" >"$work/$name.log" 2>&1; then
    runs=$(grep -Eo 'Done [0-9]+ runs' "$work/$name.log" | tail -1 || true)
    echo "fuzz: $name ok (${runs:-ran})"
  else
    echo "fuzz: $name FAILED" >&2
    tail -40 "$work/$name.log" >&2
    fail=$((fail + 1))
  fi
done
echo "fuzz: ${#targets[@]} targets, $fail failed"
[ "$fail" -eq 0 ]
