#!/usr/bin/env bash
# The main job: three real Tomcat nodes on 127.0.0.1 with the Flotilla drop-in jar in lib and a Flotilla <Cluster>
# in server.xml; simulated users click a session counter (sticky by jvmRoute), one node is killed with kill -9
# under load, the requests go on elsewhere with every session intact, the node restarts and receives the sessions,
# a summary is printed, and everything started is stopped. Builds what it needs on first run (JDK 17 + Maven; the
# Tomcat distribution comes through Maven). About a minute.
#
#   ./demo.sh              Flotilla on Tomcat 10.1, behind a real HAProxy on 127.0.0.1 (installed from Debian's
#                          packages when missing and this runs as root; otherwise the routing client below)
#   ./demo.sh 11.0         Flotilla on Tomcat 11.0
#   ./demo.sh 9.0          Flotilla on Tomcat 9.0 (javax.servlet), with the flotilla-tomcat9 jar
#   ./demo.sh stock        the same story with stock SimpleTcpCluster + DeltaManager, for comparison
#   ./demo.sh client       users go through a sticky routing client in the demo's JVM instead of HAProxy
#   ./demo.sh embedded     no Tomcat: three Flotilla nodes in one JVM (multicast on lo, TTL 0) exchanging messages
set -euo pipefail
cd "$(dirname "$0")"

if [[ " $* " == *" embedded "* ]]; then
  jar=benchmarks/harness/target/harness.jar
  if [[ ! -f $jar || -n "$(find core membership transport-netty tomcat-adapter/src benchmarks/fixtures/src \
        benchmarks/harness/src -newer "$jar" -name '*.java' -print -quit)" ]]; then
    echo "Building (first run takes a minute)..."
    mvn -B -q -DskipTests -pl benchmarks/harness -am package
  fi
  args=()
  for a in "$@"; do [[ $a == embedded ]] || args+=("$a"); done
  exec java -Xmx256m -Djava.net.preferIPv4Stack=true -cp "$jar" io.flotilla.bench.LocalClusterDemo "${args[@]+"${args[@]}"}"
fi

cluster=flotilla
[[ " $* " == *" stock "* ]] && cluster=stock
line=10.1
[[ " $* " == *" 11.0 "* ]] && line=11.0
[[ " $* " == *" 9.0 "* ]] && line=9.0
# nullglob: on a fresh clone nothing is built yet, and a failed `ls` would end the script under pipefail.
shopt -s nullglob
jars=(tomcat-adapter/target/flotilla-tomcat-*.jar)
core_tests=(core/target/flotilla-core-*-tests.jar)
# The same build makes the Tomcat 9 jar and the javax webapp (module tomcat-adapter/tomcat9).
jars9=(tomcat-adapter/tomcat9/target/flotilla-tomcat9-*.jar)
jar=${jars[0]-}
if [[ -z $jar || ${#jars9[@]} -eq 0 || ${#core_tests[@]} -eq 0 \
      || ! -d tomcat-adapter/target/test-classes/io/flotilla/tomcat/e2e \
      || ! -d tomcat-adapter/tomcat9/target/test-classes/io/flotilla/tomcat/e2e \
      || -n "$(find core membership transport-netty tomcat-adapter/src tomcat-adapter/tomcat9/src -newer "$jar" \
               -name '*.java' -print -quit)" ]]; then
  echo "Building the drop-in jar and the test webapp (first run takes a minute or two)..."
  mvn -B -q -DskipTests -pl tomcat-adapter -am package
  core_tests=(core/target/flotilla-core-*-tests.jar)
fi
if [[ ! -f tomcat-adapter/target/tomcat-$line/bin/catalina.sh ]]; then
  echo "Unpacking Tomcat $line from Maven..."
  mvn -B -q -pl tomcat-adapter "dependency:unpack@tomcat-$line"
fi
balancer=haproxy
[[ " $* " == *" client "* ]] && balancer=client
if [[ $balancer == haproxy ]] && ! command -v haproxy >/dev/null && [[ ! -x /usr/sbin/haproxy ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "Installing HAProxy from Debian's packages, to put a real load balancer in front of the nodes..."
    apt_log=$(mktemp)
    if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends haproxy; } \
        >"$apt_log" 2>&1; then
      echo "Could not install haproxy (see $apt_log); the demo uses its routing client instead."
    fi
  fi
fi
demo_args=("$cluster" "$line")
[[ $balancer == client ]] && demo_args+=(client)
cd tomcat-adapter
exec java -Xmx128m -cp "target/test-classes:../${core_tests[0]}" \
  io.flotilla.tomcat.e2e.TomcatClusterDemo "${demo_args[@]}"
