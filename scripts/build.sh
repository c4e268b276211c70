#!/usr/bin/env bash
# build.sh: configures (once) and builds a Meson build directory, showing
# the compiler's output only when something fails.
# Usage: scripts/build.sh [BUILD_DIR] [meson setup options...]
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-build}"
shift || true
if [ ! -f "$dir/build.ninja" ]; then
  if ! out=$(meson setup "$dir" "$@" 2>&1); then echo "$out" >&2; exit 1; fi
fi
if ! out=$(ninja -C "$dir" 2>&1); then echo "$out" >&2; exit 1; fi
