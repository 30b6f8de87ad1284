#!/usr/bin/env bash
# component.sh: start or stop an extra process under the running stack's ownership, so that
# cluster:down (and a failed cluster:up) stops it with the rest. Usage:
#   component.sh start <name> [--hosts] -- <command...>   log: $CLUSTER_STATE/logs/<name>.log
#   component.sh stop <name>
#   component.sh alive <name>        exit 0 while it runs
#   component.sh state               prints the state folder (source <state>/env)
# --hosts runs the command with the stack's hosts file over /etc/hosts (see with-hosts.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib/paths.sh"
source "$here/lib/proc.sh"
source "$here/lib/netns.sh"
enter_stack_netns bash "${BASH_SOURCE[0]}" "$@"
[[ -f "$STATE_POINTER" ]] || { echo "[cluster] no stack is up (npm run cluster:up)" >&2; exit 3; }
STATE="$(cat "$STATE_POINTER")"
cmd=${1:-}; name=${2:-}
case "$cmd" in
  state) echo "$STATE" ;;
  alive) component_alive "$name" ;;
  stop) stop_component "$name" ;;
  start)
    shift 2
    wrap=()
    if [[ "${1:-}" == --hosts ]]; then wrap=("$here/with-hosts.sh" "$STATE/hosts"); shift; fi
    [[ "${1:-}" == -- ]] && shift
    [[ -n "$name" && $# -gt 0 ]] || { echo "usage: component.sh start <name> [--hosts] -- <command...>" >&2; exit 2; }
    if component_alive "$name"; then echo "[cluster] $name already running" >&2; exit 1; fi
    start_component "$name" "${wrap[@]}" "$@"
    echo "[cluster] started $name (pid $(cat "$STATE/pids/$name"), log $STATE/logs/$name.log)"
    ;;
  *) echo "usage: component.sh start|stop|alive|state ..." >&2; exit 2 ;;
esac
