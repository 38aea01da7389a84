#!/usr/bin/env bash
# A local single-node Apache Kafka 3.9 broker (KRaft, broker+controller in one JVM) for
# development and tests, without Docker.
#
#   scripts/kafka.sh up       start it (if needed), wait until it answers, create TAC's topics
#   scripts/kafka.sh down     stop it (SIGTERM, then SIGKILL after 30 s)
#   scripts/kafka.sh status   "up (pid N)" / "down" (exit 0 / 3)
#   scripts/kafka.sh classpath   resolve the jars only (tests start a disposable second broker)
#
# The jars come from Maven Central through deploy/local/pom.xml (classpath cached in
# .local/kafka/classpath.txt, rebuilt when the pom changes). Broker state, logs and pid live in
# .local/kafka/ (git-ignored).
#
# Environment:
#   KAFKA_BOOTSTRAP_SERVERS  default 127.0.0.1:9092. Anything else: no local broker is started,
#                            `up` only waits for that broker and creates the topics.
#   TAC_KAFKA_PARTITIONS     partitions of newly created topics (default 6, schemas/topics.py)
#   TAC_KAFKA_WAIT_S         how long `up` waits for the broker (default 90)
#   TAC_KAFKA_HEAP_OPTS      JVM heap (default -Xms512m -Xmx512m)
#   PYTHON                   interpreter with the project installed (default .venv/bin/python)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

LOCAL_DIR=$ROOT/.local/kafka
DATA_DIR=$LOCAL_DIR/data
POM=$ROOT/deploy/local/pom.xml
PROPS_TEMPLATE=$ROOT/deploy/local/server.properties
LOG4J=$ROOT/deploy/local/log4j.properties
PROPS=$LOCAL_DIR/server.properties
CP_FILE=$LOCAL_DIR/classpath.txt
CP_STAMP=$LOCAL_DIR/classpath.pom.sha256
PID_FILE=$LOCAL_DIR/kafka.pid
OUT_FILE=$LOCAL_DIR/kafka.out
CLUSTER_ID_FILE=$LOCAL_DIR/cluster.id
LOCK_FILE=$LOCAL_DIR/.lock

LOCAL_BOOTSTRAP=127.0.0.1:9092
LOCAL_HOST=127.0.0.1
LOCAL_PORT=9092
BOOTSTRAP=${KAFKA_BOOTSTRAP_SERVERS:-$LOCAL_BOOTSTRAP}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
WAIT_S=${TAC_KAFKA_WAIT_S:-90}
HEAP_OPTS=${TAC_KAFKA_HEAP_OPTS:--Xms512m -Xmx512m}

SCRIPT_NAME=kafka
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

is_local_bootstrap() {
  [[ $BOOTSTRAP == "$LOCAL_BOOTSTRAP" || $BOOTSTRAP == "localhost:$LOCAL_PORT" ]]
}

# Prints the pid of the broker this checkout started, if it is still running.
broker_pid() {
  recorded_pid "$PID_FILE" -F 'kafka.Kafka'
}

port_open() { tcp_open "$LOCAL_HOST" "$LOCAL_PORT"; }

need_python() {
  [[ -x $PYTHON ]] || die "$PYTHON not found: run 'make install' (scripts/install.sh) first"
}

# `make demo` and `make test` install what they need: as root with apt-get, a missing Java or
# Maven is installed from Debian's packages; otherwise a one-line error names the package.
need_java() { apt_install_or_die java openjdk-17-jre-headless; }

need_mvn() { apt_install_or_die mvn maven; }

# Writes .local/kafka/classpath.txt from the pom; skipped while the pom is unchanged and every
# jar it names is still in the Maven repository.
ensure_classpath() {
  local want have=""
  want=$(sha256sum "$POM" | cut -d' ' -f1)
  [[ -f $CP_STAMP ]] && have=$(<"$CP_STAMP")
  if [[ $want == "$have" && -s $CP_FILE ]]; then
    local jar missing=0
    while IFS= read -r jar; do
      [[ -z $jar || -f $jar ]] || { missing=1; break; }
    done < <(tr ':' '\n' <"$CP_FILE")
    ((missing == 0)) && return 0
  fi
  need_mvn
  say "resolving the broker's classpath with Maven (first time downloads ~100 MB into ~/.m2)"
  local t0=$SECONDS log=$LOCAL_DIR/mvn.log
  if ! mvn -q -B -f "$POM" dependency:build-classpath \
      -Dmdep.includeScope=runtime -Dmdep.outputFile="$CP_FILE.tmp" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "mvn dependency:build-classpath failed (full output: $log)"
  fi
  mv "$CP_FILE.tmp" "$CP_FILE"
  echo "$want" >"$CP_STAMP"
  say "classpath ready ($(tr ':' '\n' <"$CP_FILE" | grep -c .) jars, $((SECONDS - t0)) s)"
}

render_properties() {
  mkdir -p "$DATA_DIR"
  sed "s|@LOG_DIRS@|$DATA_DIR|g" "$PROPS_TEMPLATE" >"$PROPS.tmp"
  mv "$PROPS.tmp" "$PROPS"
}

