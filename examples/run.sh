#!/usr/bin/env bash
# npm run test:consumers: installs what `npm run package` wrote, as users get it (no workspace links):
#  - TypeScript: examples/typescript with the library tarball and its own cdk8s, constructs and
#    cdk8s-plus-28 at the LOWEST and at the HIGHEST version of each peer range the registry serves
#    (two runs); compiled with skipLibCheck false; one copy of cdk8s; the user's chart checked;
#  - Python: a virtual environment with the wheel and cdk8s from PyPI runs examples/python/app.py,
#    whose YAML must equal the TypeScript synth of the same props object for object;
#  - the README's quick starts (TypeScript, Python) as they stand: the same objects from both;
#  - the CLI: `npx canary-watch --help` from its tarball.
# Both npm installs use --engine-strict: a dependency that excludes this Node fails the check.
# Runs on whichever node is first on PATH (scripts/on-node.sh 24 ... puts Node 24 there).
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# Packs first, so what is tested is the current sources; --use-dist tests dist/ as it is (CI packs once
# and runs this on three Node versions).
if [[ "${1:-}" != --use-dist ]]; then
  npm run --silent package >/dev/null || { echo "consumers: 0 passed, 1 failed (npm run package failed)"; exit 1; }
fi
ls dist/js/cdk8s-canary-*.tgz dist/js/canary-watch-*.tgz dist/python/*.whl >/dev/null \
  || { echo "consumers: 0 passed, 1 failed (no packages in dist/: npm run package)"; exit 1; }
lib_tgz="$(ls "$repo"/dist/js/cdk8s-canary-*.tgz)"
cli_tgz="$(ls "$repo"/dist/js/canary-watch-*.tgz)"
wheel="$(ls "$repo"/dist/python/*.whl)"
work="$(mktemp -d "${TMPDIR:-/tmp}/cdk8s-canary-consumers.XXXXXX")"
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
node_version="$(node --version)"

check() { # check <name> <command...>: runs a step, logs its output, counts it
  local name="$1"; shift
  local log="$work/$(echo "$name" | tr -c 'a-zA-Z0-9' '-').log"
  local t0=$SECONDS
  if ("$@") >"$log" 2>&1; then
    passed=$((passed + 1)); echo "ok   $name ($((SECONDS - t0))s) $(tail -n 1 "$log")"
  else
    failed=$((failed + 1)); echo "FAIL $name ($((SECONDS - t0))s)"; sed 's/^/     /' "$log" | tail -n 40
  fi
}

# Lowest and highest version the registry serves within a peer range of the library.
peer_range() { node -p "require('./package.json').peerDependencies['$1']"; }
served() { # served <package> lowest|highest
  npm view "$1@$(peer_range "$1")" version --json | node -e '
    const semver = require("semver");
    const v = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const all = (Array.isArray(v) ? v : [v]).sort(semver.compare);
    console.log(process.argv[1] === "lowest" ? all[0] : all[all.length - 1]);' "$2"
}

typescript_user() { # typescript_user <label> <cdk8s> <constructs> <cdk8s-plus-28>
  local dir="$work/ts-$1"
  cp -r examples/typescript "$dir" && cd "$dir" || return 1
  # --engine-strict: a dependency whose engines exclude this Node fails the install, as it would for a user who sets it.
  npm install --engine-strict --no-audit --no-fund --loglevel=error "$lib_tgz" "cdk8s@$2" "constructs@$3" "cdk8s-plus-28@$4" \
    typescript@~5.9.3 @types/node@^20.19.43 || return 1
  node -e 'const p = require("cdk8s-canary/package.json");
    if (Object.keys(p.dependencies ?? {}).length) throw new Error("runtime dependencies: " + Object.keys(p.dependencies));' || return 1
  [[ ! -e node_modules/@kubernetes/client-node ]] || { echo "client-node was installed with the library"; return 1; }
  local copies; copies="$(npm ls cdk8s --all --parseable | sort -u | wc -l)"
  [[ "$copies" == 1 ]] || { echo "expected one copy of cdk8s, found $copies"; npm ls cdk8s --all; return 1; }
  node -e 'for (const p of ["cdk8s", "constructs", "cdk8s-plus-28"]) console.log(p, require(p + "/package.json").version)'
  npx tsc -p tsconfig.json || return 1
  node build/main.js "$dir/out" || return 1
  node "$repo/examples/check.js" shop "$dir/out/shop" || return 1
  echo "cdk8s $2, constructs $3, cdk8s-plus-28 $4: compiled (skipLibCheck false), one cdk8s, synthesized"
}

python_user() {
  python3 -m venv "$work/venv" || return 1
  "$work/venv/bin/pip" install --quiet --disable-pip-version-check "$wheel" || return 1
  "$work/venv/bin/pip" list --disable-pip-version-check 2>/dev/null | grep -Ei '^(cdk8s|constructs|jsii) '
  "$work/venv/bin/python" examples/python/app.py "$work/py-out" || return 1
  node examples/check.js same "$work/py-out" "$work/ts-highest/out/demo"
}

readme_quick_starts() { # the README's two quick starts, run as they stand, must write the same objects
  local ts="$work/ts-highest" out="$work/readme"
  mkdir -p "$out/ts" "$out/py"
  node examples/readme-block.js '### Quick start in TypeScript' > "$ts/src/readme-quick-start.ts" || return 1
  node examples/readme-block.js '### Quick start in Python' > "$out/quick_start.py" || return 1
  (cd "$ts" && npx tsc -p tsconfig.json) || return 1
  (cd "$out/ts" && node "$ts/build/readme-quick-start.js") || return 1
  (cd "$out/py" && "$work/venv/bin/python" "$out/quick_start.py") || return 1
  node examples/check.js quickstart "$out/ts/dist" || return 1
  node examples/check.js same "$out/py/dist" "$out/ts/dist"
}

cli_user() {
  mkdir "$work/cli" && cd "$work/cli" || return 1
  # --engine-strict: every dependency of the CLI must declare this Node supported (vega-lite 6.5 requires 22).
  npm init -y >/dev/null && npm install --engine-strict --no-audit --no-fund --loglevel=error "$cli_tgz" || return 1
  [[ ! -e node_modules/cdk8s-canary ]] || { echo "the CLI must not pull in the library"; return 1; }
  local out; out="$(npx canary-watch --help)" || return 1
  echo "$out" | head -n 3
  grep -q 'promote' <<<"$out" && grep -q 'report' <<<"$out" || { echo "the commands are missing from the usage"; return 1; }
  out="$(npx canary-watch watch --help)" || return 1
  grep -q -- '--timeout' <<<"$out" || { echo "watch --help lacks --timeout"; return 1; }
  # The kubectl plugin is the same CLI under the name kubectl looks for.
  out="$(npx kubectl-canary status --help)" || return 1
  grep -q '^Usage: kubectl canary status' <<<"$out" || { echo "kubectl-canary does not name itself kubectl canary: $(head -n 1 <<<"$out")"; return 1; }
  echo "npx canary-watch --help, watch --help, kubectl-canary status --help: usage printed, exit 0"
}

library_contents() { # the library tarball ships compiled JS, declarations and the jsii assembly, and no sources
  local files; files="$(tar tzf "$lib_tgz")"
  for f in package/.jsii package/build/lib/index.js package/build/lib/index.d.ts package/build/imports/flagger.app.js package/build/imports/policy.linkerd.io.js package/LICENSE; do
    grep -qx "$f" <<<"$files" || { echo "missing $f"; return 1; }
  done
  ! grep -E '\.ts$' <<<"$files" | grep -vE '\.d\.ts$' || { echo "TypeScript sources shipped"; return 1; }
  ! grep -E 'gateway|smi-spec|\.map$' <<<"$files" || { echo "unused generated classes or dangling source maps shipped"; return 1; }
  echo "$(wc -l <<<"$files") files: compiled JS, .d.ts, .jsii, LICENSE; no sources, no maps, no Gateway API or SMI classes"
}

synth_keeps_packages() { # dist/*.k8s.yaml and the packages side by side after npm run synth
  bash scripts/synth.sh >/dev/null || return 1
  ls dist/*.k8s.yaml "$lib_tgz" "$cli_tgz" "$wheel" || return 1
  echo "dist/: $(ls dist/*.k8s.yaml | wc -l) manifests beside the tarballs and the wheel"
}

echo "[consumers] node $node_version, library $(basename "$lib_tgz"), CLI $(basename "$cli_tgz"), wheel $(basename "$wheel")"
low=("$(served cdk8s lowest)" "$(served constructs lowest)" "$(served cdk8s-plus-28 lowest)")
high=("$(served cdk8s highest)" "$(served constructs highest)" "$(served cdk8s-plus-28 highest)")
check "library tarball contents" library_contents
check "typescript user, peers at their lowest" typescript_user lowest "${low[@]}"
check "typescript user, peers at their highest" typescript_user highest "${high[@]}"
check "python user, same objects as typescript" python_user
check "README quick starts, TypeScript and Python" readme_quick_starts
check "canary-watch from its tarball" cli_user
check "npm run synth keeps the packages in dist/" synth_keeps_packages
echo "[consumers] node $node_version"
echo "consumers: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
