#!/usr/bin/env bash
# Fills $ROCKETMQ_LIB with the NameServer and broker jars of $ROCKETMQ_VERSION from Maven Central.
# Does nothing when a previous fetch completed (marker file present); a half-finished fetch is redone.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

complete_marker=$ROCKETMQ_LIB/.complete

if [[ -f $complete_marker ]]; then
  exit 0
fi

# Several clusters may start at once and share the cache: one fetch per version at a time, and whoever
# waited finds the marker the first one wrote.
if command -v flock >/dev/null; then
  mkdir -p "$ROCKETMQ_CACHE/locks"
  exec {fetch_lock_fd}>"$ROCKETMQ_CACHE/locks/fetch-$ROCKETMQ_VERSION.lock"
  flock "$fetch_lock_fd"
  [[ -f $complete_marker ]] && exit 0
fi

command -v mvn >/dev/null || {
  echo "mvn not found: install Maven (e.g. apt-get install maven) to fetch the RocketMQ jars" >&2
  exit 1
}

echo "fetching RocketMQ $ROCKETMQ_VERSION jars from Maven Central into $ROCKETMQ_LIB"
rm -rf -- "$ROCKETMQ_LIB"
mkdir -p "$ROCKETMQ_LIB"
if ! mvn -B -q -Dstyle.color=never -f "$ROCKETMQ_SCRIPT_DIR/pom.xml" "-Drocketmq.version=$ROCKETMQ_VERSION" \
  org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
  -DincludeScope=runtime "-DoutputDirectory=$ROCKETMQ_LIB"; then
  echo "could not resolve RocketMQ $ROCKETMQ_VERSION from Maven Central (see the Maven errors above);" \
    "try another ROCKETMQ_VERSION" >&2
  rm -rf -- "$ROCKETMQ_LIB"
  rmdir -- "$(dirname "$ROCKETMQ_LIB")" 2>/dev/null || true
  exit 1
fi

for module in namesrv broker; do
  [[ -f $ROCKETMQ_LIB/rocketmq-$module-$ROCKETMQ_VERSION.jar ]] || {
    echo "rocketmq-$module-$ROCKETMQ_VERSION.jar missing from $ROCKETMQ_LIB after the fetch" >&2
    exit 1
  }
done
date -u +%FT%TZ >"$complete_marker"
echo "fetched $(find "$ROCKETMQ_LIB" -name '*.jar' | wc -l) jars"
