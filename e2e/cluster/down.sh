#!/usr/bin/env bash
# down.sh: stops every process of the current e2e stack (newest first) and removes its state.
# Harmless when nothing is up. CLUSTER_KEEP_STATE=1 keeps the state folder (logs) for a look.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib/paths.sh"
source "$here/lib/proc.sh"
source "$here/lib/netns.sh"
if [[ ! -f "$STATE_POINTER" ]]; then
  echo "[cluster] nothing is up"
  exit 0
fi
# Inside the namespace, so that the port checks below look at the stack's loopback.
enter_stack_netns bash "${BASH_SOURCE[0]}" "$@"
STATE="$(cat "$STATE_POINTER")"
stop_all
# Every port of the stack must be free again (a leftover listener means an orphan).
ports="$(sed -n 's/^export CLUSTER_PORTS="\(.*\)"$/\1/p' "$STATE/env" 2>/dev/null || true)"
for p in $ports; do
  if port_open 127.0.0.1 "$p"; then echo "[cluster] WARNING: port $p still in use after teardown" >&2; fi
done
if [[ "${CLUSTER_KEEP_STATE:-}" == 1 ]]; then
  echo "[cluster] down; state kept in $STATE"
else
  case "$STATE" in */cdk8s-canary-e2e/stack.*) rm -rf "$STATE" ;; esac
  echo "[cluster] down"
fi
rm -f "$STATE_POINTER"
