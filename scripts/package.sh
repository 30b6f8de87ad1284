#!/usr/bin/env bash
# npm run package: the two npm tarballs in dist/js and the library's Python wheel (jsii-pacmak) in dist/python,
# beside the demo's synth output (dist/*.k8s.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist/js dist/python
mkdir -p dist/js
# npm pack runs each package's prepare script: jsii for the library, tsc for the CLI.
npm pack --silent --pack-destination dist/js >/dev/null
npm pack --silent -w canary-watch --pack-destination dist/js >/dev/null
npx jsii-pacmak --targets python --code-only=false
ls -l dist/js dist/python
