#!/usr/bin/env bash
# npm run synth: checks the app's input first (one line on a bad API_VERSION, where cdk8s-cli would
# add a stack trace), then runs `cdk8s synth`. cdk8s-cli empties its output folder before every synth
# (cdk8s-cli 2.207, lib/cli/cmds/synth.js: fs.rmSync(outdir)), and dist/ also holds what
# `npm run package` wrote: dist/js and dist/python are set aside and put back, so the packages and
# dist/*.k8s.yaml stay side by side. A bare `npx cdk8s synth` does not do this.
set -euo pipefail
cd "$(dirname "$0")/.."
node --require tsx/cjs main.ts --check
keep="$(mktemp -d "${TMPDIR:-/tmp}/cdk8s-canary-dist.XXXXXX")"
restore() {
  mkdir -p dist
  for d in js python; do [[ ! -d "$keep/$d" ]] || mv "$keep/$d" "dist/$d"; done
  rmdir "$keep"
}
trap restore EXIT
for d in js python; do [[ ! -d "dist/$d" ]] || mv "dist/$d" "$keep/$d"; done
npx cdk8s synth --no-check-upgrade "$@"
