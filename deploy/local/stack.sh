#!/usr/bin/env bash
# The whole local stack: PostgreSQL, Kafka, topics, then the three services, then a
# Prometheus that scrapes them and evaluates deploy/prometheus/alerts.yml.
#   up      idempotent: installs what is missing, starts what is stopped, waits for health
#   down    stops everything `up` started
#   status  what runs, where
#   logs    follow every log
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/env.sh"
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
  status)
    bash "$here/infra.sh" status || true  # exits 3 when something is stopped; say so, go on
    bash "$here/services.sh" status
    bash "$here/prometheus.sh" status || true  # exits 3 when stopped
    ;;
  logs)
    cd "${CREWLINE_HOME}/log" && exec tail -n 20 -F ./*.log
    ;;
  *) echo "usage: $0 up|down|status|logs" >&2; exit 2 ;;
esac
