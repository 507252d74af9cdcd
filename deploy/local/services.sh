#!/usr/bin/env bash
# Crewline's four services as background processes.
#   up                     idempotent: starts the processes that are missing, waits until SERVING
#   down                   stops every process of every service (SIGTERM, then their drain)
#   restart PART [--kill]  PART: a service (all its processes) or SERVICE:K (its process K),
#                          stopped (SIGTERM and the drain; --kill: SIGKILL, as a crash) and
#                          started again with the same settings; waits until SERVING again
#   status                 each process, where it listens
#   pids                   one line per running process, for scripts: SERVICE K PID METRICS_ADDR
#   logs                   follow their logs
# Each runs `python -m <service>` from the project's venv; pid files and logs
# live under $CREWLINE_HOME. `up` waits until every gRPC health check is SERVING.
# CREWLINE_SERVICE_PROCESSES=N (1 to 9, default 1): N processes of each service share its
# gRPC port (SO_REUSEPORT). Process 1 keeps run/<svc>.pid, log/<svc>.log and the service's
# metrics address; process K>=2 has run/<svc>-K.pid, log/<svc>-K.log and the metrics port
# plus 100*(K-1) (the dispatcher's second process: 9201). ${RUN}/services.processes
# records N while they run, so status, pids and down find them all.
# CREWLINE_TLS=1: mutual TLS on every gRPC port, with certificates made on first use
# (see env.sh); ${RUN}/services.tls records the mode the running services have.
set -euo pipefail
# shellcheck source=deploy/local/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
CREWLINE_LOG_TAG=services

SERVICES=(dispatcher matcher ledger quality)
PY="${CREWLINE_PYTHON:-${CREWLINE_REPO_ROOT}/.venv/bin/python}"
RUN="${CREWLINE_HOME}/run"
LOGS="${CREWLINE_HOME}/log"
START_TIMEOUT="${CREWLINE_SERVICES_START_TIMEOUT:-90}"

# How many processes of each service: as asked, else as many as the running ones.
recorded_processes() { cat "${RUN}/services.processes" 2>/dev/null || echo 1; }
PROCESSES="${CREWLINE_SERVICE_PROCESSES:-$(recorded_processes)}"
check_processes() {
  [[ "$PROCESSES" =~ ^[1-9]$ ]] \
    || crewline_die "CREWLINE_SERVICE_PROCESSES=${PROCESSES}: processes per service, 1 to 9"
}

grpc_addr() { crewline_service_addr "$1" grpc; }
# metrics_addr SVC K: process K's metrics address, 100 ports above the previous process's.
metrics_addr() {
  local base
  base="$(crewline_service_addr "$1" metrics)"
  echo "${base%:*}:$((${base##*:} + 100 * (${2:-1} - 1)))"
}
# Process K's files carry the service's name, and -K after the first.
file_name() { if (($2 == 1)); then echo "$1"; else echo "$1-$2"; fi; }
# How logs name process K: the service alone while it has one process.
label() { if [[ "$PROCESSES" == 1 && "$2" == 1 ]]; then echo "$1"; else echo "$1:$2"; fi; }
pid_file() { echo "${RUN}/$(file_name "$1" "$2").pid"; }
log_file() { echo "${LOGS}/$(file_name "$1" "$2").log"; }
pid_of() { cat "$(pid_file "$1" "$2")" 2>/dev/null || true; }
# Alive, and really this service: a stale pid file may name an unrelated process now.
running() {
  local pid
  pid=$(pid_of "$1" "$2")
  [[ -n "$pid" ]] && crewline_pid_alive "$pid" \
    && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "-m $1 "
}
# The process numbers of SVC: 1 to N, and any other that has a pid file (left from a
# run with more processes), so that down and status miss none.
process_numbers() {
  local k f n=1
  [[ "$PROCESSES" =~ ^[1-9]$ ]] && n="$PROCESSES"  # down goes on with a bad value
  { seq 1 "$n"
    for f in "${RUN}/$1"-[2-9].pid; do
      if [[ -f "$f" ]]; then k="${f##*-}"; echo "${k%.pid}"; fi
    done
  } | sort -nu
}
any_running() {
  local svc k
  for svc in "${SERVICES[@]}"; do
    for k in $(process_numbers "$svc"); do running "$svc" "$k" && return 0; done
  done
  return 1
}

