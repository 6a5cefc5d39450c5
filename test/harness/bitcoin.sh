#!/usr/bin/env bash
# The harness's Bitcoin parts, made here (no registry but the Go module proxy is reachable):
#
#   bitcoin.sh build   btcd + btcctl from the Go module proxy, the ssw-bitcoind wrapper and the
#                      two image tarballs, each unless cached (install.sh; needs go)
#   bitcoin.sh load    the images into the harness dockerd unless present (start.sh)
#   bitcoin.sh paths   prints the env.json "bitcoin" object (start.sh)
#
# Under ${SSW_CACHE_DIR:-/var/cache/ssw-test}/bitcoin/<BTCD_VERSION>/:
#   bin/btcd, bin/btcctl   static (CGO_ENABLED=0) builds of github.com/btcsuite/btcd, with three
#                          one-line patches (below): a node in a container must serve RPC without
#                          TLS on 0.0.0.0, must sync from a regtest peer that is not 127.0.0.1, and
#                          must keep its regtest chain across restarts (btcd deletes it at start)
#   bin/ssw-bitcoind       the wrapper that makes btcd look like the btcpayserver/bitcoin image to
#                          ssw (POSIX sh: busybox runs it in the image, dash on the host for a miner)
#   bitcoind-KEY.tar       ssw-test-bitcoind:1, busybox + btcd + btcctl + the wrapper; ENTRYPOINT /entrypoint.sh
#   standin-KEY.tar        ssw-test-btcpay-standin:1, busybox answering as NBXplorer, BTCPay Server,
#                          PostgreSQL, Core Lightning or LND: ENTRYPOINT ["/standin-btcpay"], the role from
#                          the container's environment (or a ROLE argument)
#
# The wrapper's data layout (DATA_DIR, default /data; SUB is regtest, testnet3 or '' as bitcoind):
#   SUB/.cookie              __cookie__:<random pass>, mode 0600, new at every start (as bitcoind)
#   SUB/blocks/              btcd's --datadir (btcd adds its network name: blocks/regtest/blocks_ffldb)
#   SUB/chainstate           a relative symlink to btcd's ffldb metadata (its leveldb), or a real
#                            directory when a pre-load brought one: then the metadata is the symlink
#                            (metadata -> ../../../chainstate; btcd and leveldb work through it).
#     Why not always metadata -> chainstate: ffldb takes an existing metadata path for an existing
#     database and fails on an empty one ("write cursor does not exist"), and leveldb cannot create
#     itself through a dangling symlink; so a fresh node lets btcd create the metadata in place.
#     A pre-load copying blocks/ and chainstate/ with symlinks kept (cp -a, tar) reproduces either
#     form; copying them with symlinks followed gives two real copies, and btcd reads the metadata's.
#   SUB/btcd-logs/           btcd's log file (it also logs to stdout)
#   btcd.conf, btcctl.conf   the RPC user and password (0600; btcd reads them, never argv)
#
# Measured on this machine (2 cores): build 68 s cold (empty Go module and build caches: download
# + compile), 5-14 s with the module cache warm, 0.05 s cached. Regtest `generate 2000`: 1.0 s
# (~2000 blocks/s). A second node with connect= on loopback: 4000 blocks in 2.0 s once its RPC is
# up (~2000 blocks/s; 2.4 s from its start), 500 blocks in 0.3 s from its start.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

BTCD_MODULE=github.com/btcsuite/btcd
BTCD_VERSION=v0.24.2
# Bump when the patches or build flags change what the binaries are.
BTCD_BUILD=2
CACHE_DIR="${SSW_CACHE_DIR:-/var/cache/ssw-test}/bitcoin/$BTCD_VERSION"
BIN_DIR="$CACHE_DIR/bin"
BITCOIND_IMAGE=ssw-test-bitcoind:1
STANDIN_IMAGE=ssw-test-btcpay-standin:1

