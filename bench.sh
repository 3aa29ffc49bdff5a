#!/usr/bin/env bash
# Flotilla's benchmark suite: Flotilla and stock Tomcat (Tribes, DeltaManager) measured in the same run.
#
#   ./bench.sh                 full suite (about 52 minutes on 2 cores: JMH 15, membership 2, HTTP 25, state transfer 2,
#                              scale 7)
#   ./bench.sh quick           a short pass (fewer, shorter iterations)
#   ./bench.sh smoke           1 fork, 1 iteration, tiny durations: proves every benchmark still runs
#                              (CI); never asserts a speed, and writes smoke.csv, not latest.csv
#   ./bench.sh quick ChannelAsync -p size=1024
#                              any further arguments go to JMH: a benchmark regex, -p, -prof, ...
#
# It builds benchmarks/jmh/target/benchmarks.jar (the JMH suite) and benchmarks/harness/target/harness.jar (the
# harness programs) if a source is newer, runs JMH (JSON to benchmarks/results/<mode>.json, log to <mode>.log), prints
# the bytes on the wire (WireSizes, to <mode>-harness.txt), runs the harnesses, and turns everything into
# benchmarks/results/latest.csv (metric,unit,better,flotilla,stock) and a table with ratios
# (io.flotilla.bench.ResultsTable).
#
# Every socket is on 127.0.0.1; each channel benchmark stops the receiver JVM it started, by its PID. The
# membership harness (MembershipHarness) runs after JMH: multicast on lo with TTL 0, child JVMs stopped by PID.
# The HTTP harness (HttpHarness) follows it: Tomcats in child JVMs on 127.0.0.1, stopped by PID (HTTP=0 skips it);
# then the state-transfer harness (StateTransferHarness): child JVMs on 127.0.0.1, stopped by PID; then the scale
# harness (ScaleHarness): 2 to 8 Tomcats in child JVMs on 127.0.0.1, stopped by PID.
set -euo pipefail
cd "$(dirname "$0")"

mode=full
if [[ $# -gt 0 && "$1" =~ ^(full|quick|smoke)$ ]]; then
  mode=$1
  shift
fi

case "$mode" in
  # The benchmarks' own annotations define the full run (1 fork, 4-5 warm-up and 5 measured iterations).
  full)  jmh_opts=(-foe true -prof gc);                              limit=60m ;;
  quick) jmh_opts=(-foe true -prof gc -wi 1 -w 1s -i 3 -r 1s);       limit=20m ;;
  smoke) jmh_opts=(-foe true -prof gc -f 1 -wi 0 -i 1 -r 100ms);     limit=15m ;;
esac

