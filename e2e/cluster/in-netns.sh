#!/usr/bin/env bash
# in-netns.sh <command...>: runs a command in the stack's network namespace (see lib/netns.sh),
# e.g. `npm run cluster:exec -- bash -c 'source "$(cat /tmp/cdk8s-canary-e2e/current)/env" && $CLUSTER_KUBECTL get pods -A'`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib/netns.sh"
[[ $# -gt 0 ]] || { echo "usage: in-netns.sh <command...>" >&2; exit 2; }
enter_stack_netns "$@"
exec "$@"