# ------------------------------------------------------------------ the scripts the images run
wrapper_script() {
  cat <<'EOF'
#!/bin/sh
# ssw-bitcoind: btcd dressed as the btcpayserver/bitcoin image (made by test/harness/bitcoin.sh).
#   BITCOIN_NETWORK     regtest (default) | testnet | mainnet
#   BITCOIN_EXTRA_ARGS  bitcoin.conf lines (key=value, one a line); understood: rpcport, port,
#                       bind (IP[:PORT], the P2P listener), connect (repeatable), addnode
#                       (repeatable), txindex; the rest (prune, zmq*, whitelist, rpcbind, ...) ignored
#   DATA_DIR            default /data; RPC_LISTEN_IP default 0.0.0.0; MINING_ADDR -> --miningaddr
#   BTCD                default: btcd beside this script
# Arguments are passed on to btcd. btcd is exec'd: it is PID 1 in a container and stops on SIGTERM.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
btcd="${BTCD:-$here/btcd}"
net="${BITCOIN_NETWORK:-regtest}"
data="${DATA_DIR:-/data}"
case "$net" in
  regtest) sub=regtest; btcnet=regtest; rpcport=18443; port=18444; netflag=--regtest ;;
  testnet) sub=testnet3; btcnet=testnet; rpcport=18332; port=18333; netflag=--testnet ;;
  mainnet) sub=; btcnet=mainnet; rpcport=8332; port=8333; netflag= ;;
  *) echo "ssw-bitcoind: BITCOIN_NETWORK must be regtest, testnet or mainnet, not '$net'" >&2; exit 2 ;;
esac
chain="$data${sub:+/$sub}"
bind=
nl='
'
# Appended to the caller's arguments; a here-document keeps the loop in this shell.
while IFS= read -r line; do
  line=$(printf '%s' "$line" | tr -d '\r' | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
  case "$line" in '' | '#'*) continue ;; esac
  key=${line%%=*}; value=${line#*=}
  case "$key" in
    rpcport) rpcport=$value ;;
    port) port=$value ;;
    bind) bind=$value ;;
    connect) set -- "$@" "--connect=$value" ;;
    addnode) set -- "$@" "--addpeer=$value" ;;
    txindex) [ "$value" = 1 ] && set -- "$@" --txindex ;;
    *) ;;
  esac
done <<ARGS
${BITCOIN_EXTRA_ARGS:-}
ARGS
case "$bind" in
  '') listen="0.0.0.0:$port" ;;
  *:*) listen=$bind ;;
  *) listen="$bind:$port" ;;
esac

mkdir -p "$chain/blocks/$btcnet/blocks_ffldb"
meta="$chain/blocks/$btcnet/blocks_ffldb/metadata"
# See the layout in bitcoin.sh's header: chainstate and the ffldb metadata are one directory.
if [ -d "$chain/chainstate" ] && [ ! -L "$chain/chainstate" ] && [ ! -e "$meta" ] && [ ! -L "$meta" ]; then
  if [ -e "$chain/chainstate/CURRENT" ]; then
    ln -s ../../../chainstate "$meta"
  else
    rmdir "$chain/chainstate"
  fi
fi
[ -e "$chain/chainstate" ] || [ -L "$chain/chainstate" ] || ln -s "blocks/$btcnet/blocks_ffldb/metadata" "$chain/chainstate"

pass=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
umask 077
printf '[Application Options]\nrpcuser=__cookie__\nrpcpass=%s\n' "$pass" >"$data/btcd.conf.tmp"
mv -f "$data/btcd.conf.tmp" "$data/btcd.conf"
printf '[Application Options]\nrpcuser=__cookie__\nrpcpass=%s\nrpcserver=127.0.0.1:%s\nnotls=1\n%s\n' \
  "$pass" "$rpcport" "${netflag#--}${netflag:+=1}" >"$data/btcctl.conf.tmp"
mv -f "$data/btcctl.conf.tmp" "$data/btcctl.conf"
printf '__cookie__:%s' "$pass" >"$chain/.cookie.tmp"
mv -f "$chain/.cookie.tmp" "$chain/.cookie"
umask 022

[ -n "${MINING_ADDR:-}" ] && set -- "$@" "--miningaddr=$MINING_ADDR"
[ -n "$netflag" ] && set -- "$@" "$netflag"
# --utxocachemaxsize: btcd allocates its UTXO cache (250 MiB by default) up front, per node.
exec "$btcd" --configfile="$data/btcd.conf" --datadir="$chain/blocks" --logdir="$chain/btcd-logs" \
  --utxocachemaxsize=50 --notls --rpclisten="${RPC_LISTEN_IP:-0.0.0.0}:$rpcport" --listen="$listen" "$@"
