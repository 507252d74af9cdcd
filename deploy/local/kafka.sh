#!/usr/bin/env bash
# Crewline local Apache Kafka: one KRaft node (broker+controller) on 127.0.0.1,
# jars resolved from Maven Central (deploy/local/kafka/pom.xml), state under $CREWLINE_HOME/kafka.
# Usage: deploy/local/kafka.sh up|down|restart [--kill]|status|pids|logs [-f]
#   restart  stops the broker (SIGTERM and its controlled shutdown; --kill: SIGKILL, as a
#            crash) and starts it again, waiting as up does; a stopped broker is just started
#   pids     "kafka 1 PID -" while the broker runs (the format of services.sh pids)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=deploy/local/env.sh
source "${HERE}/env.sh"
CREWLINE_LOG_TAG=kafka

: "${CREWLINE_JAVA:=${JAVA_HOME:+${JAVA_HOME}/bin/}java}"
: "${CREWLINE_MVN:=mvn}"

K_HOME="${CREWLINE_HOME}/kafka"
K_DIST="${K_HOME}/${CREWLINE_KAFKA_VERSION}"
K_LIBS="${K_DIST}/libs"
K_MARKER="${K_DIST}/.complete"
K_CONF="${K_HOME}/config"
K_DATA="${K_HOME}/data"
K_CLUSTER_ID_FILE="${K_HOME}/cluster.id"
K_LOG="${CREWLINE_HOME}/log/kafka.log"
K_OUT="${CREWLINE_HOME}/log/kafka.out"
K_PID="${CREWLINE_HOME}/run/kafka.pid"
POM="${HERE}/kafka/pom.xml"
ADDR="${CREWLINE_KAFKA_HOST}:${CREWLINE_KAFKA_PORT}"

need() { command -v "$1" >/dev/null 2>&1 || crewline_die "$1 not found: $2"; }

# --- jars -----------------------------------------------------------------------

# Marker content: what the libs were resolved from (version + pom digest).
wanted_marker() { printf '%s %s\n' "${CREWLINE_KAFKA_VERSION}" "$(sha256sum "$POM" | cut -d' ' -f1)"; }

ensure_jars() {
  if [[ -f "$K_MARKER" && "$(cat "$K_MARKER")" == "$(wanted_marker)" ]]; then return 0; fi
  need "${CREWLINE_MVN}" "install Maven (Debian: apt-get install maven)"
  local stage="${K_DIST}/.stage" mvnlog="${CREWLINE_HOME}/log/kafka-mvn.log"
  mkdir -p "$K_DIST" "$(dirname "$mvnlog")"
  rm -rf "$stage" "$K_LIBS" "$K_MARKER"
  crewline_log "resolving org.apache.kafka:kafka_2.13:${CREWLINE_KAFKA_VERSION} from Maven Central (checksums enforced)"
  # -C/--strict-checksums: any artifact whose SHA-1 does not match the repository's checksum fails the build.
  if ! "${CREWLINE_MVN}" -B -q -C -Dstyle.color=never -f "$POM" \
      -Dmaven.repo.local="${CREWLINE_MAVEN_REPO}" \
      -Dkafka.version="${CREWLINE_KAFKA_VERSION}" -Dkafka.libs.dir="$stage" \
      dependency:copy-dependencies >"$mvnlog" 2>&1; then
    tail -n 40 "$mvnlog" >&2
    crewline_die "Maven could not resolve Kafka ${CREWLINE_KAFKA_VERSION} (log: ${mvnlog})"
  fi
  # Second check, also covering jars that were already in the local repository:
  # each copied jar must match the .sha1 Maven recorded when it downloaded it.
  local jar rel sumfile want got n=0
  mkdir -p "$K_LIBS"
  while IFS= read -r -d '' jar; do
    rel="${jar#"$stage"/}"
    sumfile="${CREWLINE_MAVEN_REPO}/${rel}.sha1"
    if [[ ! -f "$sumfile" ]]; then
      rm -rf "$stage" "$K_LIBS"
      crewline_die "no recorded checksum for ${rel} (expected ${sumfile})"
    fi
    want="$(tr -d '\r' <"$sumfile" | awk '{print tolower($1); exit}')"
    got="$(sha1sum "$jar" | cut -d' ' -f1)"
    if [[ "$want" != "$got" ]]; then
      rm -rf "$stage" "$K_LIBS"
      crewline_die "checksum mismatch for ${rel}: expected ${want}, got ${got} (delete it from ${CREWLINE_MAVEN_REPO} to re-download)"
    fi
    mv -f "$jar" "$K_LIBS/"
    n=$((n + 1))
  done < <(find "$stage" -type f -name '*.jar' -print0)
  rm -rf "$stage"
  [[ -f "${K_LIBS}/kafka_2.13-${CREWLINE_KAFKA_VERSION}.jar" ]] || crewline_die "kafka_2.13-${CREWLINE_KAFKA_VERSION}.jar missing after resolution"
  wanted_marker >"$K_MARKER"
  crewline_log "${n} jars verified into ${K_LIBS}"
}

