#!/usr/bin/env bash
# Crewline local PostgreSQL: a throwaway cluster on 127.0.0.1 under $CREWLINE_HOME/pg.
# Usage: deploy/local/postgres.sh up|down|restart [--kill]|purge|status|pids|logs [-f]
#   restart  stops the server (pg_ctl -m fast; --kill: -m immediate, a crash that the next
#            start recovers from) and starts it again, waiting until it takes connections
#   purge    down, then delete the cluster and the stack's record (env.sh)
#   pids     "postgres 1 POSTMASTER_PID -" while it runs (the format of services.sh pids)
set -euo pipefail

# shellcheck source=deploy/local/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
CREWLINE_LOG_TAG=postgres

# Every ancestor of PATH lets "others" through (what the unprivileged postgres user needs).
others_can_reach() {
  local d="$1" perm
  while [[ "$d" != / && "$d" != . && -n "$d" ]]; do
    if [[ -e "$d" ]]; then
      perm="$(stat -c %A "$d")"
      [[ "${perm:9:1}" == [xt] ]] || return 1
    fi
    d="$(dirname "$d")"
  done
}

PG_DIR="${CREWLINE_HOME}/pg"
# As root, postgres runs as ${CREWLINE_PG_OS_USER}; when the checkout sits under a
# private directory (e.g. /root), keep the cluster in /var/tmp instead, at a path
# derived from CREWLINE_HOME so that up, down and status all find the same one.
if [[ "$(id -u)" -eq 0 && -z "${CREWLINE_PG_DIR:-}" ]] && ! others_can_reach "$CREWLINE_HOME"; then
  PG_DIR="/var/tmp/crewline-pg-$(printf '%s' "$CREWLINE_HOME" | md5sum | cut -c1-12)"
fi
PG_DIR="${CREWLINE_PG_DIR:-$PG_DIR}"
PG_LOG="${CREWLINE_HOME}/log/postgres.log"
[[ "$PG_DIR" == "${CREWLINE_HOME}/pg" ]] || PG_LOG="${PG_DIR}/postgres.log"
PG_DATA="${PG_DIR}/data"
PG_DBS=("${CREWLINE_DISPATCHER_PG_DB}" "${CREWLINE_MATCHER_PG_DB}" "${CREWLINE_LEDGER_PG_DB}"
  "${CREWLINE_QUALITY_PG_DB}")
ADDR="${CREWLINE_PG_HOST}:${CREWLINE_PG_PORT}"

# --- locating the server binaries -------------------------------------------

find_bindir() {
  if [[ -n "${CREWLINE_PG_BINDIR:-}" ]]; then
    [[ -x "${CREWLINE_PG_BINDIR}/pg_ctl" ]] || crewline_die "CREWLINE_PG_BINDIR=${CREWLINE_PG_BINDIR} has no pg_ctl"
    printf '%s\n' "${CREWLINE_PG_BINDIR}"; return 0
  fi
  local p d
  if p="$(command -v pg_ctl 2>/dev/null)"; then
    d="$(dirname "$(readlink -f "$p")")"
    if [[ -x "$d/initdb" && -x "$d/postgres" ]]; then printf '%s\n' "$d"; return 0; fi
  fi
  d="$(printf '%s\n' /usr/lib/postgresql/*/bin | grep -v '\*' | sort -t/ -k5,5n | tail -n1 || true)"
  if [[ -n "$d" && -x "$d/pg_ctl" && -x "$d/initdb" && -x "$d/postgres" ]]; then
    printf '%s\n' "$d"; return 0
  fi
  return 1
}

ensure_bindir() {
  if BINDIR="$(find_bindir)"; then return 0; fi
  if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    crewline_log "PostgreSQL server not found; installing the Debian 'postgresql' package"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    BINDIR="$(find_bindir)" || crewline_die "installed 'postgresql' but still cannot find pg_ctl/initdb/postgres"
    return 0
  fi
  crewline_die "PostgreSQL server binaries (pg_ctl, initdb, postgres) not found on PATH nor in /usr/lib/postgresql/*/bin.
Install them (Debian: 'sudo apt-get install postgresql') or set CREWLINE_PG_BINDIR=/path/to/bin."
}

