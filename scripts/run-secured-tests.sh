#!/usr/bin/env bash
# The secured-cluster run: for each profile, starts a one-broker cluster with ACL on, on ports of
# its own, creates the test users, runs the specs under __test__/secured/ against it
# (ava.secured.config.mjs; the default run never starts them) and stops it. Ends with one line
# "N passed, N failed" as scripts/run-tests.sh does.
#
#   acl    RocketMQ 5.3.3 with ACL 2.0 (ROCKETMQ_PROFILE=acl; users made with mqadmin)
#          on SECURED_NAMESRV_PORT / SECURED_BROKER_PORT (31876 / 31911)
#   acl1   RocketMQ 4.9.7 with the 4.x plain ACL (aclEnable, plain_acl.yml), which 5.3.3 no longer
#          enforces, on SECURED_ACL1_NAMESRV_PORT / SECURED_ACL1_BROKER_PORT (31976 / 31961)
#   tls    RocketMQ 5.3.3 with TLS enforcing (ROCKETMQ_PROFILE=tls; certificates made by start.sh, handed to
#          the spec as TLS_DIR) on SECURED_TLS_NAMESRV_PORT / SECURED_TLS_BROKER_PORT (32076 / 32061)
#   tls-permissive  the same in permissive mode (plain and TLS clients) with client certificates required
#          (mutual TLS), on SECURED_TLS_PERMISSIVE_NAMESRV_PORT / SECURED_TLS_PERMISSIVE_BROKER_PORT (32176 / 32161)
#
#   SECURED_PROFILES   the profiles to run (default "acl acl1 tls tls-permissive")
#   SECURED_LOG_DIR    when set, the ava logs are kept there, all in ava.log (run-tests.sh counts it)
set -uo pipefail
cd "$(dirname "$0")/.."

# The test users (secrets only for these throwaway clusters).
export ACL_USER=napi-app ACL_SECRET=napi-app-secret-1234
export ACL_DENIED_USER=napi-denied ACL_DENIED_SECRET=napi-denied-secret-5678

log_dir=${SECURED_LOG_DIR:-$(mktemp -d)}
mkdir -p "$log_dir"
: >"$log_dir/ava.log"
: >"$log_dir/cargo.log"
current_cluster=()
cleanup() {
  if ((${#current_cluster[@]} > 0)); then
    env "${current_cluster[@]}" bash scripts/rocketmq/stop.sh >/dev/null || true
  fi
  [ -n "${SECURED_LOG_DIR:-}" ] || rm -rf "$log_dir"
}
trap cleanup EXIT

# cluster_env PROFILE: the environment of the profile's cluster, as VAR=value words.
cluster_env() {
  case $1 in
    acl) echo "ROCKETMQ_VERSION=5.3.3 ROCKETMQ_PROFILE=acl ROCKETMQ_NAMESRV_PORT=${SECURED_NAMESRV_PORT:-31876}" \
      "ROCKETMQ_BROKER_A_PORT=${SECURED_BROKER_PORT:-31911}" ;;
    acl1) echo "ROCKETMQ_VERSION=4.9.7 ROCKETMQ_PROFILE=acl1 ROCKETMQ_NAMESRV_PORT=${SECURED_ACL1_NAMESRV_PORT:-31976}" \
      "ROCKETMQ_BROKER_A_PORT=${SECURED_ACL1_BROKER_PORT:-31961} ROCKETMQ_PLAIN_ACL_FILE=$log_dir/plain_acl.yml" ;;
    tls) echo "ROCKETMQ_VERSION=5.3.3 ROCKETMQ_PROFILE=tls ROCKETMQ_TLS_MODE=enforcing" \
      "ROCKETMQ_NAMESRV_PORT=${SECURED_TLS_NAMESRV_PORT:-32076} ROCKETMQ_BROKER_A_PORT=${SECURED_TLS_BROKER_PORT:-32061}" ;;
    tls-permissive) echo "ROCKETMQ_VERSION=5.3.3 ROCKETMQ_PROFILE=tls ROCKETMQ_TLS_MODE=permissive ROCKETMQ_TLS_CLIENT_AUTH=require" \
      "ROCKETMQ_NAMESRV_PORT=${SECURED_TLS_PERMISSIVE_NAMESRV_PORT:-32176}" \
      "ROCKETMQ_BROKER_A_PORT=${SECURED_TLS_PERMISSIVE_BROKER_PORT:-32161}" ;;
    *) return 1 ;;
  esac
}

