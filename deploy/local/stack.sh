#!/usr/bin/env bash
# The whole local stack: PostgreSQL, Kafka, topics, then the four services, then a
# Prometheus that scrapes them and evaluates deploy/prometheus/alerts.yml.
#   up      idempotent: installs what is missing, starts what is stopped, waits for health
#   down    stops everything `up` started
#   restart PART [--kill]  one part alone, stopped and started again with the same settings,
#           then waited for as `up` waits: dispatcher|matcher|ledger|quality (each of its
#           processes),
#           SERVICE:K (its process K), kafka, postgres. --kill stops it as a crash would:
#           SIGKILL (PostgreSQL: pg_ctl stop -m immediate). A part that is stopped is started.
#   pids    one line per running process: PART K PID METRICS_ADDR (- for kafka and postgres)
#   status  what runs, where
#   logs    follow every log
# CREWLINE_SERVICE_PROCESSES=N runs N processes of each service (see services.sh). The
# first `up` records the stack's ports and databases; `up` and `restart` refuse other
# values for them (see env.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=deploy/local/env.sh
source "$here/env.sh"
CREWLINE_LOG_TAG=stack
PY="${CREWLINE_PYTHON:-${CREWLINE_REPO_ROOT}/.venv/bin/python}"

case "${1:-}" in
  up)
    bash "$here/infra.sh" up
    (cd "$CREWLINE_REPO_ROOT" && "$PY" -m crewline.cli secrets "$CREWLINE_SECRETS_DIR")
    (cd "$CREWLINE_REPO_ROOT" && "$PY" -m crewline.cli topics)
    bash "$here/services.sh" up
    bash "$here/prometheus.sh" up >/dev/null
    echo
    echo "Crewline is up:"
    bash "$here/infra.sh" status
    bash "$here/services.sh" status
    bash "$here/prometheus.sh" status
    ;;
  down)
    bash "$here/prometheus.sh" down
    bash "$here/services.sh" down
    bash "$here/infra.sh" down
    ;;
  restart)
    case "${2:-}" in
      kafka|postgres) bash "$here/$2.sh" restart "${@:3}" ;;
      dispatcher|matcher|ledger|quality|dispatcher:*|matcher:*|ledger:*|quality:*)
        bash "$here/services.sh" restart "${@:2}" ;;
      *) crewline_die "restart ${2:-(no part)}: the part is dispatcher, matcher, ledger, quality, SERVICE:K, kafka or postgres" ;;
    esac
    ;;
  pids)
    bash "$here/services.sh" pids
    bash "$here/kafka.sh" pids
    bash "$here/postgres.sh" pids
    ;;
  status)
    bash "$here/infra.sh" status || true  # exits 3 when something is stopped; say so, go on
    bash "$here/services.sh" status
    bash "$here/prometheus.sh" status || true  # exits 3 when stopped
    ;;
  logs)
    cd "${CREWLINE_HOME}/log" && exec tail -n 20 -F ./*.log
    ;;
  *) echo "usage: $0 up|down|restart PART [--kill]|pids|status|logs" >&2; exit 2 ;;
esac
