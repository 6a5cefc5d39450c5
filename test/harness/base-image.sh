#!/usr/bin/env bash
# The test hosts' base image: a Debian rootfs made with debootstrap, packed as an
# LXD unified image tarball. Instances of deployments in the tests are system
# containers made from it (VMs do not run on these machines).
#
#   base-image.sh build    make the tarball unless the cache has it (install.sh)
#   base-image.sh import [lxd|incus]   import it into the harness LXD or Incus as "ssw-test-base" (start.sh)
#
# What the image has is what a Sovereign Stack instance needs and what ss's
# cloud-init would install (so ssw's base-image step finds nothing missing and
# needs no network): openssh-server, docker.io, duplicity, certbot, rsync, curl,
# jq, ca-certificates, plus systemd-networkd taking an address by DHCP on every
# en*/eth* interface, and a user "ubuntu" with passwordless sudo (ss's login).
# It has no SSH host keys: each instance makes its own at first boot, so the key
# ssw pins for one instance is that instance's alone.
#
# The tarball is cached under $SSW_CACHE_DIR (default /var/cache/ssw-test), keyed
# by the image's version and package list: a fresh machine builds it once (about a minute from
# deb.debian.org), later runs reuse it.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

CACHE_DIR="${SSW_CACHE_DIR:-/var/cache/ssw-test}"
ALIAS=ssw-test-base
SUITE=bookworm
MIRROR="${SSW_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# debootstrap installs only the core (its own dependency ordering trips over python3
# packages); apt in the chroot installs the rest.
CORE=systemd,systemd-sysv,udev,dbus,iproute2,ca-certificates
PACKAGES=(openssh-server sudo docker.io duplicity certbot rsync curl jq procps less)
# Bump IMAGE_VERSION when the build steps below change what the image holds.
IMAGE_VERSION=2
KEY="$(printf '%s\n' "$IMAGE_VERSION" "$SUITE" "$CORE" "${PACKAGES[*]}" | sha256sum | cut -c1-12)"
TARBALL="$CACHE_DIR/base-image/ssw-test-base-$KEY.tar"

build() {
  if [[ -s "$TARBALL" ]]; then
    log "harness: base image cached ($TARBALL)"
    return 0
  fi
  [[ "$(id -u)" == 0 ]] || die "building the base image needs root (debootstrap)"
  command -v debootstrap >/dev/null || die "debootstrap is missing (install.sh installs it)"
  mkdir -p "$CACHE_DIR/base-image"
  # work is global, not local: the EXIT trap runs after build() has returned.
  work="$(mktemp -d "$CACHE_DIR/base-image/build.XXXXXX")"
  # A failed build leaves nothing behind; the rootfs holds mounts only while debootstrap runs.
  trap 'umount "$work/rootfs/proc" 2>/dev/null || true; rm -rf --one-file-system "$work"' EXIT
  log "harness: building the base image with debootstrap ($SUITE from $MIRROR)"
  debootstrap --variant=minbase --include="$CORE" "$SUITE" "$work/rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" "$work/rootfs/debootstrap/debootstrap.log" >&2 || true; die "debootstrap failed (log above)"; }
  local r="$work/rootfs"
  # Package scripts must not start daemons in the chroot.
  printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
  chmod 755 "$r/usr/sbin/policy-rc.d"
  mount -t proc proc "$r/proc"
  chroot "$r" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >"$work/apt.log" 2>&1 \
    || { tail -n 30 "$work/apt.log" >&2; die "apt-get install in the base image failed (log above)"; }
  chroot "$r" apt-get clean
  umount "$r/proc"
  rm -f "$r/usr/sbin/policy-rc.d"

  # Network: DHCP on every Ethernet interface (the profile names them enp5s0/enp6s0).
  mkdir -p "$r/etc/systemd/network"
  cat >"$r/etc/systemd/network/10-ssw-dhcp.network" <<'EOF'
[Match]
Name=en* eth*