EOF
}

# bitcoin-cli METHOD [PARAMS...] inside the bitcoind image: btcctl with the wrapper's btcctl.conf.
bitcoin_cli_script() {
  cat <<'EOF'
#!/bin/sh
# bitcoin-cli's -options (-datadir, -rpcport, ...) are dropped: btcctl.conf has the node's own.
while [ $# -gt 0 ]; do case "$1" in -*) shift ;; *) break ;; esac; done
exec /usr/local/bin/btcctl -C "${DATA_DIR:-/data}/btcctl.conf" "$@"
EOF
}

standin_script() {
  cat <<'EOF'
#!/bin/sh
# /standin-btcpay [ROLE]: nbxplorer | btcpay | postgres | clightning | lnd. It is the image's ENTRYPOINT, so
# ssw's own specs run on it unchanged: without a known ROLE argument (ssw passes the real images' arguments,
# e.g. postgres's -c options, which are ignored) the role comes from the environment ssw gives each container.
# HTTP and TCP listeners are busybox nc; this shell stays PID 1 and exits on SIGTERM.
role="${STANDIN_ROLE:-}"
case "${1:-}" in nbxplorer | btcpay | postgres | clightning | lnd) role=$1 ;; esac
if [ -z "$role" ]; then
  if [ -n "${NBXPLORER_NETWORK:-}" ]; then role=nbxplorer
  elif [ -n "${BTCPAY_NETWORK:-}" ]; then role=btcpay
  elif [ -n "${LIGHTNINGD_NETWORK:-}" ]; then role=clightning
  elif [ -n "${LND_ENVIRONMENT:-}" ]; then role=lnd
  elif [ -n "${POSTGRES_PASSWORD_FILE:-}${POSTGRES_PASSWORD:-}" ]; then role=postgres
  fi
fi
case "$role" in
  nbxplorer)
    # NBXplorer's signal file, which the Lightning containers wait for (LIGHTNINGD_READY_FILE).
    [ -n "${NBXPLORER_SIGNALFILESDIR:-}" ] && mkdir -p "$NBXPLORER_SIGNALFILESDIR" && touch "$NBXPLORER_SIGNALFILESDIR/btc_fully_synched"
    nc -ll -p 32838 -e /usr/local/lib/standin-http nbxplorer & ;;
  btcpay) nc -ll -p 49392 -e /usr/local/lib/standin-http btcpay & ;;
  postgres)
    # The real entrypoint refuses to start without a password; so does this one.
    if [ -n "${POSTGRES_PASSWORD_FILE:-}" ] && [ ! -s "$POSTGRES_PASSWORD_FILE" ]; then
      echo "standin-btcpay: $POSTGRES_PASSWORD_FILE is empty or unreadable" >&2; exit 1
    fi
    nc -ll -p 5432 -e /bin/true & ;;
  clightning) nc -ll -p 9735 -e /bin/true & ;;
  lnd) nc -ll -p 9735 -e /bin/true & ;;
  *) echo "standin-btcpay: role must be nbxplorer, btcpay, postgres, clightning or lnd, not '$role'" >&2; exit 2 ;;
esac
echo "standin-btcpay: $role ready"
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
EOF
}

lncli_script() {
  cat <<'EOF'
#!/bin/sh
# Fixed answers, as LND's lncli prints them.
method=
for a in "$@"; do
  case "$a" in
    -*) ;;
    getinfo | walletbalance | channelbalance | listchannels) method=$a; break ;;
  esac
done
case "$method" in
  getinfo)
    printf '{"identity_pubkey":"%s","alias":"ssw-standin","num_active_channels":0,"num_peers":0,"block_height":%s,"synced_to_chain":true}\n' \
      03bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb "${STANDIN_BLOCKHEIGHT:-0}" ;;
  walletbalance) echo '{"confirmed_balance":"0","unconfirmed_balance":"0"}' ;;
  channelbalance) echo '{"balance":"0","local_balance":{"sat":"0"}}' ;;
  listchannels) echo '{"channels":[]}' ;;
  *) echo "lncli (ssw stand-in): unknown command" >&2; exit 1 ;;
