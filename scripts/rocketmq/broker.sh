#!/usr/bin/env bash
# Stops or starts ONE broker of a cluster that start.sh started (same ROCKETMQ_NAMESRV_PORT /
# ROCKETMQ_STATE_DIR), for fault tests: the broker goes away and comes back while the NameServer
# and the other broker keep running.
#
#   bash scripts/rocketmq/broker.sh stop broker-b     # SIGTERM (SIGKILL after ROCKETMQ_STOP_TIMEOUT s)
#   bash scripts/rocketmq/broker.sh start broker-b    # returns once the NameServer routes to it again
#   bash scripts/rocketmq/broker.sh status broker-b   # exit 0 when running, 1 when not
#
# The broker's directory (broker.properties, store, logs) is kept across stop and start: a graceful
# stop flushes the commit log, consume queues and consumer offsets, and the restarted broker recovers
# them, so no stored message is lost. Only stop.sh deletes the state directory.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

usage() {
  echo "usage: broker.sh stop|start|status $(IFS="|"; echo "${ROCKETMQ_BROKERS[*]}")" >&2
  exit 2
}
(($# == 2)) || usage
action=$1 broker=$2
rocketmq_broker_port "$broker" >/dev/null 2>&1 || usage

if [[ ! -f $ROCKETMQ_STATE_DIR/$ROCKETMQ_STATE_MARKER || ! -f $ROCKETMQ_STATE_DIR/$broker/broker.properties ]]; then
  echo "rocketmq: no cluster in $ROCKETMQ_STATE_DIR (start.sh first)" >&2
  exit 1
fi

case $action in
  status)
    if pid=$(rocketmq_live_pid "$broker"); then
      echo "$broker: running (pid $pid)"
      exit 0
    fi
    echo "$broker: not running"
    exit 1
    ;;
  stop)
    rocketmq_lock
    rocketmq_stop_group "$broker"
    echo "rocketmq: $broker stopped; its store stays in $ROCKETMQ_STATE_DIR/$broker"
    ;;
  start)
    rocketmq_lock
    if pid=$(rocketmq_live_pid "$broker"); then
      echo "rocketmq: $broker already running (pid $pid)"
      exit 0
    fi
    namesrv_pid=$(rocketmq_live_pid namesrv) || {
      echo "rocketmq: the NameServer of $ROCKETMQ_STATE_DIR is not running; restart the whole cluster" >&2
      exit 1
    }
    java_bin=$(rocketmq_java) || true
    [[ -n $java_bin && -x $java_bin ]] || { echo "rocketmq: no java found; set ROCKETMQ_JAVA / JAVA_HOME" >&2; exit 1; }
    port=$(rocketmq_broker_port "$broker")
    for p in $((port - 2)) "$port" $((port + 1)); do
      if command -v ss >/dev/null && [[ -n $(ss -Hltn "( sport = :$p )" 2>/dev/null) ]]; then
        echo "rocketmq: port $p of $broker is still in use" >&2
        exit 1
      fi
    done
    rocketmq_launch_broker "$java_bin" "$broker" || { echo "rocketmq: $broker did not start (no pid after 10s)" >&2; exit 1; }
    if ! node "$ROCKETMQ_SCRIPT_DIR/wait-ready.mjs" --namesrv "$ROCKETMQ_NAMESRV_ADDR" \
      --broker "$broker=$ROCKETMQ_HOST:$port" --timeout "$ROCKETMQ_START_TIMEOUT" \
      --watch-pid "$namesrv_pid" --watch-pid "$(<"$ROCKETMQ_STATE_DIR/$broker.pid")"; then
      echo "rocketmq: $broker not routable; tail of its log:" >&2
      tail -n 20 "$ROCKETMQ_STATE_DIR/$broker/stdout.log" >&2 || true
      rocketmq_stop_group "$broker" >&2
      exit 1
    fi
    echo "rocketmq: $broker started again"
    ;;
  *) usage ;;
esac
