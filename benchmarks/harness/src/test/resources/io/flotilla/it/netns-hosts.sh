#!/usr/bin/env bash
# Several "hosts" with their own addresses, for NetnsPartitionTest. Run it ONLY inside a private network and mount
# namespace (`unshare --net --mount bash netns-hosts.sh DIR N`): the bridge, the veth pairs, the 10.77.0.x addresses
# and the namespaces h1..hN exist only there, nothing is routed out, and everything vanishes with the namespace.
#
# Topology: bridge br0 (in the private namespace); per host i a namespace hi whose eth0 (10.77.0.i/24) is the peer of
# veth i on br0. Then it reads commands on stdin, answering each with one line:
#   start I ARGS...   start io.flotilla.bench.ChildNode ARGS in host I (stdout DIR/hI.out, stdin the fifo DIR/hI.in)
#   link I up|down    take host I's link (its veth on the bridge) down or up
#   CLOSE             stop (also on end of input)
# Environment: FLOTILLA_JAVA (java binary), FLOTILLA_CP (class path). On exit, whatever happened, every child JVM is
# killed by its PID and the namespaces and links are deleted.
set -u
dir=$1
hosts=$2
pids=()
fds=()

cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  for i in $(seq 1 "$hosts"); do ip netns del "h$i" 2>/dev/null; done
  ip link del br0 2>/dev/null
  echo "CLEANED"
}
trap cleanup EXIT

fail() { echo "ERROR $*"; exit 1; }

ip link set lo up || fail "lo up"
ip link add br0 type bridge || fail "bridge"
# Flood multicast to every port: no IGMP querier here, and snooping must not decide the test.
ip link set br0 type bridge mcast_snooping 0 2>/dev/null
ip link set br0 up || fail "br0 up"
for i in $(seq 1 "$hosts"); do
  ip netns add "h$i" || fail "netns h$i"
  ip link add "veth$i" type veth peer name eth0 netns "h$i" || fail "veth$i"
  ip link set "veth$i" master br0 || fail "veth$i master"
  ip link set "veth$i" up || fail "veth$i up"
  ip -n "h$i" link set lo up || fail "h$i lo"
  ip -n "h$i" addr add "10.77.0.$i/24" dev eth0 || fail "h$i addr"
  ip -n "h$i" link set eth0 up || fail "h$i eth0"
done
echo "READY"

while read -r cmd host rest; do
  case "$cmd" in
    start)
      mkfifo "$dir/h$host.in" || fail "fifo"
      # shellcheck disable=SC2086 # ARGS are key=value words
      ip netns exec "h$host" "$FLOTILLA_JAVA" -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -Djava.net.preferIPv4Stack=true -cp "$FLOTILLA_CP" io.flotilla.bench.ChildNode $rest \
        > "$dir/h$host.out" 2> "$dir/h$host.err" < "$dir/h$host.in" &
      pids+=("$!")
      exec {fd}> "$dir/h$host.in" # hold the child's stdin open
      fds+=("$fd")
      echo "OK start $host pid $!"
      ;;
    link)
      ip link set "veth$host" "$rest" && echo "OK link $host $rest" || echo "ERROR link $host $rest"
      ;;
    CLOSE|"")
      break
      ;;
    *)
      echo "ERROR unknown command $cmd"
      ;;
  esac
done
echo "CLOSED"
