#!/usr/bin/env bash
# The main job: a local Flotilla cluster on loopback (3 nodes, multicast on lo with TTL 0, TCP on 127.0.0.1).
# Builds what it needs on first run; needs only a JDK 17 and Maven.
set -euo pipefail
cd "$(dirname "$0")"
jar=benchmarks/target/benchmarks.jar
if [[ ! -f $jar || -n "$(find core membership transport-netty benchmarks -newer "$jar" -name '*.java' -print -quit)" ]]; then
  echo "Building (first run takes a minute)..."
  mvn -B -q -DskipTests -pl benchmarks -am package
fi
exec java -Xmx256m -Djava.net.preferIPv4Stack=true -cp "$jar" io.flotilla.bench.LocalClusterDemo "$@"
