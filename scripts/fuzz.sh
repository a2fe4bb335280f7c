#!/usr/bin/env bash
# Runs every cargo-fuzz target of the codec for a bounded time each.
#   bash scripts/fuzz.sh [seconds per target, default 60] [target ...]
# Needs the nightly toolchain (libFuzzer's sanitizer flags); installs cargo-fuzz from
# crates.io when it is missing. Crashes land in crates/remoting/fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/../crates/remoting/fuzz"

seconds=${1:-60}
shift || true
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz: the nightly toolchain is required (rustup toolchain install nightly)" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for target in "${targets[@]}"; do
  echo "== fuzz $target for ${seconds}s"
  mkdir -p "corpus/$target"
  if ! cargo +nightly fuzz run "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz: $target failed (a crash, or the target did not build); inputs in artifacts/$target" >&2
    exit 1
  fi
  grep -E '^(Done|stat::peak_rss_mb)' "$log" || true
done
echo "fuzz: ${#targets[@]} targets ran ${seconds}s each without a crash"
