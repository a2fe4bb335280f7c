# Settings shared by start.sh, stop.sh, status.sh and fetch-jars.sh. Sourced, not executed.
# Every value can be overridden from the environment; README.md lists them.

ROCKETMQ_SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

ROCKETMQ_VERSION=${ROCKETMQ_VERSION:-5.3.3}
ROCKETMQ_CACHE=${ROCKETMQ_CACHE:-$HOME/.cache/rocketmq-napi}
ROCKETMQ_LIB=$ROCKETMQ_CACHE/rocketmq-$ROCKETMQ_VERSION/lib

ROCKETMQ_HOST=127.0.0.1
ROCKETMQ_NAMESRV_PORT=${ROCKETMQ_NAMESRV_PORT:-9876}
ROCKETMQ_BROKER_A_PORT=${ROCKETMQ_BROKER_A_PORT:-10911}
ROCKETMQ_BROKER_B_PORT=${ROCKETMQ_BROKER_B_PORT:-10921}
ROCKETMQ_CLUSTER_NAME=${ROCKETMQ_CLUSTER_NAME:-DefaultCluster}
ROCKETMQ_NAMESRV_ADDR=$ROCKETMQ_HOST:$ROCKETMQ_NAMESRV_PORT

# One directory per cluster, keyed by the NameServer port so clusters on other ports can run side by side.
# tmpfs keeps the stores off a disk that may be near the broker's 90 % "disk full" limit.
ROCKETMQ_STATE_DIR=${ROCKETMQ_STATE_DIR:-/dev/shm/rocketmq-napi-$ROCKETMQ_NAMESRV_PORT}
# Written into every state directory this project creates; nothing is ever deleted without it.
ROCKETMQ_STATE_MARKER=.rocketmq-napi-state

ROCKETMQ_START_TIMEOUT=${ROCKETMQ_START_TIMEOUT:-120}
ROCKETMQ_STOP_TIMEOUT=${ROCKETMQ_STOP_TIMEOUT:-30}

ROCKETMQ_NAMESRV_JVM_OPTS=${ROCKETMQ_NAMESRV_JVM_OPTS:--Xms256m -Xmx256m -XX:+UseSerialGC}
ROCKETMQ_BROKER_JVM_OPTS=${ROCKETMQ_BROKER_JVM_OPTS:--Xms512m -Xmx1g -XX:MaxDirectMemorySize=512m -XX:+UseG1GC}

# 4.x and 5.x differ in how they are started (see rocketmq_write_4x_logback and start.sh).
rocketmq_is_4x() { [[ $ROCKETMQ_VERSION == 4.* ]]; }

# Processes in start order; stop.sh stops them in reverse (brokers first).
# ROCKETMQ_BROKER_NAMES="broker-a" starts a one-broker cluster (the secured test runs use it).
read -r -a ROCKETMQ_BROKERS <<<"${ROCKETMQ_BROKER_NAMES:-broker-a broker-b}"

# Security profile of the cluster start.sh writes (see README.md, "Secured clusters"):
#   open  no authentication, no TLS (the default);
#   acl   ACL 2.0 on the brokers (authenticationEnabled / authorizationEnabled), with the initial
#         admin user ROCKETMQ_ACL_ADMIN_USER / ROCKETMQ_ACL_ADMIN_PASSWORD, which the brokers also
#         use for their own inner requests;
#   acl1  4.x only: the plain ACL (aclEnable=true), accounts from ROCKETMQ_PLAIN_ACL_FILE (a
#         plain_acl.yml), else one admin account with the credentials above;
#   tls   TLS on the NameServer and brokers (5.x), ROCKETMQ_TLS_MODE enforcing (plain connections refused)
#         or permissive (both), ROCKETMQ_TLS_CLIENT_AUTH none or require (mutual TLS); certificates
#         generated into $ROCKETMQ_STATE_DIR/tls (ca.pem, client.pem, client.key, other-ca.pem).
ROCKETMQ_PROFILE=${ROCKETMQ_PROFILE:-open}
ROCKETMQ_TLS_MODE=${ROCKETMQ_TLS_MODE:-enforcing}
ROCKETMQ_TLS_CLIENT_AUTH=${ROCKETMQ_TLS_CLIENT_AUTH:-none}
ROCKETMQ_ACL_ADMIN_USER=${ROCKETMQ_ACL_ADMIN_USER:-rocketmq-admin}
ROCKETMQ_ACL_ADMIN_PASSWORD=${ROCKETMQ_ACL_ADMIN_PASSWORD:-admin-secret-1234}

