#!/usr/bin/env bash
# Prints the path of Prometheus's promtool (checks and unit-tests alert rules),
# installing Debian's 'prometheus' package (without recommends) when it is missing
# and we are root, as postgres.sh does for PostgreSQL. Nothing is started.
# Usage: deploy/local/promtool.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=deploy/local/env.sh
source "${HERE}/env.sh"
CREWLINE_LOG_TAG=prometheus

if ! command -v promtool >/dev/null 2>&1; then
  if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    crewline_log "promtool not found; installing the Debian 'prometheus' package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
  fi
fi
command -v promtool >/dev/null 2>&1 \
  || crewline_die "promtool not found. Install it (Debian: 'sudo apt-get install prometheus')."
command -v promtool
