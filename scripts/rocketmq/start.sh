#!/usr/bin/env bash
# Starts a local RocketMQ cluster: one NameServer and two master brokers (broker-a, broker-b) on 127.0.0.1
# (a 4.x cluster listens on all interfaces; README.md).
# Returns once the NameServer routes to both brokers and prints NAMESRV_ADDR=host:port as its last line.
# Settings: see env.sh and README.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

started_at=$(date +%s%N)
rocketmq_lock

# Logback's own status lines and the NameServer's per-connection lines (our readiness polls) are left out.
print_log_tails() {
  local file
  for file in "$ROCKETMQ_STATE_DIR"/*/stdout.log "$ROCKETMQ_STATE_DIR"/*/home/logs/rocketmqlogs/{namesrv,broker}.log; do
    [[ -s $file ]] || continue
    echo "----- tail of $file -----" >&2
    grep -v -e ' |-INFO in ' -e 'NETTY SERVER PIPELINE' "$file" | tail -n 20 >&2
  done
}

# On any failure after processes were launched: show why, stop them, keep the logs for inspection.
fail_started() {
  echo "rocketmq: $1" >&2
  print_log_tails
  rocketmq_stop_processes >&2
  echo "rocketmq: start failed; logs kept in $ROCKETMQ_STATE_DIR (stop.sh or the next start.sh removes them)" >&2
  exit 1
}

