#!/usr/bin/env bash
# Crewline's container image, built with podman from a base made on this machine.
#   build.sh [image]   the base if missing, then the image from the Dockerfile (`make image`)
#   build.sh base      the base only, if missing
# The base is Debian bookworm with Debian's python3.11 and pip (debootstrap, imported as
# ${CREWLINE_IMAGE_BASE}); it is the Dockerfile's PYTHON_IMAGE, so no registry is needed.
# Made once: `podman rmi localhost/crewline-base:bookworm` to make it again. The image
# build needs PyPI (uv, the locked packages, hatchling). Needs root (debootstrap, podman's
# storage); on Debian the tools are installed when missing.
#
# Settings (environment):
#   CREWLINE_IMAGE          the image's tag (localhost/crewline:local)
#   CREWLINE_IMAGE_BASE     the base's tag (localhost/crewline-base:bookworm)
#   CREWLINE_DEBIAN_MIRROR  where debootstrap fetches Debian (http://deb.debian.org/debian)
#   CREWLINE_IMAGE_CA_FILE  a CA bundle the build's downloads trust, mounted for its RUN
#                           steps only (the host's /etc/ssl/certs/ca-certificates.crt, so a
#                           TLS-intercepting proxy the host trusts works; empty: the base's)
#   CONTAINERS_CONF         podman's settings (deploy/image/containers.conf: runc, limits)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=deploy/local/env.sh
source "${HERE}/../local/env.sh"
CREWLINE_LOG_TAG=image

: "${CREWLINE_IMAGE:=localhost/crewline:local}"
: "${CREWLINE_IMAGE_BASE:=localhost/crewline-base:bookworm}"
: "${CREWLINE_DEBIAN_MIRROR:=http://deb.debian.org/debian}"
: "${CREWLINE_IMAGE_CA_FILE=/etc/ssl/certs/ca-certificates.crt}"
: "${CONTAINERS_CONF:=${HERE}/containers.conf}"
export CONTAINERS_CONF

tools() {
  local missing=() tool
  for tool in podman debootstrap runc; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  [[ ${#missing[@]} -eq 0 ]] && return
  if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    crewline_log "installing ${missing[*]} (apt-get)"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
  else
    crewline_die "missing ${missing[*]}: install them (Debian: apt-get install podman debootstrap runc)"
  fi
}

base() {
  if podman image exists "$CREWLINE_IMAGE_BASE"; then
    crewline_log "base ${CREWLINE_IMAGE_BASE} exists"
    return
  fi
  [[ $EUID -eq 0 ]] || crewline_die "debootstrap needs root"
  local work start=$SECONDS
  work="$(mktemp -d)"
  # shellcheck disable=SC2064  # expanded now: the folder of this call
  trap "rm -rf '${work}'" EXIT
  crewline_log "debootstrap bookworm from ${CREWLINE_DEBIAN_MIRROR}"
  debootstrap --variant=minbase --include=python3.11,python3-pip,ca-certificates \
    bookworm "${work}/root" "$CREWLINE_DEBIAN_MIRROR" >"${work}/debootstrap.log" 2>&1 \
    || { tail -n 20 "${work}/debootstrap.log" >&2; crewline_die "debootstrap failed"; }
  # What an image does not use: apt's downloads and lists, documentation, translations.
  rm -rf "${work}/root"/var/cache/apt/* "${work}/root"/var/lib/apt/lists/* \
    "${work}/root"/usr/share/{doc,man,info,locale}
  # pip may install into this interpreter, as into the python image's (Debian marks its
  # own as managed by apt): the Dockerfile installs uv with it.
  rm -f "${work}/root"/usr/lib/python3.*/EXTERNALLY-MANAGED
  tar --numeric-owner -C "${work}/root" --exclude='./dev/*' --exclude='./proc/*' \
    --exclude='./sys/*' -c . \
    | podman import --change 'ENV LANG=C.UTF-8' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["python3.11"]' - "$CREWLINE_IMAGE_BASE" >/dev/null
  rm -rf "$work"
  trap - EXIT
  crewline_log "base ${CREWLINE_IMAGE_BASE} made in $((SECONDS - start)) s"
}

image() {
  local start=$SECONDS mounts=() work
  work="$(mktemp -d)"
  # shellcheck disable=SC2064
  trap "rm -rf '${work}'" EXIT
  if [[ -n "$CREWLINE_IMAGE_CA_FILE" ]]; then
    [[ -r "$CREWLINE_IMAGE_CA_FILE" ]] || crewline_die "CREWLINE_IMAGE_CA_FILE: cannot read ${CREWLINE_IMAGE_CA_FILE}"
    # pip (Debian's) reads the system bundle; uv reads it when told to use system certificates.
    printf 'system-certs = true\n' >"${work}/uv.toml"
    mounts=(--volume "${CREWLINE_IMAGE_CA_FILE}:/etc/ssl/certs/ca-certificates.crt:ro"
            --volume "${work}/uv.toml:/etc/uv/uv.toml:ro")
  fi
  crewline_log "building ${CREWLINE_IMAGE} on ${CREWLINE_IMAGE_BASE}"
  podman build --build-arg "PYTHON_IMAGE=${CREWLINE_IMAGE_BASE}" "${mounts[@]}" \
    --tag "$CREWLINE_IMAGE" --file "${CREWLINE_REPO_ROOT}/Dockerfile" "$CREWLINE_REPO_ROOT"
  rm -rf "$work"
  trap - EXIT
  crewline_log "image ${CREWLINE_IMAGE} built in $((SECONDS - start)) s" \
    "($(podman image inspect --format '{{.Size}}' "$CREWLINE_IMAGE") bytes)"
}

case "${1:-image}" in
  image) tools; base; image ;;
  base) tools; base ;;
  *) echo "usage: $0 [image|base]" >&2; exit 2 ;;
esac