# Everything in io.flotilla.bench unless the caller named a benchmark regex.
filter=(io.flotilla.bench.)
if [[ $# -gt 0 && "$1" != -* ]]; then
  filter=()
fi

jar=benchmarks/jmh/target/benchmarks.jar
harness_jar=benchmarks/harness/target/harness.jar
results=benchmarks/results
for j in "$jar" "$harness_jar"; do
  if [[ ! -f $j ]] || [[ -n "$(find pom.xml core membership transport-netty tomcat-adapter benchmarks/fixtures \
        benchmarks/jmh benchmarks/harness -not -path '*/target/*' \
        \( -name '*.java' -o -name 'pom.xml' -o -path '*/resources/*' \) -newer "$j" -print -quit 2>/dev/null)" ]]; then
    echo "Building $jar and $harness_jar ..."
    mvn -B -q -pl benchmarks/jmh,benchmarks/harness -am package -DskipTests
    break
  fi
done

mkdir -p "$results"
json=$results/$mode.json
log=$results/$mode.log
harness=$results/$mode-harness.txt
csv=$results/latest.csv
[[ $mode == smoke ]] && csv=$results/smoke.csv

{
  echo "# bench.sh $mode $* ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
  echo "# machine: $(uname -srm), $(nproc) cores; $(java -version 2>&1 | head -1)"
} | tee "$log"

# A harness failed: its stderr went to the log, so show the log's end too (CI keeps only what was printed).
harness_failed() {
  echo "$1 failed; the last 80 lines of $log:" >&2
  tail -n 80 "$log" >&2
  exit 1
}

set +e
timeout --kill-after=30s "$limit" \
  java -jar "$jar" "${filter[@]}" "${jmh_opts[@]}" -rf json -rff "$json" "$@" 2>&1 | tee -a "$log"
status=${PIPESTATUS[0]}
set -e
if [[ $status -ne 0 ]]; then
  echo "JMH failed (exit $status); see $log" >&2
  exit "$status"
fi

java -cp "$jar" io.flotilla.bench.WireSizes > "$harness"

# Membership: join, kill -9, SIGSTOP and graceful-leave times of Flotilla and stock McastService +
# TcpFailureDetector, with child JVMs on loopback (multicast on lo, TTL 0). Skipped with MEMBERSHIP=0.
membership=$results/$mode-membership.txt
rounds=3
[[ $mode == smoke ]] && rounds=1
if [[ ${MEMBERSHIP:-1} != 0 ]]; then
  if ! timeout --kill-after=30s 15m java -Xmx256m -Djava.net.preferIPv4Stack=true -cp "$harness_jar" \
      io.flotilla.bench.MembershipHarness --rounds "$rounds" --out "$membership" 2>>"$log"; then
    harness_failed MembershipHarness
  fi
fi

# End to end over HTTP: two Tomcats in child JVMs (no cluster, stock, Flotilla; async and sync), keep-alive load
# from 8 connections over 200 sessions, on 127.0.0.1: the peak in a closed loop, then latency in an open loop at 25, 50
# and 75% of it; then the peak with the JDK's HttpClient as the client, setting one Integer and a ~2 KiB object graph
# (HttpHarness, about 25 minutes in full). Skipped with HTTP=0.
http=$results/$mode-http.txt
rm -f "$http"
if [[ ${HTTP:-1} != 0 ]]; then
  if ! timeout --kill-after=30s 45m java -Xmx256m -Djava.net.preferIPv4Stack=true -cp "$harness_jar" \
      io.flotilla.bench.HttpHarness --mode "$mode" --out "$http" 2>>"$log"; then
    harness_failed HttpHarness
  fi
fi

# State transfer: a joining Tomcat until it holds N sessions of a running one, Flotilla and stock DeltaManager, each
# node in its own child JVM (-Xmx1g), stopped by PID. Skipped with STATETRANSFER=0.
statetransfer=$results/$mode-statetransfer.txt
rm -f "$statetransfer"
case "$mode" in
  full)  st_opts=(--sessions 10000,100000 --rounds 3) ;;
  quick) st_opts=(--sessions 10000,100000 --rounds 1) ;;
  smoke) st_opts=(--sessions 1000 --rounds 1) ;;
esac
if [[ ${STATETRANSFER:-1} != 0 ]]; then
  if ! timeout --kill-after=30s 30m java -Xmx128m -cp "$harness_jar" io.flotilla.bench.StateTransferHarness \
      "${st_opts[@]}" --out "$statetransfer" 2>>"$log"; then
    harness_failed StateTransferHarness
  fi
fi

# Scale: what one request costs the whole cluster (TCP segments and bytes on the cluster connections, Flotilla's
# messages, CPU of every node) with 2, 4 and 8 Tomcats in child JVMs (-Xmx128m) on 127.0.0.1, static membership, sync:
# stock DeltaManager and BackupManager, Flotilla mode=all and mode=backup, sticky; then Flotilla round robin at 4 nodes
# (ScaleHarness, about 7 minutes in full: each variant warms up until its CPU per request settles). Every node
# stopped by PID. Skipped with SCALE=0.
scale=$results/$mode-scale.txt
rm -f "$scale"
case "$mode" in
  full)  scale_opts=(--mode full) ;;
  quick) scale_opts=(--mode full --warmup 2 --max-warmup 2 --measure 2) ;;
  smoke) scale_opts=(--mode smoke) ;;
esac
if [[ ${SCALE:-1} != 0 ]]; then
  if ! timeout --kill-after=30s 20m java -Xmx256m -Djava.net.preferIPv4Stack=true -cp "$harness_jar" \
      io.flotilla.bench.ScaleHarness "${scale_opts[@]}" --out "$scale" 2>>"$log"; then
    harness_failed ScaleHarness
  fi
fi

extra=()
[[ -f $membership ]] && extra=(--harness "$membership")
[[ -f $http ]] && extra+=(--harness "$http")
[[ -f $statetransfer ]] && extra+=(--harness "$statetransfer")
[[ -f $scale ]] && extra+=(--harness "$scale")
java -cp "$harness_jar" io.flotilla.bench.ResultsTable --json "$json" --harness "$harness" "${extra[@]}" --csv "$csv"