client() { # client NAME -> path of a client tool, preferring the server's bindir
  if [[ -x "${BINDIR}/$1" ]]; then printf '%s\n' "${BINDIR}/$1"
  elif command -v "$1" >/dev/null 2>&1; then command -v "$1"
  else crewline_die "$1 not found"; fi
}

# --- running as an unprivileged user when we are root ------------------------

IS_ROOT=0; [[ "$(id -u)" -eq 0 ]] && IS_ROOT=1

ensure_os_user() {
  ((IS_ROOT)) || return 0
  local u="${CREWLINE_PG_OS_USER}"
  if ! id -u "$u" >/dev/null 2>&1; then
    command -v useradd >/dev/null 2>&1 || crewline_die "running as root and user '$u' does not exist; cannot create it (no useradd)"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin --comment "Crewline local PostgreSQL" "$u" >/dev/null 2>&1 \
      || id -u "$u" >/dev/null 2>&1 \
      || crewline_die "could not create system user '$u' (set CREWLINE_PG_OS_USER to an existing non-root user)"
  fi
  [[ "$(id -u "$u")" -ne 0 ]] || crewline_die "CREWLINE_PG_OS_USER=$u is root; PostgreSQL refuses to run as root"
}

# as_pg CMD...: run CMD as the PostgreSQL OS user (ourselves unless we are root),
# from a directory that user can enter, without leaking our lock fd (9) to the server.
as_pg() {
  if ((IS_ROOT)); then
    local u="${CREWLINE_PG_OS_USER}"
    if command -v runuser >/dev/null 2>&1; then
      (cd "$PG_DIR" && exec 9>&- && runuser -u "$u" -- "$@")
    elif command -v setpriv >/dev/null 2>&1; then
      local uid gid; uid="$(id -u "$u")"; gid="$(id -g "$u")"
      (cd "$PG_DIR" && exec 9>&- && setpriv --reuid="$uid" --regid="$gid" --init-groups -- "$@")
    else
      (cd "$PG_DIR" && exec 9>&- && su -s /bin/sh "$u" -c "$(printf '%q ' "$@")")
    fi
  else
    (cd "$PG_DIR" && exec 9>&- && "$@")
  fi
}

prepare_dirs() {
  mkdir -p "$PG_DIR" "$(dirname "$PG_LOG")"
  touch "$PG_LOG"
  if ((IS_ROOT)); then
    local u="${CREWLINE_PG_OS_USER}" g
    g="$(id -gn "$u")"
    # Only what the account does not own yet: a running server's own files are its own,
    # and its temporary ones (pg_internal.init) may vanish under a recursive chown.
    find "$PG_DIR" -ignore_readdir_race ! -user "$u" -exec chown -h "$u:$g" {} +
    chown "$u:$g" "$PG_LOG"
    as_pg test -w "$PG_DIR" 2>/dev/null || crewline_die "user '$u' cannot reach ${PG_DIR} (a parent directory is not traversable, e.g. under /root).
Set CREWLINE_HOME to a path readable by '$u', or CREWLINE_PG_OS_USER to a user who can reach it."
  fi
  chmod 700 "$PG_DIR"
}

# --- cluster -------------------------------------------------------------------

