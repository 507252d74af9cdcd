#!/usr/bin/env bash
# Crewline's three services as background processes: up | down | status | logs
# Each runs `python -m <service>` from the project's venv; pid files and logs
# live under $CREWLINE_HOME. `up` waits until every gRPC health check is SERVING.
# CREWLINE_TLS=1: mutual TLS on every gRPC port, with certificates made on first use
# (see env.sh); ${RUN}/services.tls records the mode the running services have.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
CREWLINE_LOG_TAG=services

SERVICES=(dispatcher matcher ledger)
PY="${CREWLINE_PYTHON:-${CREWLINE_REPO_ROOT}/.venv/bin/python}"
RUN="${CREWLINE_HOME}/run"
LOGS="${CREWLINE_HOME}/log"

grpc_addr() {
  local var="CREWLINE_${1^^}_GRPC_ADDR" port
  case "$1" in dispatcher) port=50051 ;; matcher) port=50052 ;; ledger) port=50053 ;; esac
  echo "${!var:-127.0.0.1:${port}}"
}
metrics_addr() {
  local var="CREWLINE_${1^^}_METRICS_ADDR" port
  case "$1" in dispatcher) port=9101 ;; matcher) port=9102 ;; ledger) port=9103 ;; esac
  echo "${!var:-127.0.0.1:${port}}"
}
pid_of() { cat "${RUN}/$1.pid" 2>/dev/null || true; }
# Alive, and really this service: a stale pid file may name an unrelated process now.
running() {
  local pid
  pid=$(pid_of "$1")
  [[ -n "$pid" ]] && crewline_pid_alive "$pid" \
    && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "-m $1 "
}

# The services that run keep their mode; changing it needs a restart.
tls_prepare() {
  local svc recorded hosts=()
  recorded="$(cat "${RUN}/services.tls" 2>/dev/null || echo 0)"
  for svc in "${SERVICES[@]}"; do
    if running "$svc" && [[ "$recorded" != "$CREWLINE_TLS" ]]; then
      crewline_die "$svc runs with CREWLINE_TLS=${recorded}, not ${CREWLINE_TLS}; \`make down\` first to change it"
    fi
  done
  if [[ "$CREWLINE_TLS" == 1 ]]; then
    IFS=, read -ra hosts <<<"$CREWLINE_TLS_HOSTS"
    (cd "$CREWLINE_REPO_ROOT" && "$PY" -m crewline.cli certs "$CREWLINE_TLS_DIR" \
      "${hosts[@]/#/--host=}") >&2
  fi
  echo "$CREWLINE_TLS" >"${RUN}/services.tls"
}

up() {
  mkdir -p "$RUN" "$LOGS"
  [[ "$CREWLINE_TLS" == 0 || "$CREWLINE_TLS" == 1 ]] || crewline_die "CREWLINE_TLS=${CREWLINE_TLS}: 0 or 1"
  tls_prepare
  local svc addrs=()
  for svc in "${SERVICES[@]}"; do
    addrs+=("$(grpc_addr "$svc")")
    if running "$svc"; then continue; fi
    crewline_log "starting $svc"
    # exec: the pid recorded is the service's own, so down's SIGTERM reaches it.
    (
      cd "$CREWLINE_REPO_ROOT"
      export CREWLINE_LOG_FORMAT="${CREWLINE_LOG_FORMAT:-json}"
      # A laptop stack: leases, lifetimes and auto-accept may be as short as 1 s (the
      # service's default floor is 60 s), so the demo sees its clocks fire.
      export CREWLINE_DISPATCHER_MIN_DURATION_SECONDS="${CREWLINE_DISPATCHER_MIN_DURATION_SECONDS:-1}"
      # Only the matcher signs contractor tokens; the others verify with the public key.
      # It also lets more matcher processes share its port (the claims bench starts one).
      if [[ "$svc" == matcher ]]; then
        export CREWLINE_TOKEN_SIGNING_KEY_FILE
        export CREWLINE_MATCHER_GRPC_REUSE_PORT="${CREWLINE_MATCHER_GRPC_REUSE_PORT:-1}"
      fi
      exec nohup "$PY" -m "$svc" >>"${LOGS}/${svc}.log" 2>&1
    ) &
    echo $! >"${RUN}/${svc}.pid"
  done
  if ! "$PY" -m crewline.cli wait-healthy "${addrs[@]}" -t "${CREWLINE_SERVICES_START_TIMEOUT:-90}"; then
    for svc in "${SERVICES[@]}"; do
      crewline_log "last lines of ${LOGS}/${svc}.log:"; tail -n 15 "${LOGS}/${svc}.log" >&2 || true
    done
    crewline_die "services did not become healthy"
  fi
}

down() {
  local svc pid
  for svc in "${SERVICES[@]}"; do
    running "$svc" || { rm -f "${RUN}/${svc}.pid"; continue; }
    pid=$(pid_of "$svc")
    crewline_log "stopping $svc (SIGTERM, pid $pid)"
    kill -TERM "$pid"
  done
  for svc in "${SERVICES[@]}"; do
    pid=$(pid_of "$svc"); [[ -n "$pid" ]] || continue
    # The drain takes up to the gRPC grace plus the outbox drain (10 s + 10 s by default).
    for _ in $(seq 1 300); do crewline_pid_alive "$pid" || break; sleep 0.2; done
    if crewline_pid_alive "$pid"; then
      crewline_log "$svc did not stop in 60s; SIGKILL"
      kill -KILL "$pid" || true
      while crewline_pid_alive "$pid"; do sleep 0.1; done  # 'down' returns once it is gone
    fi
    rm -f "${RUN}/${svc}.pid"
  done
  rm -f "${RUN}/services.tls"
}

status() {
  local svc state
  for svc in "${SERVICES[@]}"; do
    if running "$svc"; then state="running (pid $(pid_of "$svc"))"; else state="stopped"; fi
    printf '  %-11s %-22s grpc %-17s metrics http://%s/metrics\n' \
      "$svc" "$state" "$(grpc_addr "$svc")" "$(metrics_addr "$svc")"
  done
  if [[ "$CREWLINE_TLS" == 1 ]]; then
    printf '  gRPC is mutual TLS: CA and client certificate in %s\n' "$CREWLINE_TLS_DIR"
  fi
}


case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  logs) cd "$LOGS" && tail -n 50 -F dispatcher.log matcher.log ledger.log ;;
  *) echo "usage: $0 up|down|status|logs" >&2; exit 2 ;;
esac
