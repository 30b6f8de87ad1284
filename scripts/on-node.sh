#!/usr/bin/env bash
# on-node.sh <major> <command...>: runs a command with Node.js <major> first on PATH, fetched from the
# npm registry (the `node` package) into npx's cache, so a suite runs on the Node versions users run
# without any other download. npm itself and every `node` the command starts use that version.
set -euo pipefail
major="${1:?usage: on-node.sh <major> <command...>}"; shift
bin="$(npx -y -p "node@$major" -c 'node -p process.execPath')"
[[ "$("$bin" -p 'process.versions.node.split(".")[0]')" == "$major" ]] || { echo "could not get node $major" >&2; exit 1; }
export PATH="$(dirname "$bin"):$PATH"
echo "[on-node] $(node --version) from $(dirname "$bin")"
"$@"