sock_dir_setting() {
  # Unix socket paths are limited to ~107 bytes; disable the socket if ours would be too long.
  local s="${PG_DIR}/.s.PGSQL.${CREWLINE_PG_PORT}"
  if ((${#s} > 100)); then printf "''"; else printf "'%s'" "$PG_DIR"; fi
}

write_config() {
  cat >"${PG_DATA}/crewline.conf" <<EOF
# Managed by deploy/local/postgres.sh; rewritten on every 'up'.
listen_addresses = '${CREWLINE_PG_HOST}'
port = ${CREWLINE_PG_PORT}
unix_socket_directories = $(sock_dir_setting)
max_connections = ${CREWLINE_PG_MAX_CONNECTIONS}
shared_buffers = 128MB
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_min_duration_statement = -1
EOF
  cat >"${PG_DATA}/pg_hba.conf" <<EOF
# Managed by deploy/local/postgres.sh: trust, loopback only.
local   all  all                trust
host    all  all  127.0.0.1/32  trust
host    all  all  ::1/128       trust
EOF
  grep -q "^include_if_exists = 'crewline.conf'" "${PG_DATA}/postgresql.conf" \
    || printf "\ninclude_if_exists = 'crewline.conf'\n" >>"${PG_DATA}/postgresql.conf"
  if ((IS_ROOT)); then
    chown "${CREWLINE_PG_OS_USER}:$(id -gn "${CREWLINE_PG_OS_USER}")" "${PG_DATA}/crewline.conf" "${PG_DATA}/pg_hba.conf"
  fi
  chmod 600 "${PG_DATA}/crewline.conf" "${PG_DATA}/pg_hba.conf"
}

init_cluster() {
  [[ -s "${PG_DATA}/PG_VERSION" ]] && return 0
  crewline_log "initdb ${PG_DATA} (superuser ${CREWLINE_PG_USER})"
  rm -rf "$PG_DATA"
  as_pg "${BINDIR}/initdb" -D "$PG_DATA" -U "${CREWLINE_PG_USER}" --auth=trust \
    --encoding=UTF8 --locale=C --no-sync >>"$PG_LOG" 2>&1 \
    || { tail -n 20 "$PG_LOG" >&2; crewline_die "initdb failed (see ${PG_LOG})"; }
}

postmaster_pid() { { head -n1 "${PG_DATA}/postmaster.pid" 2>/dev/null || true; } | tr -dc '0-9'; }

is_running() {
  [[ -d "$PG_DATA" ]] || return 1
  local pid; pid="$(postmaster_pid)"
  [[ -n "$pid" ]] && crewline_pid_alive "$pid" || return 1
  as_pg "${BINDIR}/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1
}

clear_stale_pidfile() {
  # A postmaster killed hard can linger as a zombie (PID 1 here reaps late), which still
  # answers kill(pid, 0): postgres would then refuse to start ("lock file already exists").
  # PostgreSQL's own shared-memory check still protects against live orphaned backends.
  local f pid
  for f in "${PG_DATA}/postmaster.pid" "${PG_DIR}"/.s.PGSQL.*.lock; do
    [[ -f "$f" ]] || continue
    pid="$({ head -n1 "$f" 2>/dev/null || true; } | tr -dc '0-9')"
    if [[ -n "$pid" ]] && ! crewline_pid_alive "$pid"; then
      crewline_log "removing stale $(basename "$f") (pid ${pid} is gone)"
      rm -f "$f"
    fi
  done
}

psql_q() { # psql_q DB [psql args...] (SQL on stdin)
  local db="$1"; shift
  PGCONNECT_TIMEOUT=5 "$(client psql)" -X -q -v ON_ERROR_STOP=1 -tA \
    -h "${CREWLINE_PG_HOST}" -p "${CREWLINE_PG_PORT}" -U "${CREWLINE_PG_USER}" -d "$db" "$@"
}

wait_ready() {
  local isready deadline=$((SECONDS + 60))
  isready="$(client pg_isready 2>/dev/null || true)"
  while ((SECONDS < deadline)); do
    if [[ -n "$isready" ]]; then
      "$isready" -q -h "${CREWLINE_PG_HOST}" -p "${CREWLINE_PG_PORT}" -U "${CREWLINE_PG_USER}" -d postgres -t 2 && return 0
    else
      echo 'select 1' | psql_q postgres >/dev/null 2>&1 && return 0
    fi
    sleep 0.2
  done
  tail -n 30 "$PG_LOG" >&2
  crewline_die "PostgreSQL did not become ready on ${ADDR} within 60s (see ${PG_LOG})"
}

create_databases() {
  local db
  for db in "${PG_DBS[@]}"; do
    if [[ "$(psql_q postgres -v db="$db" <<<"select 1 from pg_database where datname = :'db'")" != 1 ]]; then
      crewline_log "creating database ${db}"
      psql_q postgres -v db="$db" <<<'create database :"db"' >/dev/null
    fi
  done
}

# prepare: server binaries, the OS user and the directories (the lock held).
prepare() {
  ensure_bindir
  ensure_os_user
  prepare_dirs
}

cmd_up() {
  crewline_stack_check
  crewline_lock postgres
  prepare
  if is_running; then
    wait_ready
    create_databases
    crewline_log "already running on ${ADDR}"
    return 0
  fi
  start
}

# start: the cluster (made if missing) started, taking connections, with its databases.
start() {
  init_cluster
  clear_stale_pidfile
  write_config
  if crewline_port_open "${CREWLINE_PG_HOST}" "${CREWLINE_PG_PORT}"; then
    crewline_die "port ${ADDR} is already in use by another process; set CREWLINE_PG_PORT"
  fi
  crewline_log "starting $("${BINDIR}/postgres" --version) on ${ADDR}"
  as_pg "${BINDIR}/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -w -t 60 -s >/dev/null 2>&1 \
    || { tail -n 30 "$PG_LOG" >&2; crewline_die "pg_ctl start failed (see ${PG_LOG})"; }
  wait_ready
  create_databases
  crewline_log "running on ${ADDR} (databases: ${PG_DBS[*]})"
}

cmd_restart() {
  local mode=fast
  case "${1:-}" in
    "") ;;
    --kill) mode=immediate ;;
    *) crewline_die "restart: ${1}: the only option is --kill" ;;
  esac
  crewline_stack_check
  crewline_lock postgres
  prepare
  if is_running; then
    crewline_log "stopping (pg_ctl stop -m ${mode}, postmaster pid $(postmaster_pid))"
    as_pg "${BINDIR}/pg_ctl" stop -D "$PG_DATA" -m "$mode" -w -t 60 -s >/dev/null
  fi
  start
}