# --- an existing state directory: a live cluster, a stale leftover, or something not ours -------------------
if [[ -d $ROCKETMQ_STATE_DIR ]]; then
  [[ -f $ROCKETMQ_STATE_DIR/$ROCKETMQ_STATE_MARKER ]] || {
    echo "rocketmq: $ROCKETMQ_STATE_DIR exists but was not created by start.sh; choose another ROCKETMQ_STATE_DIR" >&2
    exit 1
  }
  live=()
  for name in namesrv "${ROCKETMQ_BROKERS[@]}"; do
    if pid=$(rocketmq_live_pid "$name"); then live+=("$name:$pid"); fi
  done
  if ((${#live[@]} == 1 + ${#ROCKETMQ_BROKERS[@]})) && rocketmq_wait_ready --timeout 10 --quiet; then
    echo "rocketmq: cluster already running (${live[*]}), state in $ROCKETMQ_STATE_DIR"
    echo "NAMESRV_ADDR=$ROCKETMQ_NAMESRV_ADDR"
    exit 0
  fi
  if ((${#live[@]} > 0)); then
    echo "rocketmq: $ROCKETMQ_STATE_DIR holds a partly running or unready cluster (${live[*]}); run stop.sh first" >&2
    exit 1
  fi
  echo "rocketmq: removing stale state directory $ROCKETMQ_STATE_DIR"
  rocketmq_remove_state_dir
fi

# --- preconditions ---------------------------------------------------------------------------------------
# The broker and NameServer call InetAddress.getLocalHost(); an unresolvable hostname can stall or break startup.
host_name=$(hostname)
if ! getent hosts "$host_name" >/dev/null; then
  hosts_line="127.0.0.1 $host_name"
  if [[ ${CI:-} == true && $(id -u) == 0 ]]; then
    echo "rocketmq: hostname $host_name does not resolve; CI=true and root, so appending '$hosts_line' to /etc/hosts"
    echo "$hosts_line" >>/etc/hosts
  else
    echo "rocketmq: hostname '$host_name' does not resolve, which stalls or breaks RocketMQ startup." >&2
    echo "  Add this line to /etc/hosts (as root):  $hosts_line" >&2
    exit 1
  fi
fi

command -v node >/dev/null || { echo "rocketmq: node not found (needed for the readiness check)" >&2; exit 1; }
java_bin=$(rocketmq_java) || true
[[ -n $java_bin && -x $java_bin ]] || { echo "rocketmq: no java found; install JDK 17 or set ROCKETMQ_JAVA / JAVA_HOME" >&2; exit 1; }

bash "$ROCKETMQ_SCRIPT_DIR/fetch-jars.sh"

# Each broker uses listenPort, listenPort-2 (fast channel) and listenPort+1 (HA, bound on all interfaces).
ports=("$ROCKETMQ_NAMESRV_PORT")
for broker in "${ROCKETMQ_BROKERS[@]}"; do
  port=$(rocketmq_broker_port "$broker")
  ports+=("$((port - 2))" "$port" "$((port + 1))")
done
if [[ $(printf '%s\n' "${ports[@]}" | sort | uniq -d) ]]; then
  echo "rocketmq: ports overlap (${ports[*]}); broker ports need at least 4 apart from each other and the NameServer" >&2
  exit 1
fi
for port in "${ports[@]}"; do
  if command -v ss >/dev/null; then
    holder=$(ss -Hltnp "( sport = :$port )" 2>/dev/null || true)
  elif (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    holder="something accepts connections on 127.0.0.1:$port"
  else
    holder=
  fi
  if [[ -n $holder ]]; then
    echo "rocketmq: port $port is already in use (needed by the cluster for NameServer $ROCKETMQ_NAMESRV_ADDR):" >&2
    echo "  $holder" >&2
    echo "  choose other ports with ROCKETMQ_NAMESRV_PORT / ROCKETMQ_BROKER_A_PORT / ROCKETMQ_BROKER_B_PORT" >&2
    exit 1
  fi
done

# --- configuration -----------------------------------------------------------------------------------------
mkdir -p "$ROCKETMQ_STATE_DIR"
echo "rocketmq $ROCKETMQ_VERSION, started $(date -u +%FT%TZ)" >"$ROCKETMQ_STATE_DIR/$ROCKETMQ_STATE_MARKER"
echo "$ROCKETMQ_VERSION" >"$ROCKETMQ_STATE_DIR/version"

mkdir -p "$ROCKETMQ_STATE_DIR/namesrv/home"
cat >"$ROCKETMQ_STATE_DIR/namesrv/namesrv.properties" <<EOF
listenPort=$ROCKETMQ_NAMESRV_PORT
bindAddress=$ROCKETMQ_HOST
kvConfigPath=$ROCKETMQ_STATE_DIR/namesrv/kvConfig.json
# (4.x has neither bindAddress nor scanAvailableNameSrv and ignores both: its NameServer listens on all interfaces.)
# The NameServer's internal client is pointed at <first NIC address>:<port> and would re-dial it every 3 s;
# with the server bound to loopback that only fails, and nothing here needs it.
scanAvailableNameSrv=false
EOF

for broker in "${ROCKETMQ_BROKERS[@]}"; do
  dir=$ROCKETMQ_STATE_DIR/$broker
  mkdir -p "$dir/home" "$dir/store"
  cat >"$dir/broker.properties" <<EOF
brokerClusterName=$ROCKETMQ_CLUSTER_NAME
brokerName=$broker
brokerId=0
brokerRole=ASYNC_MASTER
flushDiskType=ASYNC_FLUSH
namesrvAddr=$ROCKETMQ_NAMESRV_ADDR
# Advertised and bound addresses stay on loopback; the default would be the first NIC address.
# (4.x has no bindAddress and ignores it: its brokers listen on all interfaces.)
brokerIP1=$ROCKETMQ_HOST
brokerIP2=$ROCKETMQ_HOST
bindAddress=$ROCKETMQ_HOST
listenPort=$(rocketmq_broker_port "$broker")
storePathRootDir=$dir/store
storePathCommitLog=$dir/store/commitlog
# Small mapped files so tmpfs use stays low (defaults: 1 GiB commit log, 6 MB per queue file, ~420 MB index).
mappedFileSizeCommitLog=67108864
mappedFileSizeConsumeQueue=120000
maxHashSlotNum=50000
maxIndexNum=200000
autoCreateTopicEnable=true
defaultTopicQueueNums=8
autoCreateSubscriptionGroup=true
# The message trace topic (RMQ_SYS_TRACE_TOPIC), where clients with enableMessageTrace send their records.
traceTopicEnable=true
# SQL92 property filtering, also for retry messages.
enablePropertyFilter=true
filterSupportRetry=true
diskMaxUsedSpaceRatio=95
transientStorePoolEnable=false
warmMapedFileEnable=false
# Generous queueing limits so a busy 2-core machine does not answer "broker busy".
waitTimeMillsInSendQueue=3000
osPageCacheBusyTimeOutMills=5000
EOF
done

# --- security profile (env.sh: ROCKETMQ_PROFILE) ----------------------------------------------------------
case $ROCKETMQ_PROFILE in
  open) ;;
  acl)
    rocketmq_is_4x && { echo "rocketmq: ROCKETMQ_PROFILE=acl is ACL 2.0, which needs RocketMQ 5.3 or later" >&2; exit 1; }
    for broker in "${ROCKETMQ_BROKERS[@]}"; do
      cat >>"$ROCKETMQ_STATE_DIR/$broker/broker.properties" <<EOF
# ACL 2.0: every request must carry a valid signature of a known user (authentication) and that user
# needs a grant for the resource (authorization). The initial user is a super user; the broker signs
# its own inner requests with the same credentials.
authenticationEnabled=true
authorizationEnabled=true
authenticationProvider=org.apache.rocketmq.auth.authentication.provider.DefaultAuthenticationProvider
authenticationMetadataProvider=org.apache.rocketmq.auth.authentication.provider.LocalAuthenticationMetadataProvider
authorizationProvider=org.apache.rocketmq.auth.authorization.provider.DefaultAuthorizationProvider
authorizationMetadataProvider=org.apache.rocketmq.auth.authorization.provider.LocalAuthorizationMetadataProvider
initAuthenticationUser={"username":"$ROCKETMQ_ACL_ADMIN_USER","password":"$ROCKETMQ_ACL_ADMIN_PASSWORD"}
innerClientAuthenticationCredentials={"accessKey":"$ROCKETMQ_ACL_ADMIN_USER","secretKey":"$ROCKETMQ_ACL_ADMIN_PASSWORD"}
EOF
    done
    ;;
  acl1)
    # The 4.x plain ACL (ACL 1.0): 4.x brokers only (5.3 accepts aclEnable but no longer enforces it).
    # Accounts come from <rocketmq.home.dir>/conf/plain_acl.yml: ROCKETMQ_PLAIN_ACL_FILE, else one
    # admin account with the admin credentials above.
    rocketmq_is_4x || { echo "rocketmq: ROCKETMQ_PROFILE=acl1 (plain ACL) needs RocketMQ 4.x; 5.3 uses ACL 2.0 (acl)" >&2; exit 1; }
    for broker in "${ROCKETMQ_BROKERS[@]}"; do
      echo "aclEnable=true" >>"$ROCKETMQ_STATE_DIR/$broker/broker.properties"
      mkdir -p "$ROCKETMQ_STATE_DIR/$broker/home/conf"
      if [[ -n ${ROCKETMQ_PLAIN_ACL_FILE:-} ]]; then
        cp "$ROCKETMQ_PLAIN_ACL_FILE" "$ROCKETMQ_STATE_DIR/$broker/home/conf/plain_acl.yml"
      else
        cat >"$ROCKETMQ_STATE_DIR/$broker/home/conf/plain_acl.yml" <<EOF
accounts:
  - accessKey: $ROCKETMQ_ACL_ADMIN_USER
    secretKey: $ROCKETMQ_ACL_ADMIN_PASSWORD
    admin: true
    defaultTopicPerm: PUB|SUB
    defaultGroupPerm: PUB|SUB
EOF
      fi
    done
    ;;
  tls)
    # TLS on every remoting port (NameServer, broker listenPort and fast port), with certificates made here:
    # a CA, a server certificate for 127.0.0.1/localhost, a client certificate (mutual TLS), and an unrelated
    # CA for "wrong CA" checks. The brokers dial the NameServer over TLS too and verify it against the CA.
    rocketmq_is_4x && { echo "rocketmq: ROCKETMQ_PROFILE=tls is written for RocketMQ 5.x" >&2; exit 1; }
    case $ROCKETMQ_TLS_MODE in enforcing | permissive) ;; *)
      echo "rocketmq: ROCKETMQ_TLS_MODE must be enforcing or permissive; got '$ROCKETMQ_TLS_MODE'" >&2; exit 1 ;;
    esac
    case $ROCKETMQ_TLS_CLIENT_AUTH in none | require) ;; *)
      echo "rocketmq: ROCKETMQ_TLS_CLIENT_AUTH must be none or require; got '$ROCKETMQ_TLS_CLIENT_AUTH'" >&2; exit 1 ;;
    esac
    command -v openssl >/dev/null || { echo "rocketmq: ROCKETMQ_PROFILE=tls needs openssl" >&2; exit 1; }
    tls_dir=$ROCKETMQ_STATE_DIR/tls
    rocketmq_write_tls_files "$tls_dir"
    client_auth=$([[ $ROCKETMQ_TLS_CLIENT_AUTH == require ]] && echo true || echo false)
    # The tls.* system properties of RocketMQ's TlsSystemConfig, also written to the config file TlsHelper
    # reads over them (its default path, /etc/rocketmq/tls.properties, must not leak in from the host).
    cat >"$tls_dir/tls.properties" <<EOF
