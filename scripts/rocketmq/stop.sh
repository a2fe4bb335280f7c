#!/usr/bin/env bash
# Stops the cluster started by start.sh (same ROCKETMQ_NAMESRV_PORT / ROCKETMQ_STATE_DIR) by its recorded pids:
# brokers first, then the NameServer; SIGTERM, then SIGKILL after ROCKETMQ_STOP_TIMEOUT seconds.
# Removes the state directory (stores and logs). Exits 0 when nothing is running.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

if [[ ! -d $ROCKETMQ_STATE_DIR ]]; then
  echo "rocketmq: nothing to stop ($ROCKETMQ_STATE_DIR does not exist)"
  exit 0
fi
rocketmq_lock
rocketmq_stop_processes
rocketmq_remove_state_dir
echo "rocketmq: stopped; removed $ROCKETMQ_STATE_DIR"
