#!/usr/bin/env bash
# Crewline local infrastructure: PostgreSQL + Kafka on 127.0.0.1.
# Usage: deploy/local/infra.sh up|down|status
# The first `up` records the stack's ports, databases and service addresses in
# ${CREWLINE_HOME}/run/stack.env; a later `up` given other values refuses (see env.sh).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=deploy/local/env.sh
source "${HERE}/env.sh"
CREWLINE_LOG_TAG=infra

summary() {
  cat <<EOF
postgres  ${CREWLINE_PG_HOST}:${CREWLINE_PG_PORT}  user=${CREWLINE_PG_USER} (trust)  dbs: ${CREWLINE_DISPATCHER_PG_DB} ${CREWLINE_MATCHER_PG_DB} ${CREWLINE_LEDGER_PG_DB} ${CREWLINE_QUALITY_PG_DB}
kafka     ${CREWLINE_KAFKA_BOOTSTRAP}  (KRaft, Kafka ${CREWLINE_KAFKA_VERSION}, auto-create topics off)
state     ${CREWLINE_HOME}   logs: ${CREWLINE_HOME}/log
EOF
}

case "${1:-}" in
  up)
    crewline_stack_check
    "${HERE}/postgres.sh" up
    "${HERE}/kafka.sh" up
    crewline_stack_remember
    summary
    ;;
  down)
    rc=0
    "${HERE}/kafka.sh" down || rc=$?
    "${HERE}/postgres.sh" down || rc=$?
    exit "$rc"
    ;;
  status)
    rc=0
    "${HERE}/postgres.sh" status || rc=$?
    "${HERE}/kafka.sh" status || rc=$?
    exit "$rc"
    ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