rocketmq_java() {
  if [[ -n ${ROCKETMQ_JAVA:-} ]]; then
    echo "$ROCKETMQ_JAVA"
  elif [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then
    echo "$JAVA_HOME/bin/java"
  elif [[ -x /usr/lib/jvm/java-17-openjdk-amd64/bin/java ]]; then
    echo /usr/lib/jvm/java-17-openjdk-amd64/bin/java
  else
    command -v java
  fi
}

# JVM options every process of the cluster gets besides its heap and GC flags.
ROCKETMQ_COMMON_JVM_OPTS=(
  -server -XX:-OmitStackTraceInFastThrow -XX:-UseLargePages
  # JDK 17: the store and its dependencies reach into these JDK internals.
  --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED
  --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED
  --add-exports=java.base/sun.nio.ch=ALL-UNNAMED
  -cp "$ROCKETMQ_LIB/*"
)

# rocketmq_launch JAVA NAME LOGBACK_XML MAIN_CLASS JVM_OPTS ARGS...: starts one JVM in its own session (so it
# outlives the caller's process group), logging under $ROCKETMQ_STATE_DIR/NAME (stdout.log is appended to, so a
# restarted broker keeps its earlier output), and records its pid in NAME.pid. Returns 1 when no pid appears
# within 10 s. The JVM must not inherit the start/stop lock, or the lock would stay held while the cluster runs.
rocketmq_launch() {
  local java_bin=$1 name=$2 logback=$3 main_class=$4 jvm_opts=$5
  shift 5
  local dir=$ROCKETMQ_STATE_DIR/$name pid_file=$ROCKETMQ_STATE_DIR/$name.pid extra_opts=()
  # Profile-specific system properties (tls: the tls.* ones), kept in the state directory so that a broker
  # restarted by broker.sh gets them too.
  if [[ -s $ROCKETMQ_STATE_DIR/jvm-extra.opts ]]; then read -ra extra_opts <"$ROCKETMQ_STATE_DIR/jvm-extra.opts"; fi
  # A pid file left by an earlier run of this process would otherwise pass the wait below at once.
  rm -f -- "$pid_file"
  # shellcheck disable=SC2086 # jvm_opts is a word list by design
  setsid bash -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$pid_file" \
    "$java_bin" $jvm_opts "${ROCKETMQ_COMMON_JVM_OPTS[@]}" "${extra_opts[@]}" \
    "-Duser.home=$dir/home" "-Drocketmq.home.dir=$dir/home" "-Drmq.logback.configurationFile=$logback" \
    "$main_class" "$@" >>"$dir/stdout.log" 2>&1 </dev/null {ROCKETMQ_LOCK_FD}>&- &
  local waited=0
  while [[ ! -s $pid_file ]]; do
    ((waited++ < 200)) || return 1
    sleep 0.05
  done
  echo "started $name (pid $(<"$pid_file"))"
}

# rocketmq_write_tls_files DIR: the tls profile's certificates (EC P-256, valid 30 days), made with openssl:
#   ca.pem / ca.key          the test CA;
#   server.pem / server.key  for 127.0.0.1 and localhost (IP and DNS SANs), signed by the CA; the key is
#                            unencrypted PKCS#8, the form Netty's SslContextBuilder reads without a password;
#   client.pem / client.key  a client certificate (mutual TLS), signed by the CA;
#   other-ca.pem             an unrelated CA, to check that a client trusting it is refused.
rocketmq_write_tls_files() {
  local dir=$1 name
  mkdir -p "$dir"
  (
    cd "$dir" || exit 1
    for name in ca other-ca; do
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
        -subj "/CN=rocketmq-napi test $name" -keyout "$name.key" -out "$name.pem" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
    done
    for name in server client; do
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=rocketmq-napi test $name" \
        -keyout "$name.raw.key" -out "$name.csr" 2>/dev/null
      openssl pkcs8 -topk8 -nocrypt -in "$name.raw.key" -out "$name.key"
      if [[ $name == server ]]; then
        printf '%s\n' basicConstraints=CA:FALSE keyUsage=critical,digitalSignature \
          extendedKeyUsage=serverAuth,clientAuth subjectAltName=IP:127.0.0.1,DNS:localhost >"$name.ext"
      else
        printf '%s\n' basicConstraints=CA:FALSE keyUsage=critical,digitalSignature \
          extendedKeyUsage=clientAuth subjectAltName=DNS:rocketmq-napi-client >"$name.ext"
      fi
      openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
        -extfile "$name.ext" -out "$name.pem" 2>/dev/null
      rm -f "$name.raw.key" "$name.csr" "$name.ext"
    done
  )
}

# rocketmq_launch_broker JAVA NAME: starts one broker from the broker.properties start.sh wrote for it.
rocketmq_launch_broker() {
  rocketmq_launch "$1" "$2" rmq.broker.logback.xml org.apache.rocketmq.broker.BrokerStartup \
    "$ROCKETMQ_BROKER_JVM_OPTS" -c "$ROCKETMQ_STATE_DIR/$2/broker.properties"
}

# rocketmq_write_4x_logback HOME CONF_NAME LOG_NAME: a 4.x NameServer or broker configures logback from the FILE
# <rocketmq.home.dir>/conf/CONF_NAME (logback_namesrv.xml / logback_broker.xml) and exits at start when it is
# missing (5.x reads its configuration from the jars instead). This is our own minimal configuration: every logger
# at INFO into one file, <HOME>/logs/rocketmqlogs/LOG_NAME, where 5.x's shipped configuration puts the same log,
# with UTC timestamps. The JVM's logback classes are the plain ch.qos.logback ones in 4.x.
rocketmq_write_4x_logback() {
  local home=$1 conf_name=$2 log_name=$3
  mkdir -p "$home/conf"
  cat >"$home/conf/$conf_name" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by rocketmq-napi's scripts/rocketmq/env.sh for a local RocketMQ $ROCKETMQ_VERSION test cluster. -->
<configuration>
  <appender name="file" class="ch.qos.logback.core.FileAppender">
    <file>$home/logs/rocketmqlogs/$log_name</file>
    <append>true</append>
    <encoder>
      <pattern>%d{yyyy-MM-dd HH:mm:ss.SSS,UTC} %-5level [%thread] %logger{0} - %msg%n</pattern>
    </encoder>
  </appender>
  <root level="INFO">
    <appender-ref ref="file"/>
  </root>
</configuration>
EOF
}

rocketmq_broker_port() {
  case $1 in
    broker-a) echo "$ROCKETMQ_BROKER_A_PORT" ;;
    broker-b) echo "$ROCKETMQ_BROKER_B_PORT" ;;
    *) echo "unknown broker $1" >&2; return 1 ;;
  esac
}

