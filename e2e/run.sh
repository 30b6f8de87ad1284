#!/usr/bin/env bash
# npm run test:e2e: builds the stack (cached), synthesizes the demo, brings the stack up from
# scratch, runs the e2e suites (e2e/jest.config.js) and always tears the stack down.
# E2E_KEEP_LOGS=1 keeps the stack's logs after the run (path printed).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
t0=$SECONDS

finish() {
  local code=$?
  if [[ $code -ne 0 || "${E2E_KEEP_LOGS:-}" == 1 ]]; then
    local keep="${TMPDIR:-/tmp}/cdk8s-canary-e2e/last-logs"
    local state; state="$(cat "${TMPDIR:-/tmp}/cdk8s-canary-e2e/current" 2>/dev/null || true)"
    if [[ -n "$state" && -d "$state/logs" ]]; then
      rm -rf "$keep"; cp -r "$state/logs" "$keep"; echo "[e2e] stack logs kept in $keep"
    fi
  fi
  bash e2e/cluster/down.sh || true
  [[ -z "${rss_pid:-}" ]] || wait "$rss_pid" || true
  echo "[e2e] total ${SECONDS}s"
  # The plain closing line CI reads ("N passed, N failed, N skipped").
  node -e 'const r = require(process.argv[1]);
    console.log(`e2e: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);' \
    "$synth/jest.json" 2>/dev/null || echo "e2e: 0 passed, 1 failed (the suites did not run)"
  rm -rf "$synth"
  exit $code
}

source e2e/cluster/lib/netns.sh
if ! in_stack_netns; then
  bash e2e/cluster/build.sh # needs the package registries: before entering the namespace
  enter_stack_netns bash "${BASH_SOURCE[0]}" "$@"
fi
npm run --silent build -w canary-watch # the scenarios run the packaged CLI

synth="$(mktemp -d "${TMPDIR:-/tmp}/cdk8s-canary-e2e-synth.XXXXXX")"
trap finish EXIT
# The demo as `npm run synth` makes it (the cdk8s.yaml app), and the variant the stack runs:
# same chart, 10 s analysis interval, namespace enforcing Pod Security restricted.
export E2E_MAIN_SYNTH_DIR="$synth/main" E2E_SYNTH_DIR="$synth/e2e"
CDK8S_OUTDIR="$E2E_MAIN_SYNTH_DIR" node --require tsx/cjs main.ts
node --require tsx/cjs e2e/cluster/synth-demo.ts "$E2E_SYNTH_DIR"
echo "[e2e] synthesized $(ls "$E2E_MAIN_SYNTH_DIR" | wc -l) + $(ls "$E2E_SYNTH_DIR" | wc -l) manifest file(s) into $synth"

bash e2e/cluster/down.sh
bash e2e/cluster/up.sh
echo "[e2e] stack up after $((SECONDS - t0))s"
bash e2e/cluster/rss.sh 2 & rss_pid=$!
# Two projects, one after another on the one stack: the stack's suites and the rehearsal's
# scenarios (e2e/rehearse, the real Flagger on the data-plane emulator).
npx jest --projects e2e/jest.config.js e2e/rehearse/jest.config.js --runInBand \
  --json --outputFile "$synth/jest.json" "$@"
