#!/usr/bin/env bash
# The secured-cluster run: starts a one-broker RocketMQ 5.3.3 cluster with ACL 2.0 on
# (ROCKETMQ_PROFILE=acl) on ports of its own, creates the test users with mqadmin, runs the specs
# under __test__/secured/ (ava.secured.config.mjs; the default run never starts them), stops the
# cluster, and ends with one line "N passed, N failed" as scripts/run-tests.sh does.
#
#   SECURED_NAMESRV_PORT / SECURED_BROKER_PORT   (31876 / 31911)
#   SECURED_LOG_DIR   when set, the ava log is kept there as ava.log (run-tests.sh counts it)
set -uo pipefail
cd "$(dirname "$0")/.."

export ROCKETMQ_VERSION=5.3.3
export ROCKETMQ_PROFILE=acl
export ROCKETMQ_BROKER_NAMES=broker-a
export ROCKETMQ_NAMESRV_PORT=${SECURED_NAMESRV_PORT:-31876}
export ROCKETMQ_BROKER_A_PORT=${SECURED_BROKER_PORT:-31911}
# Unused by a one-broker cluster, but start.sh checks every port it knows of.
export ROCKETMQ_BROKER_B_PORT=$((ROCKETMQ_BROKER_A_PORT + 10))
unset ROCKETMQ_STATE_DIR
export NAMESRV_ADDR=127.0.0.1:$ROCKETMQ_NAMESRV_PORT
source scripts/rocketmq/env.sh
export ROCKETMQ_ACL_ADMIN_USER ROCKETMQ_ACL_ADMIN_PASSWORD

# The test users (secrets only for this throwaway cluster).
export ACL_USER=napi-app ACL_SECRET=napi-app-secret-1234
export ACL_DENIED_USER=napi-denied ACL_DENIED_SECRET=napi-denied-secret-5678

log_dir=${SECURED_LOG_DIR:-$(mktemp -d)}
mkdir -p "$log_dir"
cleanup() {
  bash scripts/rocketmq/stop.sh >/dev/null || true
  [ -n "${SECURED_LOG_DIR:-}" ] || rm -rf "$log_dir"
}

if bash scripts/rocketmq/status.sh >/dev/null 2>&1; then
  echo "a cluster already runs on $NAMESRV_ADDR; stop it first (ROCKETMQ_NAMESRV_PORT=$ROCKETMQ_NAMESRV_PORT bash scripts/rocketmq/stop.sh)" >&2
  exit 1
fi
trap cleanup EXIT

echo "== starting a RocketMQ $ROCKETMQ_VERSION cluster with ACL 2.0 on $NAMESRV_ADDR"
bash scripts/rocketmq/start.sh || exit 1

echo "== creating the test users"
mqadmin_args=(
  "createUser -n $NAMESRV_ADDR -c $ROCKETMQ_CLUSTER_NAME -u $ACL_USER -p $ACL_SECRET -t Normal"
  "createAcl -n $NAMESRV_ADDR -c $ROCKETMQ_CLUSTER_NAME -s User:$ACL_USER -r Topic:*,Group:* -a Pub,Sub,Create,Update,Delete,Get,List -d Allow"
  "createUser -n $NAMESRV_ADDR -c $ROCKETMQ_CLUSTER_NAME -u $ACL_DENIED_USER -p $ACL_DENIED_SECRET -t Normal"
  "createAcl -n $NAMESRV_ADDR -c $ROCKETMQ_CLUSTER_NAME -s User:$ACL_DENIED_USER -r Group:* -a Sub,Get -d Allow"
)
# AclSetup runs them in one JVM, signed as the initial (super) user; mqadmin reports failures on stdout.
setup_log=$log_dir/acl-setup.log
"$(rocketmq_java)" -Xmx256m "-Duser.home=$ROCKETMQ_STATE_DIR/admin-home" -cp "$ROCKETMQ_LIB/*" \
  scripts/rocketmq/AclSetup.java "${mqadmin_args[@]}" 2>&1 | grep -v -e ' |-INFO in ' -e ' |-WARN in ' >"$setup_log"
if [ "$(grep -c ' success\.$' "$setup_log")" != "${#mqadmin_args[@]}" ]; then
  echo "creating the ACL users failed:" >&2
  cat "$setup_log" >&2
  exit 1
fi

echo "== ava --config ava.secured.config.mjs (NAMESRV_ADDR=$NAMESRV_ADDR, ACL 2.0)"
npx ava --config ava.secured.config.mjs --tap 2>&1 | tee "$log_dir/ava.log"
ava_status=${PIPESTATUS[0]}

# shellcheck source=tally-results.sh
source scripts/tally-results.sh
: >"$log_dir/cargo.log"
tally_results "$log_dir" 0 "$ava_status" "secured (ACL 2.0): "