esac
EOF
}

standin_http_script() {
  cat <<'EOF'
#!/bin/sh
# One HTTP/1.1 exchange on stdin/stdout (nc -e): request line, headers up to the blank line, reply.
read -r method path proto || exit 0
while read -r h; do h=$(printf '%s' "$h" | tr -d '\r'); [ -z "$h" ] && break; done
path=${path%%\?*}
type=application/json
status='200 OK'
case "$1:$path" in
  nbxplorer:/health) body='{"status":"Healthy"}' ;;
  btcpay:/api/v1/health) body='{"synchronized":true}' ;;
  btcpay:/) type=text/html body='<!doctype html><title>BTCPay Server</title><h1>ssw stand-in: BTCPay Server</h1>' ;;
  *) status='404 Not Found' body='{"code":"not-found"}' ;;
esac
printf 'HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
  "$status" "$type" "${#body}" "$body"
EOF
}

lightning_cli_script() {
  cat <<'EOF'
#!/bin/sh
# Fixed answers; the method is the first argument that is neither an --option nor its value.
method=
for a in "$@"; do
  case "$a" in
    -*) ;;
    getinfo | listfunds | listpeers | listchannels) method=$a; break ;;
  esac
done
case "$method" in
  getinfo)
    printf '{"id":"%s","alias":"ssw-standin","num_peers":0,"num_active_channels":0,"blockheight":%s,"network":"%s"}\n' \
      02aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "${STANDIN_BLOCKHEIGHT:-0}" "${BITCOIN_NETWORK:-regtest}" ;;
  listfunds) echo '{"outputs":[],"channels":[]}' ;;
  listpeers) echo '{"peers":[]}' ;;
  listchannels) echo '{"channels":[]}' ;;
  *) echo '{"code":-32601,"message":"Unknown command"}'; exit 1 ;;
esac
EOF
}

pg_isready_script() {
  printf '#!/bin/sh\necho "/var/run/postgresql:5432 - accepting connections"\n'
}

# Cache key of the image tarballs: every script they hold, and the binaries' build.
IMAGES_VERSION=2
KEY="$(
  {
    printf '%s\n' "$IMAGES_VERSION" "$BTCD_VERSION" "$BTCD_BUILD"
    wrapper_script; bitcoin_cli_script; standin_script; standin_http_script; lightning_cli_script; lncli_script; pg_isready_script
  } | sha256sum | cut -c1-12
)"
BITCOIND_TAR="$CACHE_DIR/bitcoind-$KEY.tar"
STANDIN_TAR="$CACHE_DIR/standin-$KEY.tar"

# ------------------------------------------------------------------ build
find_go() {
  command -v go 2>/dev/null && return 0
  [[ -x /usr/local/go/bin/go ]] && { echo /usr/local/go/bin/go; return 0; }
  return 1
}