[Network]
DHCP=ipv4
EOF
  chroot "$r" systemctl enable systemd-networkd.service >/dev/null 2>&1
  chroot "$r" systemctl enable ssh.service >/dev/null 2>&1

  # Host keys: none in the image; made at first boot, before sshd starts.
  rm -f "$r"/etc/ssh/ssh_host_*
  cat >"$r/etc/systemd/system/ssh-host-keys.service" <<'EOF'
[Unit]
Description=Make this instance's own SSH host keys
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
EOF
  chroot "$r" systemctl enable ssh-host-keys.service >/dev/null 2>&1

  # ss's login user.
  chroot "$r" useradd --create-home --shell /bin/bash --groups sudo,docker ubuntu
  printf 'ubuntu ALL=(ALL) NOPASSWD:ALL\n' >"$r/etc/sudoers.d/90-ubuntu"
  chmod 0440 "$r/etc/sudoers.d/90-ubuntu"

  # Smaller and quieter: no package caches or docs, no first-boot machine-id clash.
  rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* "$r"/usr/share/doc/* "$r"/usr/share/man/*
  : >"$r/etc/machine-id"
  rm -f "$r/var/lib/dbus/machine-id"

  mkdir -p "$work/templates"
  printf '{{ container.name }}\n' >"$work/templates/hostname.tpl"
  # The instance's own name resolves without DNS (sudo looks it up on every call).
  printf '127.0.0.1 localhost\n127.0.1.1 {{ container.name }}\n::1 localhost ip6-localhost ip6-loopback\n' >"$work/templates/hosts.tpl"
  cat >"$work/metadata.yaml" <<EOF
architecture: $(uname -m)
creation_date: $(date +%s)
properties:
  description: ssw test base image (Debian $SUITE, debootstrap)
  os: debian
  release: $SUITE
templates:
  /etc/hostname:
    when: [create, copy]
    template: hostname.tpl
  /etc/hosts:
    when: [create, copy]
    template: hosts.tpl
EOF
  tar -C "$work" --numeric-owner -cf "$work/image.tar" metadata.yaml templates rootfs
  mv "$work/image.tar" "$TARBALL"
  # Older builds of this image are of no further use.
  find "$CACHE_DIR/base-image" -maxdepth 1 -name 'ssw-test-base-*.tar' ! -name "$(basename "$TARBALL")" -delete
  log "harness: base image built ($(du -h "$TARBALL" | cut -f1))"
}

# import [lxd|incus]: into the harness LXD (default) or the harness Incus; same tarball, same alias.
import() {
  [[ -s "$TARBALL" ]] || die "no base image tarball at $TARBALL (run install.sh)"
  local cli=lxc
  if [[ "${1:-lxd}" == incus ]]; then
    export INCUS_DIR="$HARNESS_DIR/incus" INCUS_CONF="$HARNESS_DIR/incus-conf"
    cli=incus
  else
    export LXD_DIR="$HARNESS_DIR/lxd" LXD_CONF="$HARNESS_DIR/lxc-conf"
  fi
  local want have
  want="$(sha256sum "$TARBALL" | cut -d' ' -f1)"
  have="$("$cli" query "/1.0/images/aliases/$ALIAS" 2>/dev/null | jq -r '.target // empty' || true)"
  if [[ "$have" == "$want" ]]; then
    log "harness: base image $ALIAS imported into ${1:-lxd} (${want:0:12})"
    return 0
  fi
  [[ -n "$have" ]] && "$cli" image delete "$have" >/dev/null
  "$cli" image import "$TARBALL" --alias "$ALIAS" >/dev/null || die "$cli image import $TARBALL failed"
  log "harness: base image $ALIAS imported into ${1:-lxd} (${want:0:12})"
}

case "${1:-}" in
  build) build ;;
  import) import "${2:-lxd}" ;;
  path) printf '%s\n' "$TARBALL" ;;
  *) die "usage: base-image.sh build|import [lxd|incus]|path" ;;
esac