# Kafka's one-shot tools: logging goes to stderr (kept in .local/kafka/storage-tool.log and
# shown on failure), so their stdout is just the answer.
storage_tool() {
  local log=$LOCAL_DIR/storage-tool.log
  if ! java -Xmx256m -Djava.awt.headless=true \
      -Dlog4j.configuration="file:$LOG4J" -Dtac.kafka.root.logger=WARN,stderr \
      -cp "$(<"$CP_FILE")" kafka.tools.StorageTool "$@" 2>>"$log"; then
    tail -n 30 "$log" >&2
    die "kafka.tools.StorageTool $1 failed (log: ${log#"$ROOT"/})"
  fi
}

format_storage() {
  [[ -f $DATA_DIR/meta.properties ]] && return 0
  local cluster_id
  if [[ -s $CLUSTER_ID_FILE ]]; then
    cluster_id=$(<"$CLUSTER_ID_FILE")
  else
    cluster_id=$(storage_tool random-uuid | tail -n 1)
    [[ $cluster_id =~ ^[A-Za-z0-9_-]{22}$ ]] || die "StorageTool random-uuid printed '$cluster_id'"
    echo "$cluster_id" >"$CLUSTER_ID_FILE"
  fi
  say "formatting KRaft storage in ${DATA_DIR#"$ROOT"/} (cluster id $cluster_id)"
  storage_tool format -t "$cluster_id" -c "$PROPS" --ignore-formatted >/dev/null
}

start_broker() {
  need_java
  ensure_classpath
  render_properties
  format_storage
  rm -f "$PID_FILE"
  {
    echo "=== $(date -Is) starting kafka.Kafka"
  } >>"$OUT_FILE"
  # setsid + nohup: own session, immune to the caller's SIGHUP/SIGINT, so it outlives make.
  # 9>&- : do not hand the lock below to the broker (it would hold it for its whole life).
  # shellcheck disable=SC2086  # HEAP_OPTS is a list of JVM flags
  setsid nohup java $HEAP_OPTS -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dkafka.logs.dir="$LOCAL_DIR" -Dlog4j.configuration="file:$LOG4J" \
    -cp "$(<"$CP_FILE")" kafka.Kafka "$PROPS" \
    </dev/null >>"$OUT_FILE" 2>&1 9>&- &
  local pid=$!
  echo "$pid" >"$PID_FILE"
  say "started broker (pid $pid), logs in ${LOCAL_DIR#"$ROOT"/}/server.log"
  local deadline=$((SECONDS + WAIT_S))
  until port_open; do
    if ! alive "$pid"; then
      rm -f "$PID_FILE"
      echo "--- ${OUT_FILE#"$ROOT"/} (last lines)" >&2
      tail -n 20 "$OUT_FILE" >&2 || true
      echo "--- server.log (last lines)" >&2
      tail -n 20 "$LOCAL_DIR/server.log" >&2 2>/dev/null || true
      die "the broker exited during start-up (see ${LOCAL_DIR#"$ROOT"/}/server.log)"
    fi
    ((SECONDS < deadline)) || die "the broker (pid $pid) is not listening on $LOCAL_BOOTSTRAP after ${WAIT_S}s"
    sleep 0.3
  done
}

wait_and_ensure_topics() {
  local remaining=$1
  ((remaining < 5)) && remaining=5
  KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP "$PYTHON" -m services.common.kafka_admin wait --timeout "$remaining"
  KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP "$PYTHON" -m services.common.kafka_admin ensure-topics --timeout 60
}

cmd_up() {
  local t0=$SECONDS pid
  need_python
  if ! is_local_bootstrap; then
    say "KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP: not starting a local broker, waiting for that one"
    wait_and_ensure_topics "$WAIT_S"
    say "ready at $BOOTSTRAP ($((SECONDS - t0)) s)"
    return 0
  fi
  if pid=$(broker_pid); then
    say "already running (pid $pid)"
  elif port_open; then
    say "a broker not started by this checkout already listens on $LOCAL_BOOTSTRAP; using it"
  else
    start_broker
  fi
  wait_and_ensure_topics $((WAIT_S - (SECONDS - t0)))
  say "ready at $LOCAL_BOOTSTRAP ($((SECONDS - t0)) s)"
}

cmd_down() {
  local pid
  if ! pid=$(broker_pid); then
    nothing_of_ours_running "$LOCAL_HOST" "$LOCAL_PORT" "$PID_FILE"
    return 0
  fi
  say "stopping broker (pid $pid)"
  stop_started "$pid" "$pid" "$LOCAL_HOST" "$LOCAL_PORT" "$PID_FILE"
}

cmd_classpath() {
  ensure_classpath
  echo "$CP_FILE"
}

cmd_status() {
  local pid
  if pid=$(broker_pid); then
    if port_open; then
      say "up (pid $pid) at $LOCAL_BOOTSTRAP"
    else
      say "up (pid $pid), starting: not yet listening on $LOCAL_BOOTSTRAP"
    fi
    return 0
  fi
  if port_open; then
    say "up at $LOCAL_BOOTSTRAP (not started by this checkout: no pid recorded)"
    return 0
  fi
  say "down"
  return 3
}

main() {
  local cmd=${1:-}
  case $cmd in
    up | down | status | classpath) ;;
    *) echo "usage: $0 up|down|status|classpath" >&2; exit 2 ;;
  esac
  mkdir -p "$LOCAL_DIR"
  if [[ $cmd != status ]]; then
    # One `up`/`down` at a time per checkout (several people or make -j may run them at once).
    exec 9>"$LOCK_FILE"
    flock -w 180 9 || die "another kafka.sh up/down holds $LOCK_FILE"
  fi
  "cmd_$cmd"
}

main "$@"
