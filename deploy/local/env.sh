# shellcheck shell=bash
# Crewline local infrastructure: shared defaults.
# Sourced by deploy/local/*.sh (and usable from an interactive shell:
#   source deploy/local/env.sh). Every value is only set when unset, so any
# of them can be overridden from the environment. Does not change shell options.

CREWLINE_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export CREWLINE_REPO_ROOT

: "${CREWLINE_HOME:=${CREWLINE_REPO_ROOT}/.local}"
# Absolute from here on: a relative home (CREWLINE_HOME=.local/x make down) would name
# another folder once a script changes directory, and walking up from it never ends.
[[ "$CREWLINE_HOME" == /* ]] || CREWLINE_HOME="${PWD}/${CREWLINE_HOME}"

# A stack remembers the settings that tie its state to a place: the first `infra.sh up`
# writes them to CREWLINE_STACK_RECORD, and a later up or restart given other values
# refuses (crewline_stack_check), since the databases, topics and processes it would look
# for are elsewhere. A variable left unset takes its remembered value here, so a plain
# `make up`, `status` or `down` finds the stack however it was started. `postgres.sh purge`
# (and `make clean`) removes the record with the databases.
CREWLINE_STACK_RECORD="${CREWLINE_HOME}/run/stack.env"
CREWLINE_STACK_VARS=(CREWLINE_PG_HOST CREWLINE_PG_PORT CREWLINE_PG_USER
  CREWLINE_DISPATCHER_PG_DB CREWLINE_MATCHER_PG_DB CREWLINE_LEDGER_PG_DB CREWLINE_QUALITY_PG_DB
  CREWLINE_KAFKA_HOST CREWLINE_KAFKA_PORT CREWLINE_KAFKA_CONTROLLER_PORT
  CREWLINE_DISPATCHER_GRPC_ADDR CREWLINE_MATCHER_GRPC_ADDR CREWLINE_LEDGER_GRPC_ADDR
  CREWLINE_QUALITY_GRPC_ADDR
  CREWLINE_DISPATCHER_METRICS_ADDR CREWLINE_MATCHER_METRICS_ADDR CREWLINE_LEDGER_METRICS_ADDR
  CREWLINE_QUALITY_METRICS_ADDR)
if [[ -f "$CREWLINE_STACK_RECORD" ]]; then
  while IFS='=' read -r _crewline_name _crewline_value; do
    if [[ " ${CREWLINE_STACK_VARS[*]} " == *" ${_crewline_name} "* && -z "${!_crewline_name:-}" ]]; then
      printf -v "$_crewline_name" '%s' "$_crewline_value"
      export "${_crewline_name?}"
    fi
  done <"$CREWLINE_STACK_RECORD"
  unset _crewline_name _crewline_value
fi

# PostgreSQL (one throwaway cluster, one database per service)
: "${CREWLINE_PG_HOST:=127.0.0.1}"
: "${CREWLINE_PG_PORT:=55432}"
: "${CREWLINE_PG_USER:=crewline}"
: "${CREWLINE_PG_OS_USER:=crewline}"          # OS account used to run postgres when we are root
: "${CREWLINE_PG_MAX_CONNECTIONS:=300}"
: "${CREWLINE_DISPATCHER_PG_DB:=crewline_dispatcher}"
: "${CREWLINE_MATCHER_PG_DB:=crewline_matcher}"
: "${CREWLINE_LEDGER_PG_DB:=crewline_ledger}"
: "${CREWLINE_QUALITY_PG_DB:=crewline_quality}"

# Apache Kafka (single KRaft node, broker+controller)
: "${CREWLINE_KAFKA_HOST:=127.0.0.1}"
: "${CREWLINE_KAFKA_PORT:=59092}"
: "${CREWLINE_KAFKA_CONTROLLER_PORT:=59093}"
: "${CREWLINE_KAFKA_VERSION:=3.9.2}"          # newest 3.9.x on Maven Central (org.apache.kafka:kafka_2.13)
: "${CREWLINE_KAFKA_HEAP_OPTS:=-Xms256m -Xmx512m}"
: "${CREWLINE_KAFKA_START_TIMEOUT:=90}"
: "${CREWLINE_MAVEN_REPO:=${HOME}/.m2/repository}"

: "${CREWLINE_KAFKA_BOOTSTRAP:=${CREWLINE_KAFKA_HOST}:${CREWLINE_KAFKA_PORT}}"

# Key material (made by `crewline.cli secrets` on first `make up`, mode 0600). Services
# read only the operator credential's digest and the public key; the matcher also signs.
: "${CREWLINE_SECRETS_DIR:=${CREWLINE_HOME}/secrets}"
: "${CREWLINE_OPERATOR_CREDENTIAL_FILE:=${CREWLINE_SECRETS_DIR}/operator.credential}"
: "${CREWLINE_TOKEN_PUBLIC_KEY_FILES:=${CREWLINE_SECRETS_DIR}/token-public.pem}"
: "${CREWLINE_TOKEN_SIGNING_KEY_FILE:=${CREWLINE_SECRETS_DIR}/token-signing.pem}"

# Convenience DSNs (trust auth on loopback, no password)
: "${CREWLINE_DISPATCHER_PG_DSN:=postgresql://${CREWLINE_PG_USER}@${CREWLINE_PG_HOST}:${CREWLINE_PG_PORT}/${CREWLINE_DISPATCHER_PG_DB}}"
: "${CREWLINE_MATCHER_PG_DSN:=postgresql://${CREWLINE_PG_USER}@${CREWLINE_PG_HOST}:${CREWLINE_PG_PORT}/${CREWLINE_MATCHER_PG_DB}}"
: "${CREWLINE_LEDGER_PG_DSN:=postgresql://${CREWLINE_PG_USER}@${CREWLINE_PG_HOST}:${CREWLINE_PG_PORT}/${CREWLINE_LEDGER_PG_DB}}"
: "${CREWLINE_QUALITY_PG_DSN:=postgresql://${CREWLINE_PG_USER}@${CREWLINE_PG_HOST}:${CREWLINE_PG_PORT}/${CREWLINE_QUALITY_PG_DB}}"

export CREWLINE_HOME \
  CREWLINE_PG_HOST CREWLINE_PG_PORT CREWLINE_PG_USER CREWLINE_PG_OS_USER CREWLINE_PG_MAX_CONNECTIONS \
  CREWLINE_DISPATCHER_PG_DB CREWLINE_MATCHER_PG_DB CREWLINE_LEDGER_PG_DB CREWLINE_QUALITY_PG_DB \
  CREWLINE_DISPATCHER_PG_DSN CREWLINE_MATCHER_PG_DSN CREWLINE_LEDGER_PG_DSN CREWLINE_QUALITY_PG_DSN \
  CREWLINE_KAFKA_HOST CREWLINE_KAFKA_PORT CREWLINE_KAFKA_CONTROLLER_PORT CREWLINE_KAFKA_VERSION \
  CREWLINE_KAFKA_HEAP_OPTS CREWLINE_KAFKA_START_TIMEOUT CREWLINE_MAVEN_REPO CREWLINE_KAFKA_BOOTSTRAP \
  CREWLINE_SECRETS_DIR CREWLINE_OPERATOR_CREDENTIAL_FILE CREWLINE_TOKEN_PUBLIC_KEY_FILES

# gRPC over mutual TLS, opt-in: `CREWLINE_TLS=1 make up` makes a local CA and certificates
# (`crewline.cli certs`) in CREWLINE_TLS_DIR and starts the services with them. While they
# run so, services.sh records it, so later `make up`/`status` and an interactive
# `source deploy/local/env.sh` get TLS on too, clients (CREWLINE_TLS_*) included.
: "${CREWLINE_TLS_DIR:=${CREWLINE_HOME}/tls}"
: "${CREWLINE_TLS_HOSTS:=}"                    # more names/IPs for the server certificate, comma-separated
if [[ -z "${CREWLINE_TLS:-}" ]]; then
  CREWLINE_TLS="$(cat "${CREWLINE_HOME}/run/services.tls" 2>/dev/null || echo 0)"
fi
export CREWLINE_TLS CREWLINE_TLS_DIR CREWLINE_TLS_HOSTS
if [[ "$CREWLINE_TLS" == 1 ]]; then
  : "${CREWLINE_GRPC_TLS_CERT_FILE:=${CREWLINE_TLS_DIR}/server.pem}"
  : "${CREWLINE_GRPC_TLS_KEY_FILE:=${CREWLINE_TLS_DIR}/server-key.pem}"
  : "${CREWLINE_GRPC_TLS_CLIENT_CA_FILE:=${CREWLINE_TLS_DIR}/ca.pem}"
  : "${CREWLINE_TLS_CA_FILE:=${CREWLINE_TLS_DIR}/ca.pem}"
  : "${CREWLINE_TLS_CERT_FILE:=${CREWLINE_TLS_DIR}/client.pem}"
  : "${CREWLINE_TLS_KEY_FILE:=${CREWLINE_TLS_DIR}/client-key.pem}"
  export CREWLINE_GRPC_TLS_CERT_FILE CREWLINE_GRPC_TLS_KEY_FILE CREWLINE_GRPC_TLS_CLIENT_CA_FILE \
    CREWLINE_TLS_CA_FILE CREWLINE_TLS_CERT_FILE CREWLINE_TLS_KEY_FILE
fi

# Prometheus (Debian's package), scraping the services' /metrics and evaluating
# deploy/prometheus/alerts.yml (deploy/local/prometheus.sh)
: "${CREWLINE_PROMETHEUS_HOST:=127.0.0.1}"
: "${CREWLINE_PROMETHEUS_PORT:=59090}"
: "${CREWLINE_PROMETHEUS_SCRAPE_INTERVAL:=5s}"
: "${CREWLINE_PROMETHEUS_RETENTION:=7d}"
: "${CREWLINE_PROMETHEUS_START_TIMEOUT:=60}"
export CREWLINE_PROMETHEUS_HOST CREWLINE_PROMETHEUS_PORT CREWLINE_PROMETHEUS_SCRAPE_INTERVAL \
  CREWLINE_PROMETHEUS_RETENTION CREWLINE_PROMETHEUS_START_TIMEOUT

# Helpers for the scripts (prefixed to avoid clashes when sourced interactively).
crewline_log() { printf '[%s] %s\n' "${CREWLINE_LOG_TAG:-crewline}" "$*" >&2; }
crewline_die() { printf '[%s] ERROR: %s\n' "${CREWLINE_LOG_TAG:-crewline}" "$*" >&2; exit 1; }

# crewline_service_addr SERVICE grpc|metrics -> where the service listens (its default
# unless CREWLINE_<SERVICE>_GRPC_ADDR / _METRICS_ADDR says otherwise).
crewline_service_addr() {
  local var="CREWLINE_${1^^}_${2^^}_ADDR" port
  case "$1:$2" in
    dispatcher:grpc) port=50051 ;; matcher:grpc) port=50052 ;; ledger:grpc) port=50053 ;;
    quality:grpc) port=50054 ;;
    dispatcher:metrics) port=9101 ;; matcher:metrics) port=9102 ;; ledger:metrics) port=9103 ;;
    quality:metrics) port=9104 ;;
    *) crewline_die "crewline_service_addr $1 $2: no such service or address" ;;
  esac
  printf '%s\n' "${!var:-127.0.0.1:${port}}"
}

# crewline_stack_remember: write the stack's record unless it has one (infra.sh up does,
# once PostgreSQL and Kafka run, so a start that failed ties nothing to its settings).
# The services' addresses are recorded only when set: a stack on their defaults may move them.
crewline_stack_remember() {
  [[ -f "$CREWLINE_STACK_RECORD" ]] && return 0
  mkdir -p "$(dirname "$CREWLINE_STACK_RECORD")"
  local name
  {
    echo "# The settings this stack's state belongs to (see deploy/local/env.sh); removed by postgres.sh purge."
    for name in "${CREWLINE_STACK_VARS[@]}"; do
      if [[ -n "${!name:-}" ]]; then printf '%s=%s\n' "$name" "${!name}"; fi
    done
  } >"${CREWLINE_STACK_RECORD}.new"
  mv -f "${CREWLINE_STACK_RECORD}.new" "$CREWLINE_STACK_RECORD"
}

# crewline_stack_check: refuse (exit 1), before anything is started or changed, when a
# setting differs from the stack's record; names each one with both values.
crewline_stack_check() {
  [[ -f "$CREWLINE_STACK_RECORD" ]] || return 0
  local name line remembered given differ=()
  for name in "${CREWLINE_STACK_VARS[@]}"; do
    line="$(grep -m1 -- "^${name}=" "$CREWLINE_STACK_RECORD")" || continue
    remembered="${line#*=}"
    given="${!name:-}"
    [[ "$given" == "$remembered" ]] || differ+=("  ${name}: remembered ${remembered}, given ${given}")
  done
  ((${#differ[@]} == 0)) && return 0
  crewline_die "$(printf '%s\n' \
    "the stack in ${CREWLINE_HOME} was set up with other settings (${CREWLINE_STACK_RECORD}):" \
    "${differ[@]}" \
    "To go on with it, unset these variables (each then takes its remembered value) or give the remembered values." \
    "To start over instead, delete its state: deploy/local/stack.sh down, then deploy/local/postgres.sh purge" \
    "(for the default CREWLINE_HOME, \`make clean\`); the record goes with the databases.")"
}

# crewline_port_open HOST PORT -> 0 if something accepts TCP connections there.
crewline_port_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# crewline_pid_alive PID -> 0 if PID exists and is not a zombie (PID 1 here may reap late,
# and a zombie still answers kill -0). Every thread counts: after SIGKILL the main thread
# of a JVM or a Python service is a zombie while others still exit, holding its ports.
crewline_pid_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local stat line st
  for stat in "/proc/$1/task/"*/stat "/proc/$1/stat"; do
    { read -r line <"$stat"; } 2>/dev/null || continue
    st="${line##*) }"
    st="${st%% *}"
    [[ "$st" == Z || "$st" == X ]] || return 0
  done
  return 1
}

# crewline_show_log FILE [-f]: the last lines of a log, or follow it.
crewline_show_log() {
  [[ -f "$1" ]] || crewline_die "no log yet at $1"
  if [[ "${2:-}" == "-f" ]]; then exec tail -n 100 -F "$1"; fi
  tail -n "${LINES_TO_SHOW:-100}" "$1"
}

# crewline_lock NAME: serialize concurrent invocations (best effort; needs flock).
crewline_lock() {
  mkdir -p "${CREWLINE_HOME}/run"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"${CREWLINE_HOME}/run/$1.lock"
    flock -w 120 9 || crewline_die "timed out waiting for lock ${CREWLINE_HOME}/run/$1.lock"
  fi
}