# The services that run keep their mode; changing it needs a restart.
tls_prepare() {
  local recorded hosts=()
  recorded="$(cat "${RUN}/services.tls" 2>/dev/null || echo 0)"
  if [[ "$recorded" != "$CREWLINE_TLS" ]] && any_running; then
    crewline_die "the services run with CREWLINE_TLS=${recorded}, not ${CREWLINE_TLS}; \`make down\` first to change it"
  fi
  if [[ "$CREWLINE_TLS" == 1 ]]; then
    IFS=, read -ra hosts <<<"$CREWLINE_TLS_HOSTS"
    (cd "$CREWLINE_REPO_ROOT" && "$PY" -m crewline.cli certs "$CREWLINE_TLS_DIR" \
      "${hosts[@]/#/--host=}") >&2
  fi
  echo "$CREWLINE_TLS" >"${RUN}/services.tls"
}

# So does their number of processes: one started beside a lone process would not share
# its port, which only takes SO_REUSEPORT listeners when each process has it on.
processes_prepare() {
  local recorded
  recorded="$(recorded_processes)"
  if [[ "$recorded" != "$PROCESSES" ]] && any_running; then
    crewline_die "the services run with CREWLINE_SERVICE_PROCESSES=${recorded}, not ${PROCESSES}; \`make down\` first to change it"
  fi
  echo "$PROCESSES" >"${RUN}/services.processes"
}

# Everything a start needs, checked before anything is stopped or started.
prepare() {
  mkdir -p "$RUN" "$LOGS"
  [[ "$CREWLINE_TLS" == 0 || "$CREWLINE_TLS" == 1 ]] || crewline_die "CREWLINE_TLS=${CREWLINE_TLS}: 0 or 1"
  check_processes
  crewline_stack_check
  processes_prepare
  tls_prepare
}

# start SVC K: process K of SVC in the background.
start() {
  local svc="$1" k="$2"
  crewline_log "starting $(label "$svc" "$k")"
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
    if ((PROCESSES > 1)); then
      export "CREWLINE_${svc^^}_GRPC_REUSE_PORT=1"
      export "CREWLINE_${svc^^}_METRICS_ADDR=$(metrics_addr "$svc" "$k")"
    fi
    exec nohup "$PY" -m "$svc" >>"$(log_file "$svc" "$k")" 2>&1
  ) &
  echo $! >"$(pid_file "$svc" "$k")"
}

# signal SVC K SIG: send SIG to process K of SVC if it runs (a stale pid file just goes).
signal() {
  local svc="$1" k="$2" pid
  if ! running "$svc" "$k"; then rm -f "$(pid_file "$svc" "$k")"; return 0; fi
  pid=$(pid_of "$svc" "$k")
  crewline_log "stopping $(label "$svc" "$k") (SIG$3, pid $pid)"
  kill "-$3" "$pid"
}

# await_stopped SVC K: returns once process K of SVC is gone.
await_stopped() {
  local pid
  pid=$(pid_of "$1" "$2"); [[ -n "$pid" ]] || return 0
  # The drain takes up to the gRPC grace plus the outbox drain (10 s + 10 s by default).
  for _ in $(seq 1 300); do crewline_pid_alive "$pid" || break; sleep 0.2; done
  if crewline_pid_alive "$pid"; then
    crewline_log "$(label "$1" "$2") did not stop in 60s; SIGKILL"
    kill -KILL "$pid" || true
    while crewline_pid_alive "$pid"; do sleep 0.1; done
  fi
  rm -f "$(pid_file "$1" "$2")"
}

# ready SVC K: process K says on its own metrics that its readiness check is SERVING.
# With several processes behind one port, a health check there may be answered by another.
ready() {
  local addr page
  addr="$(metrics_addr "$1" "$2")"
  page="$(curl -fsS -m 2 "http://${addr/#0.0.0.0:/127.0.0.1:}/metrics" 2>/dev/null)" || return 1
  grep -qx "crewline_$1_ready 1.0" <<<"$page"
}