kjava() { # run a Kafka class in the foreground
  "${CREWLINE_JAVA}" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j.configuration="file:${K_CONF}/tools-log4j.properties" -cp "${K_LIBS}/*" "$@"
}

# --- config & storage -----------------------------------------------------------------

write_config() {
  mkdir -p "$K_CONF" "$K_DATA" "$(dirname "$K_LOG")"
  cat >"${K_CONF}/server.properties" <<EOF
# Managed by deploy/local/kafka.sh; rewritten on every 'up'.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${CREWLINE_KAFKA_HOST}:${CREWLINE_KAFKA_CONTROLLER_PORT}
listeners=PLAINTEXT://${CREWLINE_KAFKA_HOST}:${CREWLINE_KAFKA_PORT},CONTROLLER://${CREWLINE_KAFKA_HOST}:${CREWLINE_KAFKA_CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://${CREWLINE_KAFKA_HOST}:${CREWLINE_KAFKA_PORT}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=${K_DATA}
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=168
log.segment.bytes=67108864
EOF
  if [[ -n "${CREWLINE_KAFKA_EXTRA_CONFIG:-}" ]]; then
    printf '# from CREWLINE_KAFKA_EXTRA_CONFIG\n%s\n' "${CREWLINE_KAFKA_EXTRA_CONFIG}" >>"${K_CONF}/server.properties"
  fi
  cat >"${K_CONF}/log4j.properties" <<EOF
# Managed by deploy/local/kafka.sh: everything into one file.
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=${K_LOG}
log4j.appender.file.Append=true
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.network.RequestChannel\$=WARN
log4j.logger.org.apache.kafka.clients=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.authorizer.logger=WARN
EOF
  cat >"${K_CONF}/tools-log4j.properties" <<'EOF'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

format_storage() {
  [[ -f "${K_DATA}/meta.properties" ]] && return 0
  if [[ ! -s "$K_CLUSTER_ID_FILE" ]]; then
    kjava kafka.tools.StorageTool random-uuid | tr -d '[:space:]' >"${K_CLUSTER_ID_FILE}.tmp"
    [[ -s "${K_CLUSTER_ID_FILE}.tmp" ]] || crewline_die "could not generate a cluster id"
    mv "${K_CLUSTER_ID_FILE}.tmp" "$K_CLUSTER_ID_FILE"
  fi
  local cid; cid="$(cat "$K_CLUSTER_ID_FILE")"
  crewline_log "formatting KRaft storage ${K_DATA} (cluster id ${cid})"
  kjava kafka.tools.StorageTool format -t "$cid" -c "${K_CONF}/server.properties" >"${CREWLINE_HOME}/log/kafka-format.log" 2>&1 \
    || { cat "${CREWLINE_HOME}/log/kafka-format.log" >&2; crewline_die "kafka storage format failed"; }
}

# --- process --------------------------------------------------------------------

running_pid() { # prints the broker pid if our broker is running
  [[ -f "$K_PID" ]] || return 1
  local pid; pid="$(cat "$K_PID" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  crewline_pid_alive "$pid" || return 1
  tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka' || return 1
  printf '%s\n' "$pid"
}

started_since() { # started_since LOG_OFFSET: has the broker logged its start since then?
  # grep reads to the end (no -q): a grep that quits at the first match leaves tail
  # writing into a closed pipe, and under pipefail its SIGPIPE (141) fails the test
  # whenever more than a pipe's worth of log follows the line, as it does when a
  # restarted broker loads many consumer groups; every later poll then fails too.
  tail -c +"$(($1 + 1))" "$K_LOG" 2>/dev/null | grep -F 'Kafka Server started' >/dev/null
}

wait_started() { # wait_started PID LOG_OFFSET
  local pid="$1" off="$2" deadline=$((SECONDS + CREWLINE_KAFKA_START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! crewline_pid_alive "$pid"; then
      crewline_log "broker exited during startup; the last lines of ${K_OUT} and ${K_LOG}:"
      tail -n 20 "$K_OUT" >&2 || true; tail -n 20 "$K_LOG" >&2 || true
      crewline_die "broker exited during startup (logs: ${K_LOG}, ${K_OUT})"
    fi
    if crewline_port_open "${CREWLINE_KAFKA_HOST}" "${CREWLINE_KAFKA_PORT}" && started_since "$off"; then
      return 0
    fi
    sleep 0.25
  done
  crewline_log "broker not ready after ${CREWLINE_KAFKA_START_TIMEOUT}s; the last lines of ${K_LOG}:"
  tail -n 20 "$K_LOG" >&2 || true
  crewline_die "broker not ready on ${ADDR} after ${CREWLINE_KAFKA_START_TIMEOUT}s (pid ${pid}; log ${K_LOG})"
}

cmd_up() {
  crewline_stack_check
  crewline_lock kafka
  local pid
  if pid="$(running_pid)"; then
    crewline_log "already running on ${ADDR} (pid ${pid})"
    return 0
  fi
  start
}

# start: the broker started and waited for (the lock held, the broker stopped).
start() {
  local pid
  need "${CREWLINE_JAVA}" "install a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)"
  ensure_jars
  write_config
  for p in "${CREWLINE_KAFKA_PORT}" "${CREWLINE_KAFKA_CONTROLLER_PORT}"; do
    if crewline_port_open "${CREWLINE_KAFKA_HOST}" "$p"; then
      crewline_die "port ${CREWLINE_KAFKA_HOST}:${p} is already in use by another process (set CREWLINE_KAFKA_PORT / CREWLINE_KAFKA_CONTROLLER_PORT)"
    fi
  done
  format_storage
  mkdir -p "$(dirname "$K_PID")"
  touch "$K_LOG"
  local off; off="$(stat -c %s "$K_LOG")"
  crewline_log "starting Kafka ${CREWLINE_KAFKA_VERSION} (KRaft) on ${ADDR}"
  # shellcheck disable=SC2086 # heap opts are word-split on purpose
  nohup "${CREWLINE_JAVA}" ${CREWLINE_KAFKA_HEAP_OPTS} \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j.configuration="file:${K_CONF}/log4j.properties" -Dkafka.logs.dir="$(dirname "$K_LOG")" \
    -cp "${K_LIBS}/*" kafka.Kafka "${K_CONF}/server.properties" \
    </dev/null >>"$K_OUT" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$K_PID"
  wait_started "$pid" "$off"
  crewline_log "running on ${ADDR} (pid ${pid})"
}

# stop TERM|KILL: the broker gone (the lock held). TERM is a controlled shutdown, given
# 30 s before SIGKILL; KILL is a crash: the next start recovers its logs.
stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$K_PID"
    crewline_log "not running"
    return 0
  fi
  crewline_log "stopping (SIG$1, pid ${pid})"
  kill "-$1" "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while crewline_pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  if crewline_pid_alive "$pid"; then
    crewline_log "still running after 30s; killing pid ${pid}"
    kill -KILL "$pid" 2>/dev/null || true
    while crewline_pid_alive "$pid"; do sleep 0.1; done
  fi
  rm -f "$K_PID"
  crewline_log "stopped"
}

cmd_down() {
  crewline_lock kafka
  stop TERM
}

cmd_restart() {
  local sig=TERM
  case "${1:-}" in
    "") ;;
    --kill) sig=KILL ;;
    *) crewline_die "restart: ${1}: the only option is --kill" ;;
  esac
  crewline_stack_check
  crewline_lock kafka
  stop "$sig"
  start
}

cmd_pids() {
  local pid
  if pid="$(running_pid)"; then echo "kafka 1 ${pid} -"; fi
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    echo "kafka: running on ${ADDR} (pid ${pid}; version ${CREWLINE_KAFKA_VERSION}; controller ${CREWLINE_KAFKA_HOST}:${CREWLINE_KAFKA_CONTROLLER_PORT}; data ${K_DATA})"
  else
    echo "kafka: stopped (would listen on ${ADDR})"
    return 3
  fi
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  restart) shift; cmd_restart "$@" ;;
  status) cmd_status ;;
  pids) cmd_pids ;;
  logs) shift; crewline_show_log "$K_LOG" "$@" ;;
  *) echo "usage: $0 up|down|restart [--kill]|status|pids|logs [-f]" >&2; exit 2 ;;
esac