# provision_acl2: the users of the 5.3.3 cluster, made with mqadmin in one JVM (AclSetup.java) signed as
# the initial super user; mqadmin reports failures on stdout.
provision_acl2() {
  local args=(
    "createUser -n $NAMESRV_ADDR -c $ROCKETMQ_CLUSTER_NAME -u $ACL_USER -p $ACL_SECRET -t Normal"
    "createAcl -n $NAMESRV_ADDR -c $ROCKETMQ_CLUSTER_NAME -s User:$ACL_USER -r Topic:*,Group:* -a Pub,Sub,Create,Update,Delete,Get,List -d Allow"
    "createUser -n $NAMESRV_ADDR -c $ROCKETMQ_CLUSTER_NAME -u $ACL_DENIED_USER -p $ACL_DENIED_SECRET -t Normal"
    "createAcl -n $NAMESRV_ADDR -c $ROCKETMQ_CLUSTER_NAME -s User:$ACL_DENIED_USER -r Group:* -a Sub,Get -d Allow"
  )
  local setup_log=$log_dir/acl-setup.log
  ROCKETMQ_ACL_ADMIN_USER=$ROCKETMQ_ACL_ADMIN_USER ROCKETMQ_ACL_ADMIN_PASSWORD=$ROCKETMQ_ACL_ADMIN_PASSWORD \
    "$(rocketmq_java)" -Xmx256m "-Duser.home=$ROCKETMQ_STATE_DIR/admin-home" -cp "$ROCKETMQ_LIB/*" \
    scripts/rocketmq/AclSetup.java "${args[@]}" 2>&1 | grep -v -e ' |-INFO in ' -e ' |-WARN in ' >"$setup_log"
  if [ "$(grep -c ' success\.$' "$setup_log")" != "${#args[@]}" ]; then
    echo "creating the ACL users failed:" >&2
    cat "$setup_log" >&2
    return 1
  fi
}

# The plain ACL's accounts: the app user an admin with every permission, the denied one without topic rights.
cat >"$log_dir/plain_acl.yml" <<YML
accounts:
  - accessKey: $ACL_USER
    secretKey: $ACL_SECRET
    admin: true
    defaultTopicPerm: PUB|SUB
    defaultGroupPerm: PUB|SUB
  - accessKey: $ACL_DENIED_USER
    secretKey: $ACL_DENIED_SECRET
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
YML

status=0
for profile in ${SECURED_PROFILES:-acl acl1 tls tls-permissive}; do
  read -r -a settings <<<"$(cluster_env "$profile")" || { echo "unknown secured profile $profile" >&2; status=1; continue; }
  # One broker; broker-b's port is unused but checked by start.sh.
  settings+=(ROCKETMQ_BROKER_NAMES=broker-a ROCKETMQ_STATE_DIR=)
  # Known to cleanup from here on, so an interrupted run still stops the cluster.
  current_cluster=("${settings[@]}" ROCKETMQ_BROKER_B_PORT=0)
  (
    export "${settings[@]}"
    unset ROCKETMQ_STATE_DIR
    export ROCKETMQ_BROKER_B_PORT=$((ROCKETMQ_BROKER_A_PORT + 10))
    export NAMESRV_ADDR=127.0.0.1:$ROCKETMQ_NAMESRV_PORT ACL_PROFILE=$profile
    source scripts/rocketmq/env.sh
    # The tls profiles' certificates (start.sh writes them there); the TLS spec reads them.
    export TLS_DIR=$ROCKETMQ_STATE_DIR/tls TLS_CLIENT_AUTH=$ROCKETMQ_TLS_CLIENT_AUTH
    if bash scripts/rocketmq/status.sh >/dev/null 2>&1; then
      echo "a cluster already runs on $NAMESRV_ADDR; stop it first" >&2
      exit 1
    fi
    echo "== $profile: starting a RocketMQ $ROCKETMQ_VERSION cluster ($ROCKETMQ_PROFILE) on $NAMESRV_ADDR"
    bash scripts/rocketmq/start.sh || exit 1
    if [ "$profile" = acl ]; then
      echo "== $profile: creating the test users"
      provision_acl2 || exit 1
    fi
    echo "== $profile: ava --config ava.secured.config.mjs (NAMESRV_ADDR=$NAMESRV_ADDR)"
    npx ava --config ava.secured.config.mjs --tap 2>&1 | tee "$log_dir/ava-$profile.log"
    exit "${PIPESTATUS[0]}"
  )
  profile_status=$?
  env "${current_cluster[@]}" bash scripts/rocketmq/stop.sh >/dev/null || true
  current_cluster=()
  cat "$log_dir/ava-$profile.log" >>"$log_dir/ava.log" 2>/dev/null
  if [ "$profile_status" != 0 ]; then
    status=$profile_status
    # A profile that could not report (no cluster, no users) counts as one failure.
    grep -Eq '^# fail [1-9]' "$log_dir/ava-$profile.log" 2>/dev/null || echo "# fail 1" >>"$log_dir/ava.log"
  fi
done

# shellcheck source=tally-results.sh
source scripts/tally-results.sh
tally_results "$log_dir" 0 "$status" "secured (${SECURED_PROFILES:-acl acl1 tls tls-permissive}): "