build_btcd() {
  local stamp="$BIN_DIR/.build"
  if [[ -x "$BIN_DIR/btcd" && -x "$BIN_DIR/btcctl" && "$(cat "$stamp" 2>/dev/null || true)" == "$BTCD_VERSION $BTCD_BUILD" ]]; then
    log "harness: btcd $BTCD_VERSION cached"
    return 0
  fi
  local go
  if ! go="$(find_go)"; then
    # btcd's go.mod asks for Go 1.17: Debian 12's golang-go (1.19) builds it.
    [[ "$(id -u)" == 0 ]] || die "go is missing and we are not root: install Go >= 1.17, then run again"
    log "harness: installing golang-go (to build btcd)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends golang-go >/dev/null \
      || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends golang-go; }
    go="$(find_go)" || die "golang-go installed but no go on PATH"
  fi
  local work t0
  t0=$(date +%s)
  work="$(mktemp -d "$CACHE_DIR/build.XXXXXX")"
  trap 'rm -rf --one-file-system "$work"' EXIT
  export CGO_ENABLED=0 GOFLAGS=-mod=mod HOME="${HOME:-/root}"
  log "harness: building btcd $BTCD_VERSION from the Go module proxy"
  local dir
  dir="$(cd "$work" && "$go" mod download -json "$BTCD_MODULE@$BTCD_VERSION" | jq -r .Dir)"
  [[ -n "$dir" && -f "$dir/go.mod" ]] || die "go mod download $BTCD_MODULE@$BTCD_VERSION failed"
  cp -r "$dir" "$work/src" && chmod -R u+w "$work/src"
  # Patch 1: --notls is refused unless RPC binds to loopback; in a container it must bind 0.0.0.0
  # (the btcpayserver/bitcoin image serves plain-HTTP RPC on every interface).
  patch_once "$work/src/config.go" '"::1":       {},' '"::1": {}, "0.0.0.0": {},'
  # Patch 2: on regtest btcd syncs only from peers at 127.0.0.1; containers reach each other on a bridge.
  patch_once "$work/src/netsync/manager.go" 'if host != "127.0.0.1" && host != "localhost" {' 'if false \&\& host != "127.0.0.1" {'
  # Patch 3: on regtest btcd deletes its database at every start; a restarted (or pre-loaded) node
  # must keep its chain, as bitcoind does.
  patch_once "$work/src/btcd.go" 'removeRegressionDB(dbPath)' '_ = removeRegressionDB'
  (cd "$work/src" && "$go" build -trimpath -ldflags='-s -w' -o "$work/out/" . ./cmd/btcctl) >"$work/log" 2>&1 \
    || { tail -n 20 "$work/log" >&2; die "go build of btcd failed"; }
  mkdir -p "$BIN_DIR"
  mv -f "$work/out/btcd" "$work/out/btcctl" "$BIN_DIR/"
  printf '%s\n' "$BTCD_VERSION $BTCD_BUILD" >"$stamp"
  rm -rf --one-file-system "$work"
  trap - EXIT
  log "harness: btcd $BTCD_VERSION built in $(($(date +%s) - t0)) s"
}

# patch_once FILE OLD NEW: OLD (a fixed string) must occur exactly once; NEW is sed's replacement (\& for &).
patch_once() {
  local n
  n="$(grep -cF -- "$2" "$1" || true)"
  [[ "$n" == 1 ]] || die "patching $1: expected one line with '$2', found $n (new btcd version?)"
  local old
  old="$(printf '%s' "$2" | sed 's/[][\\/.*^$&]/\\&/g')"
  sed -i "s/$old/$3/" "$1"
}

# write_if_changed FILE MODE: stdin to FILE, replaced only when its content differs.
write_if_changed() {
  local f="$1" mode="$2" tmp
  tmp="$(mktemp "$f.XXXXXX")"
  cat >"$tmp"
  chmod "$mode" "$tmp"
  if cmp -s "$tmp" "$f"; then rm -f "$tmp"; else mv -f "$tmp" "$f"; fi
}

write_wrapper() {
  mkdir -p "$BIN_DIR"
  wrapper_script | write_if_changed "$BIN_DIR/ssw-bitcoind" 755
}

# busybox_rootfs DIR: Debian's static busybox with every applet linked in /bin.
busybox_rootfs() {
  local r="$1" applet
  [[ -x /bin/busybox ]] || die "/bin/busybox is missing (install.sh installs busybox-static)"
  mkdir -p "$r"/{bin,usr/bin,usr/local/bin,usr/local/lib,tmp,etc,data}
  chmod 1777 "$r/tmp"
  cp /bin/busybox "$r/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [[ "$applet" == busybox ]] || ln -sf busybox "$r/bin/$applet"
  done
  printf 'root:x:0:0:root:/:/bin/sh\n' >"$r/etc/passwd"
  printf 'root:x:0:\n' >"$r/etc/group"
}

