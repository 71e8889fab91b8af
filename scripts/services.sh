#!/usr/bin/env bash
# Local backing services for conversation-sync: Kafka (KRaft), PostgreSQL, Redis.
#
#   bash scripts/services.sh up     # idempotent: reuse or start, then wait until ready
#   bash scripts/services.sh down   # stop only the Kafka broker this script started
#   bash scripts/services.sh status
#   bash scripts/services.sh restart  # stop and start again the broker this script started
#                                     # (exit 3, touching nothing, if the broker is not ours)
#
# Kafka: if the first entry of KAFKA_BROKERS (default 127.0.0.1:9092) already answers,
# it is used as is. Otherwise a single-node KRaft Apache Kafka broker is run from the
# Maven Central jars (no Docker needed): jars are cached in ~/.m2, the generated
# classpath and the per-port broker state under
#   ${CONVERSATION_SYNC_HOME:-$HOME/.cache/conversation-sync}/kafka
# The controller listener uses port+1.
#
# PostgreSQL / Redis: checked on the host:port of DATABASE_URL / REDIS_URL (default
# 127.0.0.1:5432 / 127.0.0.1:6379); if they do not answer and are installed locally
# they are started, otherwise `up` fails. `down` never stops them.
#
# Redis Cluster: with REDIS_CLUSTER=1, `up` also runs a local three-master cluster from the
# installed redis-server on REDIS_CLUSTER_PORTS (default 7001,7002,7003; no replicas, no
# persistence; state under ${CONVERSATION_SYNC_HOME:-$HOME/.cache/conversation-sync}/redis-cluster)
# and `down` stops those nodes (only ones this script started). Point the apps at it with
# REDIS_URL=redis+cluster://127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003.
#
# Environment knobs: KAFKA_BROKERS, DATABASE_URL, REDIS_URL, CONVERSATION_SYNC_HOME,
# KAFKA_READY_TIMEOUT (s, default 90), KAFKA_HEAP_OPTS (default -Xms256m -Xmx512m),
# SERVICES_SKIP_DB=1 (skip the PostgreSQL/Redis part).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA_VERSION="4.1.1"
SLF4J_VERSION="1.7.36"
STATE_ROOT="${CONVERSATION_SYNC_HOME:-${HOME:-/tmp}/.cache/conversation-sync}/kafka"
RUNTIME_DIR="$STATE_ROOT/runtime-$KAFKA_VERSION"
READY_TIMEOUT="${KAFKA_READY_TIMEOUT:-90}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"

log() { echo "services: $*"; }
die() { echo "services: ERROR: $*" >&2; exit 1; }
now_ms() { date +%s%3N; }
elapsed() { local ms=$(( $(now_ms) - $1 )); printf '%d.%01ds' $((ms / 1000)) $(((ms % 1000) / 100)); }

# ---------------------------------------------------------------- parsing ----
BROKERS="${KAFKA_BROKERS:-127.0.0.1:9092}"
FIRST="${BROKERS%%,*}"
FIRST="${FIRST#*://}"          # tolerate PLAINTEXT://host:port
FIRST="${FIRST// /}"
if [[ "$FIRST" =~ ^\[(.*)\]:([0-9]+)$ ]]; then
  KHOST="${BASH_REMATCH[1]}"; KPORT="${BASH_REMATCH[2]}"
elif [[ "$FIRST" =~ ^([^:]+):([0-9]+)$ ]]; then
  KHOST="${BASH_REMATCH[1]}"; KPORT="${BASH_REMATCH[2]}"
elif [[ "$FIRST" =~ ^[^:]+$ ]]; then
  KHOST="$FIRST"; KPORT=9092
else
  die "cannot parse KAFKA_BROKERS='$BROKERS' (expected host:port[,host:port...])"
fi
CPORT=$((KPORT + 1))
PORT_DIR="$STATE_ROOT/$KPORT"
DATA_DIR="$PORT_DIR/data"
PROPS="$PORT_DIR/server.properties"
KLOG="$PORT_DIR/kafka.log"
PIDFILE="$PORT_DIR/kafka.pid"

is_loopback() { [[ "$1" == 127.* || "$1" == localhost || "$1" == ::1 ]]; }

