#!/usr/bin/env bash
# npm run lint:manifests: every chart the project synthesizes, checked by two third-party manifest
# linters built from their Go modules (scripts/build-linters.sh; cached by version outside the repo):
#  - kube-score v1.20.0 with .kube-score.conf (its flags, each switched-off check with its reason);
#  - trivy v0.74.0 `trivy config`, its embedded Kubernetes checks, with .trivyignore.yaml (each
#    ignored check with its reason in `statement`).
# The charts, synthesized from the current sources into a temporary folder:
#  - demo-canary, demo-blue-green, demo-ab-testing: main.ts with STRATEGY=<strategy>;
#  - example-shop, example-demo: examples/typescript (the user's chart, and the demo's objects that
#    examples/python/app.py also builds: examples/run.sh checks the two are identical, object for object);
#  - readme-quickstart: the README's TypeScript quick start as it stands.
# The examples import 'cdk8s-canary': here that name resolves to lib/ (a shim on NODE_PATH).
# Prints each finding, then `manifest-lint: N passed, M failed` (N, M: chart x linter runs); exits
# non-zero on any finding. `--keep` keeps the temporary folder and prints where it is.
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
keep=false; [[ "${1:-}" == --keep ]] && keep=true

declare -A bin
while read -r name version path; do bin[$name]="$path"; echo "[lint] $name $version"; done \
  < <(bash scripts/build-linters.sh) || true
if [[ -z "${bin[kube-score]:-}" || -z "${bin[trivy]:-}" || ! -x "${bin[kube-score]}" || ! -x "${bin[trivy]}" ]]; then
  echo "manifest-lint: 0 passed, 1 failed (scripts/build-linters.sh did not build the linters)"; exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/cdk8s-canary-lint.XXXXXX")"
if $keep; then echo "[lint] keeping $work"; else trap 'rm -rf "$work"' EXIT; fi
passed=0 failed=0

# --- synthesis ---------------------------------------------------------------------------------------
mkdir -p "$work/node_modules/cdk8s-canary" "$work/charts"
echo '{"name":"cdk8s-canary","main":"index.js"}' > "$work/node_modules/cdk8s-canary/package.json"
echo "module.exports = require($(node -p 'JSON.stringify(process.argv[1])' "$repo/lib"));" \
  > "$work/node_modules/cdk8s-canary/index.js"
node_path="$work/node_modules:$repo/node_modules"
tsnode() { NODE_PATH="$node_path" node --require tsx/cjs "$@"; }

synth_failed() { # synth_failed <chart> <log>: a chart that does not synthesize fails both linters
  echo "FAIL $1: synthesis failed"; sed 's/^/     /' "$2" | tail -n 20
  failed=$((failed + 2))
}
charts=()
for strategy in canary blue-green ab-testing; do
  name="demo-$strategy"
  if CDK8S_OUTDIR="$work/charts/$name" STRATEGY="$strategy" tsnode main.ts >"$work/$name.log" 2>&1; then charts+=("$name")
  else synth_failed "$name" "$work/$name.log"; fi
done
if (cd "$work" && tsnode "$repo/examples/typescript/src/main.ts" "$work/example") >"$work/example.log" 2>&1; then
  mv "$work/example/shop" "$work/charts/example-shop" && mv "$work/example/demo" "$work/charts/example-demo"
  charts+=(example-shop example-demo)
else
  synth_failed example-shop "$work/example.log"; synth_failed example-demo "$work/example.log"
fi
mkdir -p "$work/quickstart"
if node examples/readme-block.js '### Quick start in TypeScript' > "$work/quickstart/main.ts" \
  && (cd "$work/quickstart" && tsnode main.ts) >"$work/quickstart.log" 2>&1; then
  mv "$work/quickstart/dist" "$work/charts/readme-quickstart"; charts+=(readme-quickstart)
else
  synth_failed readme-quickstart "$work/quickstart.log"
fi

# --- the linters -------------------------------------------------------------------------------------
# .kube-score.conf: one flag a line; a check switched off must say why after '#'.
ks_flags=()
while IFS= read -r line; do
  flag="${line%%#*}"; flag="$(echo "$flag" | xargs)"
  [[ -z "$flag" ]] && continue
  if [[ "$flag" == --ignore-test* && "$line" != *"#"?* ]]; then
    echo "manifest-lint: 0 passed, 1 failed (.kube-score.conf: '$flag' has no reason)"; exit 1
  fi
  read -r -a words <<<"$flag"; ks_flags+=("${words[@]}")