build_bitcoind_image() {
  [[ -s "$BITCOIND_TAR" ]] && { log "harness: $BITCOIND_IMAGE cached"; return 0; }
  local work
  work="$(mktemp -d "$CACHE_DIR/build.XXXXXX")"
  trap 'rm -rf --one-file-system "$work"' EXIT
  local r="$work/rootfs"
  busybox_rootfs "$r"
  cp "$BIN_DIR/btcd" "$BIN_DIR/btcctl" "$r/usr/local/bin/"
  wrapper_script >"$r/usr/local/bin/ssw-bitcoind"
  bitcoin_cli_script >"$r/usr/local/bin/bitcoin-cli"
  # ssw's spec may name bitcoind as the command, as the real image's compose files do.
  ln -s ssw-bitcoind "$r/usr/local/bin/bitcoind"
  printf '#!/bin/sh\nexec /usr/local/bin/ssw-bitcoind "$@"\n' >"$r/entrypoint.sh"
  chmod 755 "$r/usr/local/bin/ssw-bitcoind" "$r/usr/local/bin/bitcoin-cli" "$r/entrypoint.sh"
  tar -C "$r" --numeric-owner -cf "$work/image.tar" .
  mv "$work/image.tar" "$BITCOIND_TAR"
  rm -rf --one-file-system "$work"
  trap - EXIT
}

build_standin_image() {
  [[ -s "$STANDIN_TAR" ]] && { log "harness: $STANDIN_IMAGE cached"; return 0; }
  local work
  work="$(mktemp -d "$CACHE_DIR/build.XXXXXX")"
  trap 'rm -rf --one-file-system "$work"' EXIT
  local r="$work/rootfs"
  busybox_rootfs "$r"
  standin_script >"$r/standin-btcpay"
  standin_http_script >"$r/usr/local/lib/standin-http"
  lightning_cli_script >"$r/usr/local/bin/lightning-cli"
  lncli_script >"$r/usr/local/bin/lncli"
  pg_isready_script >"$r/usr/local/bin/pg_isready"
  chmod 755 "$r/standin-btcpay" "$r/usr/local/lib/standin-http" "$r/usr/local/bin/lightning-cli" "$r/usr/local/bin/lncli" "$r/usr/local/bin/pg_isready"
  tar -C "$r" --numeric-owner -cf "$work/image.tar" .
  mv "$work/image.tar" "$STANDIN_TAR"
  rm -rf --one-file-system "$work"
  trap - EXIT
}

build_images() {
  build_bitcoind_image
  build_standin_image
  find "$CACHE_DIR" -maxdepth 1 -name '*.tar' ! -name "*-$KEY.tar" -delete
}

build() {
  mkdir -p "$CACHE_DIR"
  build_btcd
  write_wrapper
  build_images
}

# ------------------------------------------------------------------ load
load() {
  [[ -x "$BIN_DIR/btcd" && -x "$BIN_DIR/btcctl" ]] || die "no btcd at $BIN_DIR (run install.sh)"
  # The scripts are cheap to remake; a changed bitcoin.sh takes effect without install.sh.
  write_wrapper
  build_images
  local docker=(docker -H "unix://$HARNESS_DIR/docker/docker.sock")
  local pair image tar cmd want
  for pair in "$BITCOIND_IMAGE|$BITCOIND_TAR|[\"/entrypoint.sh\"]" "$STANDIN_IMAGE|$STANDIN_TAR|[\"/standin-btcpay\"]"; do
    IFS='|' read -r image tar cmd <<<"$pair"
    want="$(basename "$tar")"
    if [[ "$("${docker[@]}" image inspect -f '{{index .Config.Labels "ssw.tarball"}}' "$image" 2>/dev/null || true)" == "$want" ]]; then
      continue
    fi
    "${docker[@]}" import --change "ENTRYPOINT $cmd" --change "ENV BITCOIN_NETWORK=regtest" \
      --change "LABEL ssw.tarball=$want" "$tar" "$image" >/dev/null || die "docker import of $image failed"
  done
  log "harness: images $BITCOIND_IMAGE and $STANDIN_IMAGE in the harness Docker"
}

paths() {
  jq -n --arg btcd "$BIN_DIR/btcd" --arg btcctl "$BIN_DIR/btcctl" --arg wrapper "$BIN_DIR/ssw-bitcoind" \
    --arg bitcoind "$BITCOIND_IMAGE" --arg standin "$STANDIN_IMAGE" \
    '{btcd: $btcd, btcctl: $btcctl, wrapper: $wrapper, images: {bitcoind: $bitcoind, standin: $standin}}'
}

case "${1:-}" in
  build) build ;;
  load) load ;;
  paths) paths ;;
  *) die "usage: bitcoin.sh build|load|paths" ;;
esac
