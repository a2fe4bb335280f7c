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

# cargo prints "test result: ok. 12 passed; 0 failed; ..." per test binary; ava's TAP
# output ends with "# pass N" and "# fail N".
# sum REGEX FILE: adds up the number in every match of REGEX ("# pass 3" or "3 passed").
sum() { awk -v re="$1" '{ if (match($0, re)) { s = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", s); n += s } } END { print n + 0 }' "$2"; }
cargo_passed=$(sum '[0-9]+ passed' <(grep '^test result:' "$log_dir/cargo.log"))
cargo_failed=$(sum '[0-9]+ failed' <(grep '^test result:' "$log_dir/cargo.log"))
ava_passed=$(sum '^# pass [0-9]+' "$log_dir/ava.log")
ava_failed=$(sum '^# fail [0-9]+' "$log_dir/ava.log")
passed=$((cargo_passed + ava_passed))
failed=$((cargo_failed + ava_failed))

# A runner that crashed before reporting counts as a failure even with no failed test.
if [ "$cargo_status" != 0 ] && [ "$cargo_failed" = 0 ]; then failed=$((failed + 1)); fi
if [ "$ava_status" != 0 ] && [ "$ava_failed" = 0 ]; then failed=$((failed + 1)); fi
if [ "$ava_passed" = 0 ]; then
  echo "ava ran no test" >&2
  failed=$((failed + 1))
fi

echo "cargo: $cargo_passed passed, $cargo_failed failed; ava: $ava_passed passed, $ava_failed failed"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
