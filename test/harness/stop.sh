#!/usr/bin/env bash
# Stops what test/harness/start.sh started, each by the pid in its pid file
# (SIGTERM, up to 30 s, then SIGKILL), after stopping LXD's instances. Processes this
# harness did not start are never touched. Keeps keys, Docker's data and LXD's state
# for a fast next start; `stop.sh --clean` also removes the whole harness directory
# and the sswtest account start.sh created.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

clean=0
for arg in "$@"; do
  case "$arg" in
    --clean) clean=1 ;;
    -h | --help) sed -n '2,6p' "$0"; exit 0 ;;
    *) die "unknown argument: $arg (usage: stop.sh [--clean])" ;;
  esac
done

DIR="$HARNESS_DIR"
export LXD_DIR="$DIR/lxd" LXD_CONF="$DIR/lxc-conf"
export INCUS_DIR="$DIR/incus" INCUS_CONF="$DIR/incus-conf"

if [[ ! -d "$DIR" ]]; then
  log "harness: nothing to stop ($DIR does not exist)"
  exit 0
fi

exec 9>"$DIR/.lock"
flock -w 300 9 || die "another start.sh/stop.sh holds $DIR/.lock"

# Tests read env.json to find the harness: without it they fail loudly instead of
# talking to stopped services.
rm -f "$DIR/env.json"

status=0

# LXD and Incus first: stop their instances while the daemons still answer (when they are ours).
stop_instances() { # SERVICE CLI
  local svc="$1" cli="$2" running
  svc_pid "$svc" >/dev/null || return 0
  command -v "$cli" >/dev/null 2>&1 || return 0
  running="$(timeout 30 "$cli" list --all-projects --format csv -c n,s 2>/dev/null | awk -F, '$2=="RUNNING"{print $1}' || true)"
  [[ -n "$running" ]] || return 0
  log "$svc: stopping instances: $(tr '\n' ' ' <<<"$running")"
  timeout 120 "$cli" stop --all --force >/dev/null 2>&1 \
    || warn "$svc: could not stop every instance ($cli stop --all --force)"
}
stop_instances lxd lxc
stop_instances incus incus

# Stop in parallel; each waits for its own process.
pids=()
for svc in "${HARNESS_SERVICES[@]}"; do
  pidfile="$(svc_pidfile "$svc")"
  if pid="$(svc_pid "$svc")"; then
    (svc_stop "$svc" "$pid") &
    pids+=("$!")
  elif [[ -f "$pidfile" ]]; then
    log "$svc was not running (stale pid file removed)"
  fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done

for svc in "${HARNESS_SERVICES[@]}"; do
  pidfile="$(svc_pidfile "$svc")"
  if svc_pid "$svc" >/dev/null; then
    warn "$svc is still running; keeping $pidfile"
    status=1
  else
    rm -f "$pidfile"
  fi
done

# LXD and Incus leave their bridges' dnsmasq running when the daemon stops (by design, for
# restarts); each records its pid under its networks/ directory: ours to stop.
for daemon in lxd incus; do
  for f in "$DIR"/$daemon/networks/*/dnsmasq.pid; do
    [[ -f "$f" ]] || continue
    dpid="$(awk '$1 == "pid:" {print $2}' "$f")"
    [[ "$dpid" =~ ^[0-9]+$ ]] || continue
    stop_pid "dnsmasq ($daemon $(basename "$(dirname "$f")"))" "$dpid" "--dhcp-leasefile=$DIR/$daemon/networks/" || status=1
  done
done

# dockerd normally stops the containerd it started; if dockerd died hard, that
# containerd is still recorded under our exec-root and is ours to stop.
cpidfile="$DIR/docker/exec/containerd/containerd.pid"
if cpid="$(pidfile_ours "$cpidfile" "$DIR/docker/exec/containerd")"; then
  stop_pid containerd "$cpid" "$DIR/docker/exec/containerd" || status=1
fi

if ((clean)); then
  if ((status != 0)); then
    die "not removing $DIR: something is still running"
  fi
  # The unprivileged test user start.sh created for "not enough privileges" tests.
  if id -u sswtest >/dev/null 2>&1 && [[ "$(getent passwd sswtest | cut -d: -f6)" == /nonexistent ]]; then
    userdel sswtest || true
  fi
  # Instances' and Docker's mounts (if any are left) would make rm fail or recurse
  # into them: unmount whatever is mounted below the harness dir first.
  if command -v findmnt >/dev/null 2>&1; then
    { findmnt -rn -o TARGET | grep -F "$DIR/" || true; } | sort -r | while read -r m; do
      umount -l "$m" 2>/dev/null || true
    done
  fi
  rm -rf "$DIR"
  log "harness: removed $DIR"
fi

exit "$status"