# Our cluster runs (BINDIR found); asking creates no OS user.
cluster_running() {
  [[ -d "$PG_DATA" ]] && { ((IS_ROOT == 0)) || id -u "${CREWLINE_PG_OS_USER}" >/dev/null 2>&1; } && is_running
}

cmd_down() {
  crewline_lock postgres
  # No server binaries, no cluster of ours running: never install just to stop.
  BINDIR="$(find_bindir)" || { crewline_log "not running"; return 0; }
  if cluster_running; then
    as_pg "${BINDIR}/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 60 -s >/dev/null
    crewline_log "stopped"
  else
    crewline_log "not running"
  fi
}

cmd_status() {
  BINDIR="$(find_bindir)" || { echo "postgres: not installed (would listen on ${ADDR})"; return 3; }
  if cluster_running; then
    echo "postgres: running on ${ADDR} (user ${CREWLINE_PG_USER}; databases: ${PG_DBS[*]}; data ${PG_DATA})"
  else
    echo "postgres: stopped (would listen on ${ADDR})"
    return 3
  fi
}

cmd_pids() {
  BINDIR="$(find_bindir)" || return 0
  if cluster_running; then echo "postgres 1 $(postmaster_pid) -"; fi
}

cmd_purge() {
  cmd_down
  rm -rf "$PG_DIR"
  rm -f "$CREWLINE_STACK_RECORD"
  crewline_log "removed ${PG_DIR} and ${CREWLINE_STACK_RECORD}"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  restart) shift; cmd_restart "$@" ;;
  purge) cmd_purge ;;
  status) cmd_status ;;
  pids) cmd_pids ;;
  logs) shift; crewline_show_log "$PG_LOG" "$@" ;;
  *) echo "usage: $0 up|down|restart [--kill]|purge|status|pids|logs [-f]" >&2; exit 2 ;;
esac