tls.test.mode.enable=false
tls.server.need.client.auth=$ROCKETMQ_TLS_CLIENT_AUTH
tls.server.keyPath=$tls_dir/server.key
tls.server.certPath=$tls_dir/server.pem
tls.server.authClient=$client_auth
tls.server.trustCertPath=$tls_dir/ca.pem
tls.client.keyPath=$tls_dir/client.key
tls.client.certPath=$tls_dir/client.pem
tls.client.authServer=true
tls.client.trustCertPath=$tls_dir/ca.pem
EOF
    {
      printf -- '-Dtls.server.mode=%s -Dtls.enable=true -Dtls.config.file=%s' "$ROCKETMQ_TLS_MODE" "$tls_dir/tls.properties"
      sed 's/^/ -D/' "$tls_dir/tls.properties" | tr -d '\n'
      echo
    } >"$ROCKETMQ_STATE_DIR/jvm-extra.opts"
    ;;
  *) echo "rocketmq: unknown ROCKETMQ_PROFILE '$ROCKETMQ_PROFILE' (open, acl, acl1, tls)" >&2; exit 1 ;;
esac
echo "$ROCKETMQ_PROFILE" >"$ROCKETMQ_STATE_DIR/profile"

# 4.x reads its logging configuration from files under rocketmq.home.dir (the JVM's -Drocketmq.home.dir, see
# rocketmq_launch) and exits without them; 5.x takes the one named by -Drmq.logback.configurationFile from its jars.
if rocketmq_is_4x; then
  rocketmq_write_4x_logback "$ROCKETMQ_STATE_DIR/namesrv/home" logback_namesrv.xml namesrv.log
  for broker in "${ROCKETMQ_BROKERS[@]}"; do
    rocketmq_write_4x_logback "$ROCKETMQ_STATE_DIR/$broker/home" logback_broker.xml broker.log
  done
