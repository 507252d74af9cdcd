#!/usr/bin/env bash
# uv and a Python 3.11 for the project's venv, on a fresh machine (used by the Makefile).
#   install VERSION DEST   put uv VERSION at DEST: its wheel from PyPI, sha256 checked
#                          against the index, the binary unzipped (no pip, no venv module)
#   python SPEC UV         print the path of a Python 3.11 (SPEC: a command or path, e.g.
#                          python3.11); when there is none, uv installs one (needs its
#                          download host, or UV_PYTHON_INSTALL_MIRROR), else, as root on
#                          Debian/Ubuntu, apt-get installs the `python3.11` package
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
CREWLINE_LOG_TAG=uv

: "${CREWLINE_PYPI_SIMPLE:=https://pypi.org/simple}"   # a PEP 503 index (a mirror works too)
: "${CREWLINE_DOWNLOADS:=${CREWLINE_REPO_ROOT}/.local/downloads}"
# uv's own interpreters live with the rest of the local state (`make clean` removes them).
: "${UV_PYTHON_INSTALL_DIR:=${CREWLINE_REPO_ROOT}/.local/python}"
export UV_PYTHON_INSTALL_DIR

fetch() { # fetch URL FILE
  if command -v curl >/dev/null 2>&1; then curl -fsSL --retry 3 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then wget -q -O "$2" "$1"
  else crewline_die "neither curl nor wget found (Debian: apt-get install curl)"; fi
}

wheel_tag() {
  case "$(uname -m)" in
    x86_64 | amd64) echo manylinux_2_17_x86_64 ;;
    aarch64 | arm64) echo manylinux_2_17_aarch64 ;;
    *) crewline_die "no uv wheel known for $(uname -m); install uv yourself and link it at the destination" ;;
  esac
}

# The wheel's URL and sha256 (URL#sha256=HEX), as the index lists it.
wheel_link() {
  local version="$1" index tag link
  tag="$(wheel_tag)"
  index="$(mktemp)"
  fetch "${CREWLINE_PYPI_SIMPLE}/uv/" "$index" || crewline_die "cannot read ${CREWLINE_PYPI_SIMPLE}/uv/"
  link="$(grep -o "href=\"[^\"]*/uv-${version}-py3-none-${tag}\.[^\"]*\.whl#sha256=[0-9a-f]\{64\}\"" "$index" \
    | head -n1 | sed -e 's/^href="//' -e 's/"$//' -e 's/&amp;/\&/g' || true)"
  rm -f "$index"
  [[ -n "$link" ]] || crewline_die "uv ${version} (${tag}) is not on ${CREWLINE_PYPI_SIMPLE}/uv/"
  echo "$link"
}

# unzip_member WHEEL MEMBER DEST: one file out of a zip, with whatever the machine has.
unzip_member() {
  local py
  if command -v unzip >/dev/null 2>&1; then unzip -p "$1" "$2" >"$3"; return; fi
  for py in python3 python3.11 python3.12 python3.13 python; do
    if command -v "$py" >/dev/null 2>&1; then
      "$py" -c 'import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)' "$1" "$2" "$3"
      return
    fi
  done
  crewline_die "cannot unzip the uv wheel: no unzip and no python3 (Debian: apt-get install unzip)"
}

install_uv() {
  local version="$1" dest="$2" link url sha wheel
  link="$(wheel_link "$version")"
  url="${link%%#*}" sha="${link##*#sha256=}"
  wheel="${CREWLINE_DOWNLOADS}/${url##*/}"
  mkdir -p "$CREWLINE_DOWNLOADS" "$(dirname "$dest")"
  if ! echo "${sha}  ${wheel}" | sha256sum -c --status 2>/dev/null; then
    crewline_log "downloading ${url##*/}"
    fetch "$url" "${wheel}.part"
    echo "${sha}  ${wheel}.part" | sha256sum -c --status \
      || { rm -f "${wheel}.part"; crewline_die "${url##*/}: sha256 differs from the index's ${sha}"; }
    mv "${wheel}.part" "$wheel"
  fi
  unzip_member "$wheel" "uv-${version}.data/scripts/uv" "${dest}.part"
  chmod 0755 "${dest}.part"
  mv "${dest}.part" "$dest"
  "$dest" --version | grep -qF "uv ${version}" || crewline_die "$dest is not uv ${version}"
  crewline_log "$("$dest" --version) at $dest (sha256 ${sha:0:12}... checked)"
}

# is_311 CMD -> prints CMD's absolute interpreter path when it runs and is CPython 3.11.
is_311() {
  command -v "$1" >/dev/null 2>&1 || return 1
  "$1" -c 'import sys; assert sys.version_info[:2] == (3, 11); print(sys.executable)' 2>/dev/null
}

find_python() {
  local spec="$1" uv="$2" found
  if found="$(is_311 "$spec")"; then echo "$found"; return; fi
  if found="$("$uv" python find --no-project 3.11 2>/dev/null)" && is_311 "$found" >/dev/null; then
    echo "$found"; return
  fi
  crewline_log "no Python 3.11 (${spec}); asking uv to install one"
  if UV_PYTHON_DOWNLOADS=manual "$uv" python install 3.11 >&2 \
    && found="$("$uv" python find --no-project 3.11 2>/dev/null)"; then
    echo "$found"; return
  fi
  if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    crewline_log "uv could not download one; installing the Debian 'python3.11' package"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.11 >/dev/null \
      || crewline_die "apt-get could not install python3.11"
    if found="$(is_311 python3.11)"; then echo "$found"; return; fi
  fi
  crewline_die "no Python 3.11: install it (Debian: 'apt-get install python3.11'; the venv
module is not needed), or let uv download one (UV_PYTHON_INSTALL_MIRROR), or set PYTHON_BIN"
}

case "${1:-}" in
  install) install_uv "$2" "$3" ;;
  python) find_python "${2:-python3.11}" "$3" ;;
  *) echo "usage: $0 install VERSION DEST | python SPEC UV" >&2; exit 2 ;;
esac
