# Process ownership for the e2e stack (sourced). Every component runs in its own process
# group (setsid), its pid is kept in $STATE/pids/<name>, its output in $STATE/logs/<name>.log,
# and $STATE/components lists start order so teardown runs in reverse.

# start_component <name> <command...>
start_component() {
  local name=$1; shift
  mkdir -p "$STATE/pids" "$STATE/logs"
  # Non-interactive bash puts background jobs in its own group, so setsid needs no fork
  # and $! is the new group's leader.
  setsid "$@" >>"$STATE/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$STATE/pids/$name"
  echo "$name" >>"$STATE/components"
}

component_alive() {
  local pidf="$STATE/pids/$1" stat
  [[ -f "$pidf" ]] || return 1
  stat="$(ps -o stat= -p "$(cat "$pidf")" 2>/dev/null)" || return 1
  [[ "$stat" != Z* ]] # an exited leader waiting for init to reap it is dead too
}

# group_alive <pgid>: a member of the process group still runs (zombies awaiting reaping do not count).
group_alive() {
  ps -eo pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'
}

# stop_component <name>: TERM the whole group, KILL after 10 s.
stop_component() {
  local name=$1 pidf="$STATE/pids/$1" pid i
  [[ -f "$pidf" ]] || return 0
  pid=$(cat "$pidf")
  if group_alive "$pid"; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      group_alive "$pid" || break
      sleep 0.1
    done
    if group_alive "$pid"; then
      echo "[cluster] $name did not stop on TERM, killing" >&2
      kill -KILL -- "-$pid" 2>/dev/null || true
      sleep 0.2
    fi
  fi
  rm -f "$pidf"
}

# stop_all: every component this state folder owns, newest first.
stop_all() {
  [[ -f "$STATE/components" ]] || return 0
  local name
  for name in $(tac "$STATE/components" | awk '!seen[$0]++'); do
    stop_component "$name"
  done
  rm -f "$STATE/components"
}

# log_tail <name> [lines]
log_tail() {
  echo "----- last lines of $STATE/logs/$1.log -----" >&2
  tail -n "${2:-40}" "$STATE/logs/$1.log" >&2 2>/dev/null || echo "(no log)" >&2
  echo "-----" >&2
}

# wait_for <name> <timeout s> <probe command...>: polls the probe while the component lives.
# On timeout or death it names the component, shows its log and returns 1.
wait_for() {
  local name=$1 timeout=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ! component_alive "$name"; then
      echo "[cluster] FAILED: $name exited while starting" >&2
      log_tail "$name"; return 1
    fi
    if ((SECONDS >= deadline)); then
      echo "[cluster] FAILED: $name not ready after ${timeout}s" >&2
      log_tail "$name"; return 1
    fi
    sleep 0.5
  done
}

# port_open <ip> <port>: something accepts TCP connections there.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

all_components_alive() {
  [[ -f "$STATE/components" ]] || return 1
  local name
  for name in $(awk '!seen[$0]++' "$STATE/components"); do
    # No pid file: stopped on purpose (component.sh stop); a crashed one keeps its pid file.
    [[ ! -f "$STATE/pids/$name" ]] || component_alive "$name" || return 1
  done
}
