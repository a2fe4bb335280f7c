#!/usr/bin/env bash
# Reports whether the cluster of this ROCKETMQ_NAMESRV_PORT / ROCKETMQ_STATE_DIR is up.
# Exit 0 when all three processes run and both brokers are routable, 1 otherwise.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

if [[ ! -d $ROCKETMQ_STATE_DIR ]]; then
  echo "rocketmq: down (no $ROCKETMQ_STATE_DIR)"
  exit 1
fi
running=0
for name in namesrv "${ROCKETMQ_BROKERS[@]}"; do
  if pid=$(rocketmq_live_pid "$name"); then
    echo "$name: running (pid $pid)"
    running=$((running + 1))
  else
    echo "$name: not running"
  fi
done
if ((running == 3)) && rocketmq_wait_ready --timeout 5; then
  echo "rocketmq $(cat "$ROCKETMQ_STATE_DIR/version" 2>/dev/null): up, state in $ROCKETMQ_STATE_DIR"
  echo "NAMESRV_ADDR=$ROCKETMQ_NAMESRV_ADDR"
  exit 0
fi
echo "rocketmq: down or not ready (state in $ROCKETMQ_STATE_DIR)"
exit 1