# host and port out of scheme://[user[:pw]@]host[:port][/...]
url_host_port() { # url default_port -> "host port"
  local rest="${1#*://}"
  rest="${rest%%/*}"; rest="${rest%%\?*}"; rest="${rest##*@}"
  local h p
  if [[ "$rest" =~ ^\[(.*)\](:([0-9]+))?$ ]]; then h="${BASH_REMATCH[1]}"; p="${BASH_REMATCH[3]}"
  else h="${rest%%:*}"; p=""; [[ "$rest" == *:* ]] && p="${rest##*:}"; fi
  echo "${h:-127.0.0.1} ${p:-$2}"
}

tcp_open() { # host port
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}

# ------------------------------------------------------------------ kafka ----
pid_is_our_kafka() { # pid -> 0 if it is a live java kafka.Kafka process on our config
  local pid="$1" cmd
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmd" == *java* && "$cmd" == *" kafka.Kafka "* && "$cmd" == *"$PROPS"* ]]
}

our_pid() { # prints the pid from the pid file if it is still our broker
  local pid
  [[ -f "$PIDFILE" ]] || return 1
  pid="$(tr -dc '0-9' <"$PIDFILE")"
  pid_is_our_kafka "$pid" || return 1
  echo "$pid"
}

have_kafkajs() { [[ -f "$ROOT/node_modules/kafkajs/package.json" ]] && command -v node >/dev/null; }