show_logs() { # show_logs "SVC K"...: the last lines of each one's log
  local p log
  for p in "$@"; do
    log="$(log_file "${p% *}" "${p#* }")"
    crewline_log "last lines of ${log}:"; tail -n 15 "$log" >&2 || true
  done
}

# wait_healthy "SVC K"...: the gRPC health of these processes' services SERVING, as
# `crewline.cli wait-healthy` sees it; with several processes, each one ready on its own too.
wait_healthy() {
  local p svc k addrs=() deadline=$((SECONDS + START_TIMEOUT))
  for p in "$@"; do
    addrs+=("$(grpc_addr "${p% *}")")
  done
  mapfile -t addrs < <(printf '%s\n' "${addrs[@]}" | awk '!seen[$0]++')
  if ! "$PY" -m crewline.cli wait-healthy "${addrs[@]}" -t "$START_TIMEOUT"; then
    show_logs "$@"
    crewline_die "services did not become healthy"
  fi
  ((PROCESSES > 1)) || return 0
  for p in "$@"; do
    svc="${p% *}" k="${p#* }"
    until ready "$svc" "$k"; do
      if ! running "$svc" "$k" || ((SECONDS > deadline)); then
        show_logs "$p"
        crewline_die "$(label "$svc" "$k") did not become ready (metrics http://$(metrics_addr "$svc" "$k")/metrics)"
      fi
      sleep 0.25
    done
    echo "  $(label "$svc" "$k") ready"
  done
}

up() {
  prepare
  local svc k all=()
  for svc in "${SERVICES[@]}"; do
    for k in $(seq 1 "$PROCESSES"); do
      all+=("$svc $k")
      if running "$svc" "$k"; then continue; fi
      start "$svc" "$k"
    done
  done
  wait_healthy "${all[@]}"
}

# restart PART [--kill]
restart() {
  local part="${1:-}" sig=TERM svc k ks=() p waited=()
  case "${2:-}" in
    "") ;;
    --kill) sig=KILL ;;
    *) crewline_die "restart ${part}: ${2}: the only option is --kill" ;;
  esac
  svc="${part%%:*}"
  [[ " ${SERVICES[*]} " == *" ${svc} "* && -n "$svc" ]] \
    || crewline_die "restart ${part:-(no part)}: the part is a service (${SERVICES[*]}) or one of its processes, SERVICE:K"
  prepare
  if [[ "$part" == *:* ]]; then
    k="${part#*:}"
    if ! [[ "$k" =~ ^[1-9]$ ]] || ((k > PROCESSES)); then
      crewline_die "restart ${part}: ${svc} has processes 1 to ${PROCESSES} (CREWLINE_SERVICE_PROCESSES)"
    fi
    ks=("$k")
  else
    mapfile -t ks < <(seq 1 "$PROCESSES")
  fi
  for k in "${ks[@]}"; do signal "$svc" "$k" "$sig"; done
  for k in "${ks[@]}"; do await_stopped "$svc" "$k"; done
  for k in "${ks[@]}"; do start "$svc" "$k"; waited+=("$svc $k"); done
  wait_healthy "${waited[@]}"
}

down() {
  local svc k
  for svc in "${SERVICES[@]}"; do
    for k in $(process_numbers "$svc"); do signal "$svc" "$k" TERM; done
  done
  for svc in "${SERVICES[@]}"; do
    for k in $(process_numbers "$svc"); do await_stopped "$svc" "$k"; done
  done
  rm -f "${RUN}/services.tls" "${RUN}/services.processes"
}

status() {
  local svc k state
  check_processes
  for svc in "${SERVICES[@]}"; do
    for k in $(process_numbers "$svc"); do
      if running "$svc" "$k"; then state="running (pid $(pid_of "$svc" "$k"))"; else state="stopped"; fi
      printf '  %-13s %-22s grpc %-17s metrics http://%s/metrics\n' \
        "$(label "$svc" "$k")" "$state" "$(grpc_addr "$svc")" "$(metrics_addr "$svc" "$k")"
    done
  done
  if [[ "$CREWLINE_TLS" == 1 ]]; then
    printf '  gRPC is mutual TLS: CA and client certificate in %s\n' "$CREWLINE_TLS_DIR"
  fi
}

pids() {
  local svc k
  check_processes
  for svc in "${SERVICES[@]}"; do
    for k in $(process_numbers "$svc"); do
      running "$svc" "$k" && echo "$svc $k $(pid_of "$svc" "$k") $(metrics_addr "$svc" "$k")"
    done
  done
  return 0
}

logs() {
  local svc k files=()
  check_processes
  for svc in "${SERVICES[@]}"; do
    for k in $(process_numbers "$svc"); do files+=("$(log_file "$svc" "$k")"); done
  done
  exec tail -n 50 -F "${files[@]}"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  restart) shift; restart "$@" ;;
  status) status ;;
  pids) pids ;;
  logs) logs ;;
  *) echo "usage: $0 up|down|restart SERVICE[:K] [--kill]|status|pids|logs" >&2; exit 2 ;;
esac
