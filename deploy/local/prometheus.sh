#!/usr/bin/env bash
# A local Prometheus (Debian's 'prometheus' package, installed by promtool.sh when
# missing) on ${CREWLINE_PROMETHEUS_HOST}:${CREWLINE_PROMETHEUS_PORT}. It scrapes the four
# services' /metrics at the addresses services.sh gives them (CREWLINE_<SERVICE>_METRICS_ADDR),
# one job per service, and evaluates deploy/prometheus/alerts.yml. Its configuration and
# data live under ${CREWLINE_HOME}/prometheus.
#   up      idempotent: writes the configuration, starts Prometheus (or reloads it when
#           the configuration changed), waits until it is ready
#   down    stops it
#   status  running or not, where (exits 3 when stopped)
#   logs    its log (-f to follow)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=deploy/local/env.sh
source "${HERE}/env.sh"
CREWLINE_LOG_TAG=prometheus

DIR="${CREWLINE_HOME}/prometheus"
CONFIG="${DIR}/prometheus.yml"
PIDFILE="${CREWLINE_HOME}/run/prometheus.pid"
LOG="${CREWLINE_HOME}/log/prometheus.log"
ADDR="${CREWLINE_PROMETHEUS_HOST}:${CREWLINE_PROMETHEUS_PORT}"
RULES="${CREWLINE_REPO_ROOT}/deploy/prometheus/alerts.yml"

# A service's metrics address (its first process's, with several), as a scrape target.
metrics_target() {
  local addr
  addr="$(crewline_service_addr "$1" metrics)"
  echo "${addr/#0.0.0.0:/127.0.0.1:}"  # listening everywhere: scrape it on loopback
}

write_config() {
  local svc
  {
    echo "# Written by deploy/local/prometheus.sh up; edits are overwritten."
    echo "global:"
    echo "  scrape_interval: ${CREWLINE_PROMETHEUS_SCRAPE_INTERVAL}"
    echo "  evaluation_interval: ${CREWLINE_PROMETHEUS_SCRAPE_INTERVAL}"
    echo "rule_files:"
    echo "  - ${RULES}"
    echo "scrape_configs:"
    for svc in dispatcher matcher ledger quality; do
      echo "  - job_name: ${svc}"
      echo "    static_configs:"
      echo "      - targets: ['$(metrics_target "$svc")']"
    done
  } >"${CONFIG}.new"
}

pid_of() { cat "$PIDFILE" 2>/dev/null || true; }

# Alive, and really our Prometheus: a stale pid file may name an unrelated process now.
running() {
  local pid
  pid="$(pid_of)"
  [[ -n "$pid" ]] && crewline_pid_alive "$pid" \
    && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--config.file=${CONFIG} "
}

ready() { curl -fsS -m 2 "http://${ADDR}/-/ready" >/dev/null 2>&1; }

find_prometheus() {
  if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
    bash "${HERE}/promtool.sh" >/dev/null  # installs the package (promtool and prometheus)
  fi
  command -v prometheus >/dev/null 2>&1 \
    || crewline_die "prometheus not found. Install it (Debian: 'sudo apt-get install prometheus')."
}

cmd_up() {
  local pid
  crewline_lock prometheus
  find_prometheus
  mkdir -p "${DIR}/data" "$(dirname "$PIDFILE")" "$(dirname "$LOG")"
  write_config
  promtool check config "${CONFIG}.new" >/dev/null \
    || crewline_die "the generated configuration ${CONFIG}.new is invalid"
  if running; then
    if ! cmp -s "${CONFIG}.new" "$CONFIG"; then
      mv "${CONFIG}.new" "$CONFIG"
      crewline_log "configuration changed; reloading (SIGHUP)"
      kill -HUP "$(pid_of)"
    else
      rm -f "${CONFIG}.new"
    fi
  else
    mv "${CONFIG}.new" "$CONFIG"
    if crewline_port_open "$CREWLINE_PROMETHEUS_HOST" "$CREWLINE_PROMETHEUS_PORT"; then
      crewline_die "${ADDR} is taken by another process; set CREWLINE_PROMETHEUS_PORT"
    fi
    crewline_log "starting on ${ADDR}"
    nohup prometheus \
      --config.file="${CONFIG}" \
      --storage.tsdb.path="${DIR}/data" \
      --storage.tsdb.retention.time="${CREWLINE_PROMETHEUS_RETENTION}" \
      --web.listen-address="${ADDR}" \
      >>"$LOG" 2>&1 </dev/null 9>&- &  # 9: our lock, not to be held by Prometheus
    echo $! >"$PIDFILE"
  fi
  # Watched by pid, not by running(): until the child has exec'd, its command line is
  # still this script's, and running() would take a Prometheus still starting for one
  # that exited (with nothing in its log yet).
  pid="$(pid_of)"
  local waited=0
  until ready; do
    if ! crewline_pid_alive "$pid"; then
      tail -n 20 "$LOG" >&2 || true
      crewline_die "prometheus exited; see $LOG"
    fi
    ((waited++ < CREWLINE_PROMETHEUS_START_TIMEOUT * 5)) \
      || crewline_die "prometheus not ready after ${CREWLINE_PROMETHEUS_START_TIMEOUT}s; see $LOG"
    sleep 0.2
  done
  cmd_status
}

cmd_down() {
  local pid
  if ! running; then
    rm -f "$PIDFILE"
    return 0
  fi
  pid="$(pid_of)"
  crewline_log "stopping (SIGTERM, pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 150); do crewline_pid_alive "$pid" || break; sleep 0.2; done
  if crewline_pid_alive "$pid"; then
    crewline_log "did not stop in 30s; SIGKILL"
    kill -KILL "$pid" || true
    while crewline_pid_alive "$pid"; do sleep 0.1; done  # 'down' returns once it is gone
  fi
  rm -f "$PIDFILE"
}

cmd_status() {
  if running; then
    echo "prometheus: running on http://${ADDR} (pid $(pid_of); scrapes" \
      "$(metrics_target dispatcher) $(metrics_target matcher) $(metrics_target ledger)" \
      "$(metrics_target quality)" \
      "every ${CREWLINE_PROMETHEUS_SCRAPE_INTERVAL}; rules ${RULES}; data ${DIR}/data)"
  else
    echo "prometheus: stopped (would listen on http://${ADDR})"
    return 3
  fi
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  logs) shift; crewline_show_log "$LOG" "$@" ;;
  *) echo "usage: $0 up|down|status|logs [-f]" >&2; exit 2 ;;
esac
