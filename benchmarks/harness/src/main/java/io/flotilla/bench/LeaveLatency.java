package io.flotilla.bench;

import io.flotilla.MemberId;
import io.flotilla.MembershipListener;
import io.flotilla.Node;
import io.flotilla.NodeConfig;
import io.flotilla.membership.MulticastMembership;
import io.flotilla.membership.MulticastMembershipConfig;
import io.flotilla.transport.netty.NettyTransport;
import io.flotilla.transport.netty.NettyTransportConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A graceful leave as one observer node sees it, both nodes in this JVM: from the leaving node's {@link Node#close()}
 * to the observer's {@code Left} event, without the child process, stdin and process start-up that {@link
 * MembershipHarness}'s {@code leave.graceful.ms} includes. So a change of a few hundred microseconds on the leave's
 * path (a thread hand-off) shows above the noise.
 *
 * <p>Multicast membership on {@code lo}, TTL 0, a free port, the harness's timings (frequency 500 ms, dropTime 3 s,
 * connectTimeout 100 ms); Netty on 127.0.0.1. Each of {@code leaves} (plus {@code warmup}) rounds starts a node,
 * waits until both list each other, lets heartbeats settle for {@code settle} ms (pacing, not a condition: the join
 * is already seen), closes it and waits for the observer's event. Prints the median, mean, 10th and 90th percentile
 * in microseconds.
 *
 * <pre>
 * java -Djava.net.preferIPv4Stack=true -cp benchmarks/harness/target/harness.jar io.flotilla.bench.LeaveLatency \
 *     [leaves=40] [warmup=5] [settle=200] [label=flotilla]
 * </pre>
 * About 30 s with the defaults.
 *
 * <p>Threading: a program; the main thread drives.
 */
public final class LeaveLatency {
    private static final Duration BOUND = Duration.ofSeconds(10);

    private LeaveLatency() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = ChildArgs.parse(args);
        int leaves = Integer.parseInt(opts.getOrDefault("leaves", "40"));
        int warmup = Integer.parseInt(opts.getOrDefault("warmup", "5"));
        long settleMillis = Long.parseLong(opts.getOrDefault("settle", "200"));
        String label = opts.getOrDefault("label", "flotilla");
        Logger.getLogger("").setLevel(Level.SEVERE);
        int port = MembershipHarness.freeUdpPort();
        EventLog events = new EventLog();
        List<Long> micros = new ArrayList<>();
        try (Node observer = node("observer", port, events)) {
            for (int i = 0; i < warmup + leaves; i++) {
                long started = System.nanoTime();
                EventLog leaverEvents = new EventLog();
                Node leaver = node("leaver" + i, port, leaverEvents);
                MemberId id = leaver.localMember().id();
                String address = leaver.localMember().host() + ":" + leaver.localMember().port();
                String observerAddress = observer.localMember().host() + ":" + observer.localMember().port();
                if (events.await(started, EventLog.joined().and(EventLog.about(address)), BOUND.toNanos()) == null
                        || leaverEvents.await(started, EventLog.joined().and(EventLog.about(observerAddress)),
                                BOUND.toNanos()) == null) {
                    leaver.close();
                    throw new IllegalStateException("the observer and " + address + " did not list each other within "
                            + BOUND);
                }
                // pacing, not a condition: heartbeats settle and the loops go idle, as between a cluster's leaves
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(settleMillis));
                long closed = System.nanoTime();
                leaver.close();
                EventLog.Seen left = events.await(closed, EventLog.anyLeft().and(e -> e.member().id().equals(id)),
                        BOUND.toNanos());
                if (left == null) {
                    throw new IllegalStateException("the observer did not see " + address + " leave within " + BOUND);
                }
                if (i >= warmup) {
                    micros.add(TimeUnit.NANOSECONDS.toMicros(left.nanos() - closed));
                }
            }
        }
        Collections.sort(micros);
        double mean = micros.stream().mapToLong(Long::longValue).average().orElse(0);
        System.out.printf(Locale.ROOT, "%s leave.close_to_left.us leaves=%d median=%d mean=%.0f p10=%d p90=%d%n", label,
                micros.size(), micros.get(micros.size() / 2), mean, micros.get(micros.size() / 10),
                micros.get(micros.size() * 9 / 10));
    }

    private static Node node(String name, int port, MembershipListener listener) {
        Node.Builder b = Node.builder()
                .config(NodeConfig.builder().clusterName("leave-latency").memberName(name).build())
                .transport(NettyTransport.factory(NettyTransportConfig.builder().address(BenchJvm.LOOPBACK).port(0)
                        .ioThreads(1).build()))
                .membership(MulticastMembership.factory(MulticastMembershipConfig.builder().port(port).bind("lo")
                        .ttl(0).frequency(Duration.ofMillis(500)).dropTime(Duration.ofMillis(3000))
                        .connectTimeout(Duration.ofMillis(100)).build()));
        if (listener != null) {
            b.onMembership(listener);
        }
        return b.start();
    }
}
