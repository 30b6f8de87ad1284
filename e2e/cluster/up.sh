#!/usr/bin/env bash
# up.sh: starts the e2e stack on loopback (kine, kube-apiserver, controller manager, scheduler,
# kwok with one node, Prometheus, Flagger), installs the project's CRDs and waits for readiness.
# The API server's connections to pods (service/pod proxy) go through the stack's egress proxy
# (egress-proxy.ts), which maps kwok's pod IPs to the loopback processes standing in for them.
# On any failure it names the component, prints its last log lines and tears everything down.
# Environment (all optional):
#   CLUSTER_METRICS_SERVER   Prometheus URL for Flagger; when set, no Prometheus is started
#                            (nor its stand-in Service linkerd-viz/prometheus).
#   CLUSTER_PROMETHEUS_CONFIG  config file for the stack's Prometheus (default: scrapes itself).
#   CLUSTER_PORT_BASE        first port of the block the stack uses (default 36400).
#   CLUSTER_PROMETHEUS_IP    loopback address of the stack's Prometheus (default 127.0.90.1).
#   CLUSTER_FLAGGER_ARGS     extra Flagger flags (space separated).
#   CLUSTER_EMULATED_NAMESPACES  namespaces whose pods kwok only starts, the data-plane emulator
#                            being their kubelet (space separated; default testapi). Elsewhere
#                            kwok makes pods Running and Ready without running anything.
set -Eeuo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
source "$here/versions.env"
source "$here/lib/paths.sh"
source "$here/lib/proc.sh"
source "$here/lib/certs.sh"
source "$here/lib/netns.sh"
enter_stack_netns bash "${BASH_SOURCE[0]}" "$@"
started=$SECONDS

# A live stack is reused; a dead or half-dead one is cleared first.
if [[ -f "$STATE_POINTER" ]]; then
  STATE="$(cat "$STATE_POINTER")"
  if [[ -f "$STATE/ready" ]] && all_components_alive; then
    echo "[cluster] already up: $STATE (source $STATE/env)"
    exit 0
  fi
  echo "[cluster] clearing a stale stack at $STATE"
  bash "$here/down.sh"
fi

K8S_BIN="$(bin_dir kubernetes "$K8S_VERSION")"
KINE_BIN="$(bin_dir kine "$KINE_VERSION")"
KWOK_BIN="$(bin_dir kwok "$KWOK_VERSION")"
FLAGGER_BIN="$(bin_dir flagger "$FLAGGER_VERSION")"
for d in "$K8S_BIN" "$KINE_BIN" "$KWOK_BIN" "$FLAGGER_BIN"; do
  [[ -f "$d/.ok" ]] || { echo "[cluster] missing binaries in $d: run npm run cluster:build" >&2; exit 1; }
done