done < .kube-score.conf
# .trivyignore.yaml: every ignored check carries a statement.
if ! node -e '
  const entries = require("yaml").parse(require("fs").readFileSync(".trivyignore.yaml", "utf8")).misconfigurations ?? [];
  const bare = entries.filter((e) => !e.statement || !String(e.statement).trim());
  if (bare.length) { console.log(bare.map((e) => e.id).join(", ")); process.exit(1); }'; then
  echo "manifest-lint: 0 passed, 1 failed (.trivyignore.yaml: an entry has no statement)"; exit 1
fi

# How each linter sees the chart's kinds. kube-score decodes only the kinds of its parser (v1.20.0
# parser/parse.go) and skips every other one without a word: custom resources (Canary, MetricTemplate,
# the Linkerd policy), and RBAC and Namespaces too. Trivy reads every document as a Kubernetes object;
# its checks select kinds, so on a custom resource only the kind-independent ones run (namespace,
# deprecated apiVersion), never one on its spec.
kinds_note() { # kinds_note <dir> kube-score|trivy
  node -e '
    const fs = require("fs"), path = require("path"), { parseAllDocuments } = require("yaml");
    const [dir, linter] = process.argv.slice(1);
    const scored = new Set(["Pod", "Job", "CronJob", "Deployment", "StatefulSet", "DaemonSet", "NetworkPolicy",
      "Service", "PodDisruptionBudget", "Ingress", "HorizontalPodAutoscaler"]);
    const builtIn = new Set(["v1", "apps/v1", "batch/v1", "autoscaling/v2", "policy/v1", "networking.k8s.io/v1",
      "rbac.authorization.k8s.io/v1"]);
    const objects = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml")).flatMap((f) =>
      parseAllDocuments(fs.readFileSync(path.join(dir, f), "utf8")).map((d) => d.toJS()).filter(Boolean));
    const kinds = (keep) => [...new Set(objects.filter(keep).map((o) => o.kind))].sort().join(", ") || "none";
    console.log(linter === "kube-score"
      ? `${objects.length} objects; not scored: ${kinds((o) => !scored.has(o.kind))}`
      : `${objects.length} objects; custom resources, kind-independent checks only: ${kinds((o) => !builtIn.has(o.apiVersion))}`);' "$1" "$2"
}

kube_score() { # kube_score <dir>: findings on stdout, one a line; non-zero if kube-score itself failed
  local out code=0
  out="$("${bin[kube-score]}" score -o ci "${ks_flags[@]}" "$1"/*.yaml 2>&1)" || code=$?
  grep -E '^\[(CRITICAL|WARNING)\]' <<<"$out"
  # kube-score exits 1 on a critical finding; any other failure (a parse error) is reported whole.
  if [[ $code -ne 0 ]] && ! grep -qE '^\[CRITICAL\]' <<<"$out"; then echo "kube-score failed ($code): $out"; return 1; fi
  return 0
}

trivy_config() { # trivy_config <dir>: findings on stdout, one a line; then "checks: <n> passed"
  local json="$work/trivy-$(basename "$1").json"
  "${bin[trivy]}" config --quiet --skip-check-update --cache-dir "$work/trivy-cache" \
    --ignorefile .trivyignore.yaml --include-non-failures --format json --output "$json" "$1" || return 1
  node -e '
    const report = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    let ok = 0;
    for (const r of report.Results ?? []) for (const m of r.Misconfigurations ?? []) {
      if (m.Status === "PASS") { ok++; continue; }
      const at = m.CauseMetadata?.StartLine ? `:${m.CauseMetadata.StartLine}` : "";
      console.log(`[${m.Severity}] ${r.Target}${at} ${m.ID} ${m.Message}`);
    }
    console.log(`checks: ${ok} passed`);' "$json"
}

run() { # run <chart> <linter> <function> <note>
  local chart=$1 linter=$2 fn=$3 note=$4 out code=0
  out="$("$fn" "$work/charts/$chart")" || code=$?
  local summary; summary="$(grep -E '^checks: ' <<<"$out")"
  local findings; findings="$(grep -vE '^checks: ' <<<"$out" | sed '/^$/d')"
  if [[ $code -eq 0 && -z "$findings" ]]; then
    passed=$((passed + 1)); echo "ok   $chart x $linter (${summary:+$summary; }$note)"
  else
    failed=$((failed + 1)); echo "FAIL $chart x $linter ($(wc -l <<<"$findings") findings; $note)"
    sed 's/^/     /' <<<"$findings"
  fi
}

for chart in "${charts[@]}"; do
  run "$chart" kube-score kube_score "$(kinds_note "$work/charts/$chart" kube-score)"
  run "$chart" trivy trivy_config "$(kinds_note "$work/charts/$chart" trivy)"
done
echo "manifest-lint: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
