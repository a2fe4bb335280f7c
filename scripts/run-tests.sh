#!/usr/bin/env bash
# The whole test suite: cargo tests of the crates, then the ava specs against a real
# local RocketMQ. Starts the cluster when none is running (and stops it again afterwards),
# builds the addon when it is missing, and ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

log_dir=$(mktemp -d)
cluster_started=0
cleanup() {
  if [ "$cluster_started" = 1 ]; then
    bash scripts/rocketmq/stop.sh || true
  fi
  rm -rf "$log_dir"
}
trap cleanup EXIT

if [ ! -d node_modules ]; then
  echo "== installing npm packages (native build included)"
  npm install --no-audit --no-fund || exit 1
elif ! ls ./*.linux-x64-gnu.node >/dev/null 2>&1; then
  echo "== building the native addon"
  npm run build || exit 1
fi

# The ali-ons comparison spec runs the original ali-ons, the benchmark's dependency (never the package's).
if [ ! -d bench/node_modules/ali-ons ]; then
  echo "== installing the benchmark's peers (ali-ons, for __test__/ali-ons-compare.spec.ts)"
  npm ci --prefix bench --no-audit --no-fund || exit 1
fi

if ! bash scripts/rocketmq/status.sh >/dev/null 2>&1; then
  echo "== starting the local RocketMQ cluster"
  bash scripts/rocketmq/start.sh || exit 1
  cluster_started=1
fi
export NAMESRV_ADDR="127.0.0.1:${ROCKETMQ_NAMESRV_PORT:-9876}"

# Tests that need the local cluster are #[ignore]d, so that a bare `cargo test` without one
# reports them as ignored rather than failing; here the cluster is up, so they run.
echo "== cargo test --workspace (cluster tests included)"
cargo test --workspace --color never -- --include-ignored 2>&1 | tee "$log_dir/cargo.log"
cargo_status=${PIPESTATUS[0]}

echo "== ava (NAMESRV_ADDR=$NAMESRV_ADDR)"
npx ava --tap 2>&1 | tee "$log_dir/ava.log"
ava_status=${PIPESTATUS[0]}

# Secured clusters (ACL 2.0): a one-broker cluster of their own on other ports, started and stopped
# by the script; its ava results are added to this run's count. A run that could not report
# (no cluster, no users) counts as one failure.
echo "== secured clusters (scripts/run-secured-tests.sh)"
SECURED_LOG_DIR="$log_dir/secured" bash scripts/run-secured-tests.sh
secured_status=$?
cat "$log_dir/secured/ava.log" >>"$log_dir/ava.log" 2>/dev/null
if [ "$secured_status" != 0 ] && ! grep -Eq '^# fail [1-9]' "$log_dir/secured/ava.log" 2>/dev/null; then
  echo "# fail 1" >>"$log_dir/ava.log"
fi

# shellcheck source=tally-results.sh
source scripts/tally-results.sh
tally_results "$log_dir" "$cargo_status" "$ava_status" ""
