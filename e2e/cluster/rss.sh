#!/usr/bin/env bash
# rss.sh [interval s]: prints the summed RSS (MiB) of the current stack's processes (all members
# of their process groups); with an interval, samples until the stack is gone and prints the peak.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib/paths.sh"
sum_rss() {
  local state pgids
  state="$(cat "$STATE_POINTER" 2>/dev/null)" || return 1
  pgids="$(cat "$state"/pids/* 2>/dev/null | paste -sd, -)"
  [[ -n "$pgids" ]] || return 1
  ps -eo pgid=,rss= | awk -v g="$pgids" 'BEGIN{n=split(g,a,",");for(i=1;i<=n;i++)w[a[i]]=1} ($1 in w){s+=$2} END{printf "%d\n", s/1024}'
}
if [[ -z "${1:-}" ]]; then sum_rss; exit; fi
peak=0
while now="$(sum_rss)"; do
  ((now > peak)) && peak=$now
  sleep "$1"
done
echo "[e2e] peak stack RSS ${peak} MiB"