# A real protocol round trip with kafkajs: metadata (listTopics), then the group
# coordinator (describeGroups), so consumers do not race __consumer_offsets creation.
kafka_answers() {
  (cd "$ROOT" && PROBE_BROKER="$FIRST" timeout 15 node -e '
const { Kafka, logLevel } = require("kafkajs");
const kafka = new Kafka({ clientId: "services-probe", brokers: [process.env.PROBE_BROKER],
  logLevel: logLevel.NOTHING, connectionTimeout: 3000, requestTimeout: 5000, retry: { retries: 0 } });
const admin = kafka.admin();
admin.connect()
  .then(() => admin.listTopics())
  .then(() => admin.describeGroups(["services-probe"]))
  .then((r) => { if (r.groups.some((g) => g.errorCode)) throw new Error("coordinator not ready"); })
  .then(() => admin.disconnect().finally(() => process.exit(0)), () => process.exit(1));
' >/dev/null 2>&1)
}

wait_kafka_ready() { # deadline_seconds [pid of our broker]
  local deadline=$(( $(date +%s) + $1 )) pid="${2:-}"
  while :; do
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      echo "services: ERROR: kafka process $pid exited during startup; log: $KLOG" >&2
      tail -n 40 "$KLOG" >&2 || true
      return 1
    fi
    if tcp_open "$KHOST" "$KPORT"; then
      if have_kafkajs; then
        kafka_answers && return 0
      elif [[ -n "$pid" ]]; then
        # no node_modules: our broker is ready once this run logged "Kafka Server started"
        awk '/services.sh starting kafka/ { ok = 0 } /Kafka Server started/ { ok = 1 } END { exit !ok }' "$KLOG" && return 0
      else
        return 0 # not ours and no kafkajs available: a TCP answer is all we can check
      fi
    fi
    if (( $(date +%s) >= deadline )); then
      echo "services: ERROR: kafka on $KHOST:$KPORT not ready after ${1}s; log: $KLOG" >&2
      [[ -f "$KLOG" ]] && tail -n 40 "$KLOG" >&2
      return 1
    fi
    sleep 0.5
  done
}

kafka_classpath() { # prints the classpath, resolving it with Maven on first use
  local cpfile="$RUNTIME_DIR/cp.txt" cp jar ok=1
  if [[ -s "$cpfile" ]]; then
    cp="$(cat "$cpfile")"
    IFS=: read -r -a jars <<<"$cp"
    for jar in "${jars[@]}"; do [[ -f "$jar" ]] || { ok=0; break; }; done
    if (( ok )); then echo "$cp"; return 0; fi
    log "cached kafka classpath is stale (missing $jar), resolving again" >&2
  fi
  command -v mvn >/dev/null || die "Maven (mvn) is needed to fetch the Kafka $KAFKA_VERSION jars; install it (apt-get install maven) or point KAFKA_BROKERS at a running broker"
  mkdir -p "$RUNTIME_DIR"
  cat >"$RUNTIME_DIR/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.conversation-sync</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>$SLF4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
  log "resolving Kafka $KAFKA_VERSION jars with Maven (first run only; log: $RUNTIME_DIR/mvn.log)" >&2
  if ! (cd "$RUNTIME_DIR" && mvn -q -B dependency:build-classpath -Dmdep.outputFile=cp.txt.tmp >mvn.log 2>&1); then
    tail -n 30 "$RUNTIME_DIR/mvn.log" >&2 || true
    die "Maven could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION (see $RUNTIME_DIR/mvn.log)"
  fi
  mv "$RUNTIME_DIR/cp.txt.tmp" "$cpfile"
  cat "$cpfile"
}

write_props() {
  cat >"$PROPS.tmp" <<EOF
# generated by scripts/services.sh
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$KPORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KPORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA_DIR
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
EOF
  mv "$PROPS.tmp" "$PROPS"
}

kafka_up() {
  local t0 pid cp
  t0=$(now_ms)
  mkdir -p "$PORT_DIR"
  exec 9>"$PORT_DIR/lock"
  command -v flock >/dev/null && flock -w 180 9

  if pid="$(our_pid)"; then
    log "kafka already started by this script on $KHOST:$KPORT (pid $pid), waiting until it answers"
    wait_kafka_ready "$READY_TIMEOUT" "$pid" || exit 1
    log "kafka ready on $KHOST:$KPORT (pid $pid) after $(elapsed "$t0")"
    return 0
  fi
  if tcp_open "$KHOST" "$KPORT"; then
    log "kafka reachable on $KHOST:$KPORT, using it (not starting a broker)"
    wait_kafka_ready 30 || exit 1
    log "kafka answers on $KHOST:$KPORT after $(elapsed "$t0")"
    return 0
  fi
  is_loopback "$KHOST" || die "kafka at $KHOST:$KPORT (KAFKA_BROKERS) is not reachable and is not local, so it cannot be started here"
  rm -f "$PIDFILE"

  command -v java >/dev/null || die "java (17+) is needed to run Kafka $KAFKA_VERSION; install it (apt-get install openjdk-17-jre-headless) or point KAFKA_BROKERS at a running broker"
  if tcp_open 127.0.0.1 "$CPORT"; then
    die "controller port 127.0.0.1:$CPORT (kafka port + 1) is already in use by another process"
  fi
  cp="$(kafka_classpath)"
  write_props
  mkdir -p "$DATA_DIR"
  if [[ ! -f "$DATA_DIR/meta.properties" ]]; then
    local cluster_id
    cluster_id="$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>>"$PORT_DIR/format.log" | tail -n 1)"
    [[ -n "$cluster_id" ]] || die "kafka StorageTool random-uuid failed (see $PORT_DIR/format.log)"
    log "formatting kafka storage in $DATA_DIR (cluster id $cluster_id)"
    java -cp "$cp" kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$PROPS" >>"$PORT_DIR/format.log" 2>&1 \
      || { tail -n 20 "$PORT_DIR/format.log" >&2; die "kafka storage format failed (see $PORT_DIR/format.log)"; }
  fi

  log "starting kafka $KAFKA_VERSION on 127.0.0.1:$KPORT (controller $CPORT), log: $KLOG"
  {
    echo "=== $(date -u +%FT%TZ) services.sh starting kafka on port $KPORT"
  } >>"$KLOG"
  # setsid + nohup: the broker survives this script and its process group.
  # The inner shell records its own pid, then execs java (same pid).
  # shellcheck disable=SC2016
  setsid nohup bash -c 'echo $$ >"$0"; exec java $1 -cp "$2" kafka.Kafka "$3"' \
    "$PIDFILE" "$HEAP_OPTS" "$cp" "$PROPS" </dev/null >>"$KLOG" 2>&1 9>&- &
  local i
  for i in $(seq 1 50); do [[ -s "$PIDFILE" ]] && break; sleep 0.1; done
  pid="$(tr -dc '0-9' <"$PIDFILE" 2>/dev/null || true)"
  [[ -n "$pid" ]] || die "kafka did not start (no pid written); log: $KLOG"

  if ! wait_kafka_ready "$READY_TIMEOUT" "$pid"; then
    stop_pid "$pid" >/dev/null 2>&1 || true
    rm -f "$PIDFILE"
    exit 1
  fi
  log "kafka ready on 127.0.0.1:$KPORT (pid $pid) after $(elapsed "$t0")"
}

stop_pid() { # pid: SIGTERM, wait up to 20 s, then SIGKILL
  local pid="$1" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  log "kafka pid $pid still running after 20s, sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  return 1
}

kafka_down() {
  local pid t0
  t0=$(now_ms)
  if [[ ! -f "$PIDFILE" ]]; then
    log "no kafka started by this script on port $KPORT, nothing to stop"
    return 0
  fi
  if ! pid="$(our_pid)"; then
    log "stale kafka pid file for port $KPORT (process gone or not ours), removing it"
    rm -f "$PIDFILE"
    return 0
  fi
  log "stopping kafka on port $KPORT (pid $pid)"
  stop_pid "$pid" || die "could not stop kafka pid $pid"
  rm -f "$PIDFILE"
  log "kafka on port $KPORT stopped after $(elapsed "$t0")"
  if [[ "${1:-}" == "--purge" ]]; then
    rm -rf "$DATA_DIR"
    log "removed kafka data dir $DATA_DIR"
  fi
}

# ------------------------------------------------------ postgres / redis ----
pg_answers() { pg_isready -q -h "$1" -p "$2" -t 3 >/dev/null 2>&1; }
redis_answers() { [[ "$(timeout 5 redis-cli -h "$1" -p "$2" ping 2>/dev/null)" == PONG ]]; }

wait_for() { # seconds name cmd...
  local secs="$1" name="$2"; shift 2
  local deadline=$(( $(date +%s) + secs ))
  until "$@"; do
    (( $(date +%s) < deadline )) || return 1
    sleep 0.5
  done
}

postgres_up() {
  local h p
  read -r h p <<<"$(url_host_port "${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/conversation_sync}" 5432)"
  command -v pg_isready >/dev/null || { tcp_open "$h" "$p" && { log "postgresql reachable on $h:$p"; return 0; }; die "postgresql on $h:$p does not answer and pg_isready is not installed (apt-get install postgresql)"; }
  if pg_answers "$h" "$p"; then log "postgresql ready on $h:$p"; return 0; fi
  if is_loopback "$h" && command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql ]]; then
    local ver
    ver="$(ls /etc/postgresql | sort -V | tail -n 1)"
    [[ -n "$ver" ]] || die "postgresql is installed but has no cluster under /etc/postgresql"
    log "postgresql not answering on $h:$p, starting cluster $ver/main"
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
    wait_for 30 postgresql pg_answers "$h" "$p" || die "postgresql did not become ready on $h:$p within 30s (see /var/log/postgresql/)"
    log "postgresql ready on $h:$p"
    return 0
  fi
  die "postgresql does not answer on $h:$p and no local installation to start was found (set DATABASE_URL or install postgresql)"
}

