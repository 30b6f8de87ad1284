#!/usr/bin/env bash
# Regenerates the typed classes in imports/ from the CRDs in imports/crds/.
# Offline and reproducible: only local files are read; cdk8s-cli is pinned in package.json.
# Usage: imports/import.sh [output-dir]   (default: imports; tests regenerate into a temp dir and compare)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-imports}"

crds=(
  imports/crds/flagger-v1.44.0.yaml                  # -> imports/flagger.app.ts
  imports/crds/gateway-api-v1.1.1-httproutes.yaml    # -> imports/gateway.networking.k8s.io.ts
  imports/crds/linkerd-smi-v0.2.7-trafficsplit.yaml  # -> imports/split.smi-spec.io.ts
  imports/crds/linkerd-policy-edge-26.8.3.yaml       # -> imports/policy.linkerd.io.ts
)

# One spec per run: cdk8s-cli 2.207 only imports the first positional spec.
# --no-save keeps cdk8s.yaml as written (it lists the same specs for `cdk8s import`).
for crd in "${crds[@]}"; do
  npx --no-install cdk8s import --no-check-upgrade --no-save --language typescript --output "$out" "$crd"
done
