#!/usr/bin/env bash
# Builds (or reuses) every binary of the e2e stack at the versions pinned in versions.env.
# Binaries land in $CACHE/bin/<name>-<version>/; a folder holding a .ok stamp is reused as is.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
source "$here/lib/paths.sh"

export GOFLAGS="${GOFLAGS:-} -trimpath -buildvcs=false -p=2"
export CGO_ENABLED=1
total_start=$SECONDS

# build_once <name> <version> <command...>: runs the command with $out set unless already cached.
build_once() {
  local name=$1 version=$2; shift 2
  out="$(bin_dir "$name" "$version")"
  if [[ -f "$out/.ok" ]]; then
    echo "[build] skip  $name $version (cached in $out)"
    return 0
  fi
  echo "[build] build $name $version -> $out"
  local start=$SECONDS
  rm -rf "$out"; mkdir -p "$out"
  "$@"
  touch "$out/.ok"
  echo "[build] done  $name $version in $((SECONDS - start))s"
}

build_kubernetes() {
  local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local ld="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  (cd "$here/k8s" && for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    local s=$SECONDS
    go build -ldflags "$ld" -o "$out/$cmd" "k8s.io/kubernetes/cmd/$cmd"
    echo "[build]   $cmd in $((SECONDS - s))s"
  done)
}

go_install() { GOBIN="$out" go install -ldflags "-s -w" "$@"; }

# kwok >= 0.8 needs stage configs (how fake pods and nodes change state); they ship in its module.
build_kwok_with_stages() {
  go_install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  local mod; mod="$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')"
  # Fast stages: nodes become Ready at once, pods go Running/Ready without a container runtime.
  mkdir -p "$out/stages"
  local f
  for f in node/fast/node-initialize node/heartbeat/node-heartbeat \
    pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
    cp "$mod/kustomize/stage/$f.yaml" "$out/stages/"
  done
  chmod -R u+w "$out/stages"
}

build_once kubernetes "$K8S_VERSION" build_kubernetes
build_once kine "$KINE_VERSION" go_install "github.com/k3s-io/kine@$KINE_VERSION"
build_once kwok "$KWOK_VERSION" build_kwok_with_stages
build_once flagger "$FLAGGER_VERSION" go_install \
  "github.com/fluxcd/flagger/cmd/flagger@$FLAGGER_VERSION" "github.com/fluxcd/flagger/cmd/loadtester@$FLAGGER_VERSION"

# Debian packages: prometheus for the metrics, hey for the load tester's load tests, curl for its
# acceptance tests (`bash` webhooks).
missing=()
command -v prometheus >/dev/null || missing+=(prometheus)
command -v hey >/dev/null || missing+=(hey)
command -v curl >/dev/null || missing+=(curl)
if ((${#missing[@]})); then
  echo "[build] apt-get install ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "[build] skip  apt packages (prometheus, hey, curl present)"
fi
echo "[build] all done in $((SECONDS - total_start))s"
