#!/usr/bin/env bash
# Docker images the tests deploy as a deployment's services, made here (no registry is
# reachable): the management machine's Docker (the harness dockerd) holds them, and ssw
# copies them into instances in air-gapped mode.
#
#   app-images.sh build    make the tarballs unless cached (install.sh)
#   app-images.sh load     load them into the harness dockerd unless present (start.sh)
#
# ssw-test-nginx:1     the reverse proxy: Debian's nginx-light in a debootstrap rootfs.
# ssw-test-standin:1   stands in for Ghost, Nextcloud, Gitea, the nostr relay and their
#                      databases: Debian's static busybox answering HTTP on each app's port
#                      (2368, 80, 3000, 8080, 3306) with a page naming the container and its
#                      url, plus the commands the real images' health checks call (node,
#                      curl, mysqladmin, healthcheck.sh) as small busybox scripts.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

CACHE_DIR="${SSW_CACHE_DIR:-/var/cache/ssw-test}/app-images"
SUITE=bookworm
MIRROR="${SSW_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
NGINX_IMAGE=ssw-test-nginx:1
STANDIN_IMAGE=ssw-test-standin:1
# Bump when the build steps below change what an image holds.
IMAGES_VERSION=2
KEY="$(printf '%s\n' "$IMAGES_VERSION" "$SUITE" | sha256sum | cut -c1-12)"
NGINX_TAR="$CACHE_DIR/nginx-$KEY.tar"
STANDIN_TAR="$CACHE_DIR/standin-$KEY.tar"

build_nginx() {
  [[ -s "$NGINX_TAR" ]] && { log "harness: $NGINX_IMAGE cached"; return 0; }
  work="$(mktemp -d "$CACHE_DIR/build.XXXXXX")"
  trap 'rm -rf --one-file-system "$work"' EXIT
  log "harness: building $NGINX_IMAGE with debootstrap"
  debootstrap --variant=minbase --include=nginx-light "$SUITE" "$work/rootfs" "$MIRROR" >"$work/log" 2>&1 \
    || { tail -n 20 "$work/log" >&2; die "debootstrap of the nginx image failed"; }
  rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/* "$work"/rootfs/usr/share/doc/* "$work"/rootfs/usr/share/man/*
  tar -C "$work/rootfs" --numeric-owner -cf "$work/image.tar" .
  mv "$work/image.tar" "$NGINX_TAR"
  rm -rf --one-file-system "$work"
  trap - EXIT
}

build_standin() {
  [[ -s "$STANDIN_TAR" ]] && { log "harness: $STANDIN_IMAGE cached"; return 0; }
  [[ -x /bin/busybox ]] || die "/bin/busybox is missing (install.sh installs busybox-static)"
  work="$(mktemp -d "$CACHE_DIR/build.XXXXXX")"
  trap 'rm -rf --one-file-system "$work"' EXIT
  local r="$work/rootfs"
  mkdir -p "$r"/{bin,usr/bin,usr/local/bin,www,tmp,etc}
  cp /bin/busybox "$r/bin/busybox"
  ln -s busybox "$r/bin/sh"
  printf 'root:x:0:0:root:/:/bin/sh\n' >"$r/etc/passwd"
  cat >"$r/bin/standin" <<'EOF'
#!/bin/sh
# A page per path the proxy may ask for: / and the path of $url (Ghost's /<lang>/).
name="${STANDIN_NAME:-$(hostname)}"
page="ssw stand-in: $name url=${url:-none}"
echo "$page" >/www/index.html
path="${url#https://*/}"
if [ "$path" != "${url:-}" ] && [ -n "$path" ]; then mkdir -p "/www/$path"; echo "$page" >"/www/$path/index.html"; fi
for port in 2368 80 3000 8080 3306; do /bin/busybox httpd -p "$port" -h /www; done
exec /bin/busybox sleep 2147483647
EOF
  # What the real images' health checks run, answered by asking the stand-in itself.
  printf '#!/bin/sh\nexec /bin/busybox wget -q -O /dev/null http://127.0.0.1:2368/\n' >"$r/usr/local/bin/node"
  # curl URL: asks the same host and port for / (the stand-in serves no other paths).
  printf '#!/bin/sh\nfor a in "$@"; do u="$a"; done\nexec /bin/busybox wget -q -O /dev/null "$(echo "$u" | /bin/busybox sed "s#^\\(http://[^/]*\\).*#\\1/#")"\n' >"$r/usr/bin/curl"
  printf '#!/bin/sh\nexec /bin/busybox wget -q -O /dev/null http://127.0.0.1:3306/\n' >"$r/usr/bin/mysqladmin"
  cp "$r/usr/bin/mysqladmin" "$r/usr/local/bin/healthcheck.sh"
  chmod 755 "$r/bin/standin" "$r/usr/local/bin/node" "$r/usr/bin/curl" "$r/usr/bin/mysqladmin" "$r/usr/local/bin/healthcheck.sh"
  for applet in hostname mkdir wget sleep cat echo ls; do ln -s /bin/busybox "$r/bin/$applet"; done
  tar -C "$r" --numeric-owner -cf "$work/image.tar" .
  mv "$work/image.tar" "$STANDIN_TAR"
  rm -rf --one-file-system "$work"
  trap - EXIT
}

build() {
  mkdir -p "$CACHE_DIR"
  [[ "$(id -u)" == 0 ]] || die "building the test images needs root (debootstrap)"
  build_nginx
  build_standin
  find "$CACHE_DIR" -maxdepth 1 -name '*.tar' ! -name "*-$KEY.tar" -delete
}

load() {
  local docker=(docker -H "unix://$HARNESS_DIR/docker/docker.sock")
  local want
  for pair in "$NGINX_IMAGE|$NGINX_TAR|[\"nginx\",\"-g\",\"daemon off;\"]" "$STANDIN_IMAGE|$STANDIN_TAR|[\"/bin/standin\"]"; do
    IFS='|' read -r image tar cmd <<<"$pair"
    [[ -s "$tar" ]] || die "no image tarball at $tar (run install.sh)"
    want="ssw.tarball=$(basename "$tar")"
    if [[ "$("${docker[@]}" image inspect -f '{{index .Config.Labels "ssw.tarball"}}' "$image" 2>/dev/null || true)" == "${want#ssw.tarball=}" ]]; then
      continue
    fi
    "${docker[@]}" import --change "CMD $cmd" --change "LABEL $want" "$tar" "$image" >/dev/null || die "docker import of $image failed"
  done
  log "harness: images $NGINX_IMAGE and $STANDIN_IMAGE in the harness Docker"
}

case "${1:-}" in
  build) build ;;
  load) load ;;
  *) die "usage: app-images.sh build|load" ;;
esac