base=${CLUSTER_PORT_BASE:-36400}
KINE_PORT=$((base + 1)) KINE_METRICS_PORT=$((base + 2)) APISERVER_PORT=$((base + 43))
CM_PORT=$((base + 57)) SCHED_PORT=$((base + 59)) FLAGGER_PORT=$((base + 80))
PROM_IP=${CLUSTER_PROMETHEUS_IP:-127.0.90.1} PROM_PORT=9090
read -ra emulated <<<"${CLUSTER_EMULATED_NAMESPACES:-testapi}"
for n in "${emulated[@]}"; do
  [[ "$n" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || { echo "[cluster] FAILED: CLUSTER_EMULATED_NAMESPACES: $n is no namespace name" >&2; exit 1; }
done
EMULATED_NAMESPACES="${emulated[*]}"
ports=("$KINE_PORT" "$KINE_METRICS_PORT" "$APISERVER_PORT" "$CM_PORT" "$SCHED_PORT" "$FLAGGER_PORT")
for p in "${ports[@]}"; do
  ! port_open 127.0.0.1 "$p" || { echo "[cluster] FAILED: port $p on 127.0.0.1 is in use (set CLUSTER_PORT_BASE)" >&2; exit 1; }
done

mkdir -p "$(dirname "$STATE_POINTER")"
STATE="$(mktemp -d "${TMPDIR:-/tmp}/cdk8s-canary-e2e/stack.XXXXXX")"
echo "$STATE" >"$STATE_POINTER"
fail() { echo "[cluster] tearing down after failure" >&2; bash "$here/down.sh" >&2; exit 1; }
trap 'fail' ERR
trap 'echo "[cluster] interrupted" >&2; bash "$here/down.sh" >&2; exit 130' INT TERM
echo "[cluster] state in $STATE"

APISERVER_URL="https://127.0.0.1:$APISERVER_PORT"
KUBECONFIG_FILE="$STATE/kubeconfig"
HOSTS_FILE="$STATE/hosts"
EGRESS_SOCKET="$STATE/egress.sock" EGRESS_ROUTES="$STATE/egress-routes"
# A Unix socket path holds at most 107 bytes (sun_path).
((${#EGRESS_SOCKET} <= 107)) || { echo "[cluster] FAILED: $EGRESS_SOCKET is too long for a Unix socket (shorter TMPDIR)" >&2; false; }
METRICS_SERVER="${CLUSTER_METRICS_SERVER:-http://prometheus.linkerd-viz:$PROM_PORT}"
kubectl() { "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" "$@"; }

make_pki "$STATE/pki"
make_kubeconfig "$STATE/pki" admin "$APISERVER_URL" "$KUBECONFIG_FILE"
make_kubeconfig "$STATE/pki" controller-manager "$APISERVER_URL" "$STATE/controller-manager.kubeconfig"
make_kubeconfig "$STATE/pki" scheduler "$APISERVER_URL" "$STATE/scheduler.kubeconfig"
{
  echo '# Hosts file seen by Flagger and other "in-cluster" processes (append in place: >>).'
  echo '127.0.0.1 localhost'
  echo '::1 localhost ip6-localhost'
  echo '127.0.0.1 kubernetes.default.svc kubernetes.default kubernetes'
  [[ -n "${CLUSTER_METRICS_SERVER:-}" ]] || echo "$PROM_IP prometheus.linkerd-viz prometheus.linkerd-viz.svc"
} >"$HOSTS_FILE"
cat >"$STATE/env" <<ENV
# Source this file to talk to the e2e stack.
export CLUSTER_STATE=$STATE
export KUBECONFIG=$KUBECONFIG_FILE
export CLUSTER_APISERVER=$APISERVER_URL
export CLUSTER_HOSTS_FILE=$HOSTS_FILE
export CLUSTER_METRICS_SERVER=$METRICS_SERVER
export CLUSTER_KUBECTL=$K8S_BIN/kubectl
export CLUSTER_BIN_KUBERNETES=$K8S_BIN
export CLUSTER_BIN_FLAGGER=$FLAGGER_BIN
export CLUSTER_BIN_KWOK=$KWOK_BIN
export CLUSTER_BIN_KINE=$KINE_BIN
export CLUSTER_PORTS="${ports[*]}"
export CLUSTER_EGRESS_SOCKET=$EGRESS_SOCKET
export CLUSTER_EGRESS_ROUTES=$EGRESS_ROUTES
export CLUSTER_EMULATED_NAMESPACES="$EMULATED_NAMESPACES"
ENV
# The API server's `cluster` egress (proxy subresources, kubelet connections): HTTP CONNECT
# <pod ip>:<port> over the egress proxy's socket, instead of dialling kwok's invented pod IPs.
cat >"$STATE/egress-selector.yaml" <<YAML
apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds:
        udsName: $EGRESS_SOCKET
YAML

step() { echo "[cluster] $(printf '%4ss' $((SECONDS - started))) $*"; }

step "kine $KINE_VERSION (SQLite) on 127.0.0.1:$KINE_PORT"
start_component kine "$KINE_BIN/kine" --listen-address "127.0.0.1:$KINE_PORT" \
  --metrics-bind-address "127.0.0.1:$KINE_METRICS_PORT" \
  --endpoint "sqlite://$STATE/kine.db?_journal_mode=WAL&_busy_timeout=30000&_synchronous=NORMAL&_txlock=immediate&cache=shared"
wait_for kine 30 port_open 127.0.0.1 "$KINE_PORT"

pki="$STATE/pki"
step "kube-apiserver $K8S_VERSION on $APISERVER_URL"
start_component kube-apiserver "$K8S_BIN/kube-apiserver" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
  --etcd-servers "http://127.0.0.1:$KINE_PORT" \
  --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --client-ca-file "$pki/ca.crt" \
  --requestheader-client-ca-file "$pki/ca.crt" --requestheader-allowed-names front-proxy-client \
  --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
  --requestheader-extra-headers-prefix X-Remote-Extra- \
  --proxy-client-cert-file "$pki/front-proxy-client.crt" --proxy-client-key-file "$pki/front-proxy-client.key" \
  --service-account-issuer https://kubernetes.default.svc \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --service-cluster-ip-range 10.96.0.0/16 \
  --authorization-mode Node,RBAC \
  --enable-admission-plugins NodeRestriction,PodSecurity \
  --endpoint-reconciler-type none --allow-privileged=true \
  --egress-selector-config-file "$STATE/egress-selector.yaml" \
  --profiling=false --v 1
# --endpoint-reconciler-type none: the kubernetes Service's Endpoints may not hold a loopback IP.
wait_for kube-apiserver 120 curl -sf --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "$APISERVER_URL/readyz"

step "egress proxy on $EGRESS_SOCKET (ready checked at the end: it loads in a few seconds)"
# The API server dials the socket per connection: starting it after the API server is fine.
mkdir -p "$EGRESS_ROUTES"
tsx_cjs="$(cd "$repo" && node -p 'require.resolve("tsx/cjs")')" # from any working folder
start_component egress node --require "$tsx_cjs" "$here/egress-proxy.ts" \
  --kubeconfig "$KUBECONFIG_FILE" --socket "$EGRESS_SOCKET" --routes "$EGRESS_ROUTES"

step "kube-controller-manager on 127.0.0.1:$CM_PORT"
start_component kube-controller-manager "$K8S_BIN/kube-controller-manager" \
  --kubeconfig "$STATE/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$STATE/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$STATE/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$CM_PORT" --leader-elect=false \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --use-service-account-credentials=true --controllers '*,-nodeipam,-cloud-node-lifecycle' \
  --profiling=false --v 1
wait_for kube-controller-manager 60 curl -skf "https://127.0.0.1:$CM_PORT/healthz"

step "kube-scheduler on 127.0.0.1:$SCHED_PORT"
start_component kube-scheduler "$K8S_BIN/kube-scheduler" \
  --kubeconfig "$STATE/scheduler.kubeconfig" \
  --authentication-kubeconfig "$STATE/scheduler.kubeconfig" \
  --authorization-kubeconfig "$STATE/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$SCHED_PORT" --leader-elect=false \
  --profiling=false --v 1
wait_for kube-scheduler 60 curl -skf "https://127.0.0.1:$SCHED_PORT/healthz"

step "kwok $KWOK_VERSION and node kwok-node-0 (emulated namespaces: $EMULATED_NAMESPACES)"
kubectl apply -f "$here/node.yaml" >/dev/null
# kwok's stock stages, but its pod-ready is replaced by ours (stages/): in the emulated namespaces
# kwok only starts a pod and the data-plane emulator is its kubelet (status, readiness, restarts).
mkdir -p "$STATE/stages"
for f in "$here"/stages/*.yaml; do
  sed "s/\[testapi\] # EMULATED_NAMESPACES/[${EMULATED_NAMESPACES// /, }]/" "$f" >"$STATE/stages/$(basename "$f")"
done
stages=()
for f in "$KWOK_BIN"/stages/*.yaml; do [[ "$(basename "$f")" == pod-ready.yaml ]] || stages+=(--config "$f"); done
for f in "$STATE"/stages/*.yaml; do stages+=(--config "$f"); done
start_component kwok "$KWOK_BIN/kwok" --kubeconfig "$KUBECONFIG_FILE" "${stages[@]}" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
  --node-ip 127.0.0.1 --cidr 10.244.0.0/24 --node-lease-duration-seconds 40
wait_for kwok 60 kubectl wait --for condition=Ready node/kwok-node-0 --timeout 2s

step "CRDs from imports/crds"
# (kubectl warns about OpenAPI formats it does not know in the upstream schemas: noise.)
kubectl apply --server-side -f "$repo/imports/crds/" 2>&1 >/dev/null | { grep -v 'unrecognized format' || true; } >&2
kubectl wait --for condition=Established crd --all --timeout 60s >/dev/null

if [[ -z "${CLUSTER_METRICS_SERVER:-}" ]]; then
  step "Prometheus on $PROM_IP:$PROM_PORT (prometheus.linkerd-viz)"
  prom_config="${CLUSTER_PROMETHEUS_CONFIG:-$STATE/prometheus.yml}"
  [[ -n "${CLUSTER_PROMETHEUS_CONFIG:-}" ]] || printf '%s\n' 'global: {scrape_interval: 5s}' \
    'scrape_configs:' "- {job_name: prometheus, static_configs: [{targets: ['$PROM_IP:$PROM_PORT']}]}" >"$prom_config"
  ! port_open "$PROM_IP" "$PROM_PORT" || { echo "[cluster] FAILED: $PROM_IP:$PROM_PORT in use" >&2; false; }
  start_component prometheus "$here/with-hosts.sh" "$HOSTS_FILE" prometheus \
    --config.file "$prom_config" --web.listen-address "$PROM_IP:$PROM_PORT" \
    --storage.tsdb.path "$STATE/prometheus" --storage.tsdb.retention.time 2h --web.enable-lifecycle
  wait_for prometheus 60 curl -sf "http://$PROM_IP:$PROM_PORT/-/ready"
  # In the cluster too, as linkerd-viz has it (Deployment + Service prometheus:9090), so that the
  # API server's service proxy reaches it: its kwok pod stands for the process above.
  kubectl apply -f "$here/prometheus-service.yaml" >/dev/null
  printf '{"services": {"linkerd-viz/prometheus:%s": "%s:%s"}}\n' "$PROM_PORT" "$PROM_IP" "$PROM_PORT" >"$EGRESS_ROUTES/stack.json"
  kubectl -n linkerd-viz rollout status deployment/prometheus --timeout 60s >/dev/null
fi

step "Flagger $FLAGGER_VERSION (metrics server $METRICS_SERVER)"
# shellcheck disable=SC2086
start_component flagger "$here/with-hosts.sh" "$HOSTS_FILE" "$FLAGGER_BIN/flagger" \
  -kubeconfig "$KUBECONFIG_FILE" -mesh-provider gatewayapi:v1beta1 \
  -metrics-server "$METRICS_SERVER" -log-level info -enable-leader-election=false \
  -port "$FLAGGER_PORT" ${CLUSTER_FLAGGER_ARGS:-}
wait_for flagger 60 grep -q 'Started operator workers' "$STATE/logs/flagger.log"

wait_for egress 30 curl -sf --unix-socket "$EGRESS_SOCKET" http://egress/healthz
touch "$STATE/ready"
trap - ERR INT TERM
step "stack ready in $((SECONDS - started))s; state: $STATE"
echo "[cluster] use it with: source $STATE/env   (kubectl: \$CLUSTER_KUBECTL)"
