package io.flotilla.it;

import io.flotilla.MembershipListener;
import io.flotilla.Node;
import io.flotilla.NodeConfig;
import io.flotilla.membership.MulticastMembership;
import io.flotilla.membership.MulticastMembershipConfig;
import io.flotilla.testing.LoopbackMulticast;
import io.flotilla.transport.netty.NettyTransport;
import io.flotilla.transport.netty.NettyTransportConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * What the loopback integration tests share: the network rule (TCP on 127.0.0.1, multicast on {@code lo} with TTL
 * 0 on a port free at run time), short timings, in-JVM nodes, and a check that an invariant holds over a window.
 *
 * <p>Threading: static helpers, safe from any thread.
 */
final class Loopback {
    static final Duration FREQUENCY = Duration.ofMillis(200);
    static final Duration DROP_TIME = Duration.ofMillis(1500);
    static final Duration CONNECT_TIMEOUT = Duration.ofMillis(500);
    static final Duration PATIENCE = Duration.ofSeconds(30);

    private Loopback() {
    }

    /** Skips the calling test class unless multicast with TTL 0 loops back on {@code lo} here. */
    static void assumeMulticastOnLoopback() {
        LoopbackMulticast.assumeLoopsBack("228.0.0.4", freeUdpPort());
    }

    static int freeUdpPort() {
        return LoopbackMulticast.freeUdpPort();
    }

    /** A cluster name no other test run shares. */
    static String uniqueCluster() {
        return "it-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** An in-JVM node on 127.0.0.1 (free port), multicast on lo, TTL 0, the short timings above. */
    static Node node(String cluster, String name, String domain, int mcastPort, MembershipListener listener) {
        return Node.builder()
                .config(NodeConfig.builder().clusterName(cluster).memberName(name).domain(domain)
                        .deliveryThreads(1).build())
                .transport(NettyTransport.factory(NettyTransportConfig.builder().address("127.0.0.1").port(0)
                        .ioThreads(1).build()))
                .membership(MulticastMembership.factory(MulticastMembershipConfig.builder().port(mcastPort)
                        .bind("lo").ttl(0).frequency(FREQUENCY).dropTime(DROP_TIME).connectTimeout(CONNECT_TIMEOUT)
                        .build()))
                .onMembership(listener)
                .start();
    }

    /** The {@code key=value} args of a {@link io.flotilla.bench.ChildNode} with the same settings. */
    static List<String> childArgs(String cluster, String name, String domain, int mcastPort) {
        return new ArrayList<>(List.of("cluster=" + cluster, "name=" + name, "domain=" + domain,
                "mcastPort=" + mcastPort, "bind=lo", "ttl=0", "address=127.0.0.1",
                "frequency=" + FREQUENCY.toMillis(), "dropTime=" + DROP_TIME.toMillis(),
                "connectTimeout=" + CONNECT_TIMEOUT.toMillis(), "lifetime=300"));
    }

    /** {@code host:port} of a node's receiver, as {@link io.flotilla.bench.ChildNode} prints members. */
    static String address(Node n) {
        return n.localMember().host() + ":" + n.localMember().port();
    }

    /**
     * Fails as soon as {@code invariant} is false, and returns once it held for the whole {@code window}: how a test
     * asserts that something never happens during a bounded time.
     */
    static void holdsFor(String what, Duration window, BooleanSupplier invariant, Supplier<String> state) {
        long end = System.nanoTime() + window.toNanos();
        while (System.nanoTime() - end < 0) {
            if (!invariant.getAsBoolean()) {
                throw new AssertionError("broken within " + window.toMillis() + " ms: " + what + " (" + state.get()
                        + ")");
            }
            LockSupport.parkNanos(5_000_000);
        }
        if (!invariant.getAsBoolean()) {
            throw new AssertionError("broken at the end of " + window.toMillis() + " ms: " + what + " ("
                    + state.get() + ")");
        }
    }

    /** Closes every node, reporting all failures. */
    static void closeAll(List<? extends AutoCloseable> things) {
        RuntimeException first = null;
        for (AutoCloseable c : things) {
            try {
                c.close();
            } catch (Exception e) {
                if (first == null) {
                    first = new IllegalStateException("close failed", e);
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        things.clear();
        if (first != null) {
            throw first;
        }
    }
}