# Pid recorded for a process of this cluster, printed only when that pid is still the process we started
# (its command line names our state directory), so a recycled pid is never signalled.
rocketmq_live_pid() {
  local pid_file=$ROCKETMQ_STATE_DIR/$1.pid pid
  [[ -f $pid_file ]] || return 1
  pid=$(<"$pid_file")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$ROCKETMQ_STATE_DIR/" || return 1
  echo "$pid"
}

# Runs wait-ready.mjs for every broker; extra arguments (e.g. --timeout, --watch-pid) are passed through.
rocketmq_wait_ready() {
  local broker broker_args=()
  for broker in "${ROCKETMQ_BROKERS[@]}"; do
    broker_args+=(--broker "$broker=$ROCKETMQ_HOST:$(rocketmq_broker_port "$broker")")
  done
  # A tls cluster is polled over TLS (with the client certificate, for mutual TLS), whatever its mode.
  if [[ -s $ROCKETMQ_STATE_DIR/tls/ca.pem ]]; then
    broker_args+=(--tls-dir "$ROCKETMQ_STATE_DIR/tls")
  fi
  node "$ROCKETMQ_SCRIPT_DIR/wait-ready.mjs" --namesrv "$ROCKETMQ_NAMESRV_ADDR" "${broker_args[@]}" "$@"
}

# Stops the given processes of this cluster together: SIGTERM, wait up to ROCKETMQ_STOP_TIMEOUT seconds,
# then SIGKILL whatever is still alive. Names without a live recorded pid are skipped.
rocketmq_stop_group() {
  local name pid pids=() waited=0
  for name in "$@"; do
    if pid=$(rocketmq_live_pid "$name"); then
      echo "stopping $name (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  ((${#pids[@]} > 0)) || return 0
  while ((waited < ROCKETMQ_STOP_TIMEOUT * 10)); do
    rocketmq_any_alive "${pids[@]}" || return 0
    sleep 0.1
    waited=$((waited + 1))
  done
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      echo "pid $pid still alive after ${ROCKETMQ_STOP_TIMEOUT}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  while rocketmq_any_alive "${pids[@]}"; do sleep 0.1; done
}

rocketmq_any_alive() {
  local pid
  for pid in "$@"; do
    kill -0 "$pid" 2>/dev/null && return 0
  done
  return 1
}

# Brokers first (they unregister from the NameServer on the way down), then the NameServer.
# Leaves the state directory in place.
rocketmq_stop_processes() {
  rocketmq_stop_group "${ROCKETMQ_BROKERS[@]}"
  rocketmq_stop_group namesrv
}

# Deletes the state directory, but only one this project created (it carries the marker file).
rocketmq_remove_state_dir() {
  [[ -d $ROCKETMQ_STATE_DIR ]] || return 0
  if [[ ! -f $ROCKETMQ_STATE_DIR/$ROCKETMQ_STATE_MARKER ]]; then
    echo "refusing to delete $ROCKETMQ_STATE_DIR: it lacks $ROCKETMQ_STATE_MARKER, so it was not created by start.sh" >&2
    return 1
  fi
  rm -rf -- "$ROCKETMQ_STATE_DIR"
}

# Serialises start/stop of one cluster (same state directory) between concurrent callers.
rocketmq_lock() {
  if ! command -v flock >/dev/null; then
    exec {ROCKETMQ_LOCK_FD}</dev/null # keeps start.sh's "close the lock fd" redirection valid
    return 0
  fi
  # Kept in the cache, not beside the state directory, so a stopped cluster leaves nothing in /dev/shm.
  local lock_file=$ROCKETMQ_CACHE/locks/${ROCKETMQ_STATE_DIR//\//_}.lock
  mkdir -p "$ROCKETMQ_CACHE/locks"
  exec {ROCKETMQ_LOCK_FD}>"$lock_file"
  flock -w "$((ROCKETMQ_START_TIMEOUT + ROCKETMQ_STOP_TIMEOUT * 3))" "$ROCKETMQ_LOCK_FD" || {
    echo "could not lock $lock_file: another start/stop of this cluster is still running" >&2
    return 1
  }
}