fi

# --- launch ------------------------------------------------------------------------------------------------
# launch NAME LOGBACK_XML MAIN_CLASS JVM_OPTS ARGS...: rocketmq_launch (env.sh) with this run's java; a JVM that
# records no pid stops the start.
launch() {
  rocketmq_launch "$java_bin" "$@" || fail_started "$1 did not start (no pid after 10s)"
}

trap 'fail_started "interrupted"' INT TERM

launch namesrv rmq.namesrv.logback.xml org.apache.rocketmq.namesrv.NamesrvStartup "$ROCKETMQ_NAMESRV_JVM_OPTS" \
  -c "$ROCKETMQ_STATE_DIR/namesrv/namesrv.properties"
namesrv_pid=$(<"$ROCKETMQ_STATE_DIR/namesrv.pid")

# Brokers register once at boot and retry only 10 s later, so wait until the NameServer accepts connections.
deadline=$(($(date +%s) + ROCKETMQ_START_TIMEOUT))
until (exec 3<>"/dev/tcp/$ROCKETMQ_HOST/$ROCKETMQ_NAMESRV_PORT") 2>/dev/null; do
  kill -0 "$namesrv_pid" 2>/dev/null || fail_started "NameServer exited during startup"
  (($(date +%s) < deadline)) || fail_started "NameServer not listening on $ROCKETMQ_NAMESRV_ADDR after ${ROCKETMQ_START_TIMEOUT}s"
  sleep 0.1
done

watch_args=(--watch-pid "$namesrv_pid")
for broker in "${ROCKETMQ_BROKERS[@]}"; do
  rocketmq_launch_broker "$java_bin" "$broker" || fail_started "$broker did not start (no pid after 10s)"
  watch_args+=(--watch-pid "$(<"$ROCKETMQ_STATE_DIR/$broker.pid")")
done

remaining=$((deadline - $(date +%s)))
((remaining > 0)) || remaining=1
rocketmq_wait_ready --timeout "$remaining" "${watch_args[@]}" ||
  fail_started "cluster not ready (timeout ${ROCKETMQ_START_TIMEOUT}s, ROCKETMQ_START_TIMEOUT)"
trap - INT TERM

elapsed_ms=$((($(date +%s%N) - started_at) / 1000000))
echo "rocketmq $ROCKETMQ_VERSION ready in $((elapsed_ms / 1000)).$(printf %03d $((elapsed_ms % 1000)))s; state and logs in $ROCKETMQ_STATE_DIR"
echo "NAMESRV_ADDR=$ROCKETMQ_NAMESRV_ADDR"
