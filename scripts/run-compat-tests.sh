#!/usr/bin/env bash
# The broker-version run: the consumer-critical ava specs and the Rust cluster tests against a
# RocketMQ 4.9.7 cluster of their own, on ports apart from the default 5.3.3 cluster's, so both
# run side by side (docs/broker-versions.md says what differs and which spec shows it).
# Starts that cluster when none is running there (and stops it again afterwards), and ends with
# one line "N passed, N failed", as scripts/run-tests.sh does.
#
#   COMPAT_ROCKETMQ_VERSION   release to test (default 4.9.7)
#   COMPAT_NAMESRV_PORT / COMPAT_BROKER_A_PORT / COMPAT_BROKER_B_PORT   (19876 / 20911 / 20921)
#   COMPAT_FAULT_NAMESRV_PORT / ..._BROKER_A_PORT / ..._BROKER_B_PORT    (21876 / 22911 / 22921): the
#     broker-restart spec's own cluster
#   COMPAT_SPECS              ava spec files to run (default: the list below)
set -uo pipefail
cd "$(dirname "$0")/.."

export ROCKETMQ_VERSION=${COMPAT_ROCKETMQ_VERSION:-4.9.7}
export ROCKETMQ_NAMESRV_PORT=${COMPAT_NAMESRV_PORT:-19876}
export ROCKETMQ_BROKER_A_PORT=${COMPAT_BROKER_A_PORT:-20911}
export ROCKETMQ_BROKER_B_PORT=${COMPAT_BROKER_B_PORT:-20921}
export NAMESRV_ADDR=127.0.0.1:$ROCKETMQ_NAMESRV_PORT
unset ROCKETMQ_STATE_DIR # keyed by the port above, as start.sh keys it
# consumer-broker-restart starts a cluster of its own (of this version too): on ports apart from the
# 5.3.3 run's fault cluster (29876, 30909-30922), below the ephemeral port range.
export FAULT_NAMESRV_PORT=${COMPAT_FAULT_NAMESRV_PORT:-21876}
export FAULT_BROKER_A_PORT=${COMPAT_FAULT_BROKER_A_PORT:-22911}
export FAULT_BROKER_B_PORT=${COMPAT_FAULT_BROKER_B_PORT:-22921}

# Consumer-critical: clustering, retries and the DLQ, offsets and consume-from rules (consumer),
# rebalance in a group, and beside a Java consumer of the same release (consumer-group,
# java-interop), broadcasting, selectors, offsets kept across a kill or a shutdown and a broker
# restart, the offset stores, subscriptions changed while running, ordered sending, mqadmin's view
# and reset; producer and admin under them; the client-nodejs subpath (its SimpleConsumer refused:
# no POP in 4.x). Orderly consumption runs here through the Rust cluster
# test (orderly_cluster.rs); its ava spec passes against 4.9.7 too (COMPAT_SPECS=__test__/consumer-
# orderly.spec.ts) but its 20,000-message, three-process test beside the other files loaded 4.9.7
# enough to delay its indexing of other specs' sends, so it is not in the default list.
default_specs=(
  __test__/consumer.spec.ts
  __test__/consumer-group.spec.ts
  __test__/java-interop.spec.ts
  __test__/consumer-broadcasting.spec.ts
  __test__/consumer-selectors.spec.ts
  __test__/consumer-kill.spec.ts
  __test__/consumer-shutdown.spec.ts
  __test__/consumer-broker-restart.spec.ts
  __test__/offset-store.spec.ts
  __test__/consumer-subscriptions.spec.ts
  __test__/ordered-send.spec.ts
  __test__/mqadmin.spec.ts
  __test__/broker-versions.spec.ts
  __test__/producer.spec.ts
  __test__/admin.spec.ts
  __test__/client-nodejs-broker-versions.spec.ts
)
read -r -a specs <<<"${COMPAT_SPECS:-${default_specs[*]}}"

log_dir=$(mktemp -d)
cluster_started=0
cleanup() {
  if [ "$cluster_started" = 1 ]; then
    bash scripts/rocketmq/stop.sh || true
  fi
  rm -rf "$log_dir"
}
trap cleanup EXIT

if ! ls ./*.linux-x64-gnu.node >/dev/null 2>&1; then
  echo "== building the native addon"
  npm run build || exit 1
fi

state_version=/dev/shm/rocketmq-napi-$ROCKETMQ_NAMESRV_PORT/version
if bash scripts/rocketmq/status.sh >/dev/null 2>&1; then
  running=$(cat "$state_version" 2>/dev/null)
  if [ "$running" != "$ROCKETMQ_VERSION" ]; then
    echo "the cluster on port $ROCKETMQ_NAMESRV_PORT runs ${running:-an unknown version}, not $ROCKETMQ_VERSION;" \
      "stop it or choose COMPAT_NAMESRV_PORT / COMPAT_BROKER_A_PORT / COMPAT_BROKER_B_PORT" >&2
    exit 1
  fi
else
  echo "== starting a RocketMQ $ROCKETMQ_VERSION cluster on $NAMESRV_ADDR"
  bash scripts/rocketmq/start.sh || exit 1
  cluster_started=1
fi

# Only the tests that need a cluster (#[ignore]d for a bare `cargo test`): the scripted ones
# do not depend on the broker version and already ran in `npm test`.
echo "== cargo test -p rocketmq-client -- --ignored (NAMESRV_ADDR=$NAMESRV_ADDR, RocketMQ $ROCKETMQ_VERSION)"
cargo test -p rocketmq-client --tests --color never -- --ignored 2>&1 | tee "$log_dir/cargo.log"
cargo_status=${PIPESTATUS[0]}

echo "== ava ${specs[*]} (NAMESRV_ADDR=$NAMESRV_ADDR, RocketMQ $ROCKETMQ_VERSION)"
npx ava --tap "${specs[@]}" 2>&1 | tee "$log_dir/ava.log"
ava_status=${PIPESTATUS[0]}

# shellcheck source=tally-results.sh
source scripts/tally-results.sh
tally_results "$log_dir" "$cargo_status" "$ava_status" "RocketMQ $ROCKETMQ_VERSION: "
