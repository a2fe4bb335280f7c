#!/usr/bin/env bash
# Sourced by run-tests.sh and run-compat-tests.sh: adds up a run's cargo and ava logs into the
# one line "N passed, N failed" the CI reads.
#
# cargo prints "test result: ok. 12 passed; 0 failed; ..." per test binary; ava's TAP output ends
# with "# pass N" and "# fail N".

# sum REGEX FILE: adds up the number in every match of REGEX ("# pass 3" or "3 passed").
sum() { awk -v re="$1" '{ if (match($0, re)) { s = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", s); n += s } } END { print n + 0 }' "$2"; }

# tally_results LOG_DIR CARGO_STATUS AVA_STATUS LABEL: prints "LABELcargo: ...; ava: ..." and the
# "N passed, N failed" line from LOG_DIR/cargo.log and LOG_DIR/ava.log; returns 0 only when
# nothing failed.
tally_results() {
  local log_dir=$1 cargo_status=$2 ava_status=$3 label=$4
  local cargo_passed cargo_failed ava_passed ava_failed passed failed
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
  echo "${label}cargo: $cargo_passed passed, $cargo_failed failed; ava: $ava_passed passed, $ava_failed failed"
  echo "$passed passed, $failed failed"
  [ "$failed" = 0 ]
}
