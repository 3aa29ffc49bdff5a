#!/usr/bin/env bash
# The main job: a local Flotilla cluster on loopback (3 nodes, multicast on lo with TTL 0, TCP on 127.0.0.1).
# Builds what it needs on first run; needs only a JDK 17 and Maven.
#
# ./demo.sh tomcat [11.0]: three real Tomcat nodes (the distribution comes through Maven) on 127.0.0.1, users
# clicking a session counter, kill -9 of a node under load, the node restarting and rejoining, a summary.
set -euo pipefail
cd "$(dirname "$0")"

if [[ ${1:-} == tomcat ]]; then
  shift
  # The one switch: which <Cluster> the Tomcats run. "stock" (SimpleTcpCluster + DeltaManager) until
  # io.flotilla.tomcat.FlotillaCluster is in the drop-in jar; then flip this default to "flotilla".
  cluster=${FLOTILLA_DEMO_CLUSTER:-stock}
  line=10.1
  [[ " $* " == *" 11.0 "* ]] && line=11.0
  jar=$(ls tomcat-adapter/target/flotilla-tomcat-*.jar 2>/dev/null | head -1)
  if [[ -z $jar || ! -d tomcat-adapter/target/test-classes/io/flotilla/tomcat/e2e \
        || -n "$(find core membership transport-netty tomcat-adapter/src -newer "$jar" -name '*.java' -print -quit)" ]]; then
    echo "Building the drop-in jar and the test webapp (first run takes a minute)..."
    mvn -B -q -DskipTests -pl tomcat-adapter -am package
  fi
  if [[ ! -f tomcat-adapter/target/tomcat-$line/bin/catalina.sh ]]; then
    echo "Unpacking Tomcat $line from Maven..."
    mvn -B -q -pl tomcat-adapter "dependency:unpack@tomcat-$line"
  fi
  cd tomcat-adapter
  exec java -Xmx128m -cp "target/test-classes:$(ls ../core/target/flotilla-core-*-tests.jar | head -1)" \
    io.flotilla.tomcat.e2e.TomcatClusterDemo "$cluster" "$@"
fi

jar=benchmarks/target/benchmarks.jar
if [[ ! -f $jar || -n "$(find core membership transport-netty benchmarks -newer "$jar" -name '*.java' -print -quit)" ]]; then
  echo "Building (first run takes a minute)..."
  mvn -B -q -DskipTests -pl benchmarks -am package
fi
exec java -Xmx256m -Djava.net.preferIPv4Stack=true -cp "$jar" io.flotilla.bench.LocalClusterDemo "$@"
