#!/usr/bin/env bash
# Builds (or reuses) the two third-party manifest linters that scripts/lint-manifests.sh runs, from
# their Go modules at pinned versions, as e2e/cluster/build.sh builds the control plane: each lands in
# $CACHE/bin/<name>-<version>/ (outside the repo, keyed by version; CDK8S_CANARY_CACHE moves it); a
# folder holding a .ok stamp is reused as is. Prints "<name> <version> <binary>" per linter on stdout,
# its progress on stderr.
#  - kube-score (github.com/zegl/kube-score): v1.20.0, the only version the module proxy lists;
#  - trivy (github.com/aquasecurity/trivy), whose `trivy config` runs its built-in Kubernetes checks
#    (trivy-checks, embedded at build time; no download at run time). It stands in for kube-linter:
#    kube-linter's module (golang.stackrox.io/kube-linter) is not served by the module proxy.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../e2e/cluster/lib/paths.sh
source "$here/../e2e/cluster/lib/paths.sh"

KUBE_SCORE_VERSION=v1.20.0
TRIVY_VERSION=v0.74.0

export GOFLAGS="${GOFLAGS:-} -trimpath -buildvcs=false -p=2"
export CGO_ENABLED=0

# build_once <name> <version> <package> <ldflags> [VAR=value...]: go install into the version's
# folder, with the given environment, unless already cached.
build_once() {
  local name=$1 version=$2 pkg=$3 ldflags=$4 out; shift 4
  out="$(bin_dir "$name" "$version")"
  if [[ -f "$out/.ok" ]]; then
    echo "[linters] skip  $name $version (cached in $out)" >&2
  else
    echo "[linters] build $name $version -> $out" >&2
    local start=$SECONDS
    rm -rf "$out"; mkdir -p "$out"
    env "$@" GOBIN="$out" go install -ldflags "-s -w $ldflags" "$pkg@$version" >&2
    touch "$out/.ok"
    echo "[linters] done  $name $version in $((SECONDS - start))s" >&2
  fi
  echo "$name $version $out/${pkg##*/}"
}

build_once kube-score "$KUBE_SCORE_VERSION" github.com/zegl/kube-score/cmd/kube-score \
  "-X main.version=$KUBE_SCORE_VERSION"
# Trivy imports encoding/json/v2, behind GOEXPERIMENT=jsonv2 on Go 1.26 (its release builds set it).
build_once trivy "$TRIVY_VERSION" github.com/aquasecurity/trivy/cmd/trivy \
  "-X github.com/aquasecurity/trivy/pkg/version/app.ver=$TRIVY_VERSION" GOEXPERIMENT=jsonv2