redis_up() {
  local h p
  read -r h p <<<"$(url_host_port "${REDIS_URL:-redis://127.0.0.1:6379/0}" 6379)"
  command -v redis-cli >/dev/null || { tcp_open "$h" "$p" && { log "redis reachable on $h:$p"; return 0; }; die "redis on $h:$p does not answer and redis-cli is not installed (apt-get install redis-server)"; }
  if redis_answers "$h" "$p"; then log "redis ready on $h:$p"; return 0; fi
  if is_loopback "$h" && command -v redis-server >/dev/null; then
    log "redis not answering on $h:$p, starting redis-server on port $p"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    local logfile=/var/log/redis/ci.log
    touch "$logfile" 2>/dev/null || logfile="$STATE_ROOT/redis.log"
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$p" --save "" --appendonly no \
      --dir /var/lib/redis --logfile "$logfile" 9>&- || true
    wait_for 20 redis redis_answers "$h" "$p" || die "redis did not become ready on $h:$p within 20s (see $logfile)"
    log "redis ready on $h:$p"
    return 0
  fi
  die "redis does not answer on $h:$p and no local redis-server to start was found (set REDIS_URL or install redis-server)"
}

# ---------------------------------------------------------- redis cluster ----
CLUSTER_ROOT="${CONVERSATION_SYNC_HOME:-${HOME:-/tmp}/.cache/conversation-sync}/redis-cluster"
IFS=, read -r -a CLUSTER_PORTS <<<"${REDIS_CLUSTER_PORTS:-7001,7002,7003}"

cluster_node_pid() { # port -> pid of the node this script started there, if it still runs
  local port="$1" pid cmd
  pid="$(tr -dc '0-9' 2>/dev/null <"$CLUSTER_ROOT/$port/redis.pid")" || return 1
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline")"
  [[ "$cmd" == *redis-server*":$port"* ]] || return 1
  echo "$pid"
}

cluster_ok() { [[ "$(timeout 5 redis-cli -p "${CLUSTER_PORTS[0]}" cluster info 2>/dev/null | tr -d '\r' | grep '^cluster_state:')" == "cluster_state:ok" ]]; }

redis_cluster_up() {
  local port dir nodes=()
  command -v redis-server >/dev/null || die "REDIS_CLUSTER=1 needs redis-server (apt-get install redis-server)"
  for port in "${CLUSTER_PORTS[@]}"; do
    nodes+=("127.0.0.1:$port")
    redis_answers 127.0.0.1 "$port" && continue
    dir="$CLUSTER_ROOT/$port"
    # A node that starts again starts empty and unassigned: the cluster is formed anew below.
    # (9>&-: the daemon must not hold kafka_up's lock file, or the next up/restart waits on it.)
    rm -rf "$dir"; mkdir -p "$dir"
    log "starting redis cluster node on 127.0.0.1:$port (state in $dir)"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --cluster-enabled yes \
      --cluster-config-file "$dir/nodes.conf" --cluster-node-timeout 2000 --save "" --appendonly no \
      --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" 9>&- || die "redis-server on port $port did not start"
    wait_for 20 redis redis_answers 127.0.0.1 "$port" || die "redis cluster node on port $port not ready (see $dir/redis.log)"
  done
  if ! cluster_ok; then
    log "forming the redis cluster from ${nodes[*]}"
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$CLUSTER_ROOT/create.log" 2>&1 \
      || { tail -n 20 "$CLUSTER_ROOT/create.log" >&2; die "redis-cli --cluster create failed (see $CLUSTER_ROOT/create.log)"; }
    wait_for 30 "redis cluster" cluster_ok || die "redis cluster on ${nodes[*]} not ok after 30s"
  fi
  log "redis cluster ready on ${nodes[*]} (REDIS_URL=redis+cluster://$(IFS=,; echo "${nodes[*]}"))"
}

redis_cluster_down() {
  local port pid
  for port in "${CLUSTER_PORTS[@]}"; do
    pid="$(cluster_node_pid "$port")" || continue
    log "stopping redis cluster node on port $port (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    wait_for 10 "redis node $port to stop" bash -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null || true
    rm -rf "$CLUSTER_ROOT/$port"
  done
}

status() {
  local pid
  if pid="$(our_pid)"; then log "kafka on port $KPORT: started by this script, pid $pid, log $KLOG"
  elif tcp_open "$KHOST" "$KPORT"; then log "kafka on $KHOST:$KPORT: reachable (not started by this script)"
  else log "kafka on $KHOST:$KPORT: not running"; fi
}

case "${1:-}" in
  up)
    kafka_up
    if [[ "${SERVICES_SKIP_DB:-}" != 1 ]]; then postgres_up; redis_up; fi
    if [[ "${REDIS_CLUSTER:-}" == 1 ]]; then redis_cluster_up; fi
    log "all services up (KAFKA_BROKERS=$BROKERS)"
    ;;
  down)
    kafka_down "${2:-}"
    if [[ "${REDIS_CLUSTER:-}" == 1 ]]; then redis_cluster_down; fi
    ;;
  restart)
    # Only a broker this script started (the fault suite restarts it while traffic flows).
    our_pid >/dev/null || { echo "services: kafka on $KHOST:$KPORT was not started by this script: not restarting it" >&2; exit 3; }
    kafka_down
    kafka_up
    ;;
  status) status ;;
  *) echo "usage: $0 up | down [--purge] | restart | status" >&2; exit 2 ;;
esac
