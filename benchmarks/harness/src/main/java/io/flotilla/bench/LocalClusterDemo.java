package io.flotilla.bench;

import io.flotilla.Delivery;
import io.flotilla.MembershipEvent;
import io.flotilla.Node;
import io.flotilla.NodeConfig;
import io.flotilla.membership.MulticastMembership;
import io.flotilla.membership.MulticastMembershipConfig;
import io.flotilla.transport.netty.NettyTransport;
import io.flotilla.transport.netty.NettyTransportConfig;
import java.io.PrintStream;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The local cluster demo ({@code ./demo.sh}): three nodes in this JVM find each other by multicast heartbeats on
 * the loopback interface (TTL 0, a free port), exchange messages over Netty on 127.0.0.1 with each delivery
 * guarantee, then one node leaves gracefully and the others see it. Prints what each node sees and a summary;
 * exits non-zero if something did not happen within its time bound.
 */
public final class LocalClusterDemo {
    private static final Duration STEP_TIMEOUT = Duration.ofSeconds(20);

    private LocalClusterDemo() {
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = System.out;
        if (!Arrays.asList(args).contains("-v")) {
            // The nodes log their lifecycle at INFO; the demo prints its own story. -v shows the logs too.
            Logger root = Logger.getLogger("");
            root.setLevel(Level.WARNING);
            for (var h : root.getHandlers()) {
                h.setLevel(Level.WARNING);
            }
        }
        int mcastPort;
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            mcastPort = s.getLocalPort();
        }
        out.printf(Locale.ROOT, "Flotilla local cluster demo: 3 nodes, multicast 228.0.0.4:%d on lo (TTL 0), TCP on 127.0.0.1%n",
                mcastPort);
        ConcurrentHashMap<String, AtomicInteger> received = new ConcurrentHashMap<>();
        List<Node> nodes = new ArrayList<>();
        try {
            for (int i = 1; i <= 3; i++) {
                String name = "node" + i;
                received.put(name, new AtomicInteger());
                nodes.add(Node.builder()
                        .config(NodeConfig.builder().clusterName("demo").memberName(name).build())
                        .transport(NettyTransport.factory(NettyTransportConfig.builder()
                                .address("127.0.0.1").port(0).ioThreads(1).build()))
                        .membership(MulticastMembership.factory(MulticastMembershipConfig.builder()
                                .port(mcastPort).bind("lo").ttl(0).frequency(Duration.ofMillis(200))
                                .dropTime(Duration.ofMillis(1500)).build()))
                        .onMembership(e -> out.printf(Locale.ROOT, "  [%s] %s%n", name, describe(e)))
                        .onMessage(1, m -> {
                            received.get(name).incrementAndGet();
                            out.printf(Locale.ROOT, "  [%s] got \"%s\" from %s (%s)%n", name,
                                    StandardCharsets.UTF_8.decode(m.payload()), m.from().name(), m.delivery());
                        })
                        .start());
            }
            await("every node sees 3 members", () -> nodes.stream().allMatch(n -> n.view().size() == 3));
            out.println("All three nodes see each other:");
            for (Node n : nodes) {
                out.printf(Locale.ROOT, "  %s -> %s%n", n.localMember().name(), n.view());
            }

            List<CompletableFuture<Void>> sends = new ArrayList<>();
            Delivery[] modes = Delivery.values();
            for (int i = 0; i < nodes.size(); i++) {
                Node n = nodes.get(i);
                Delivery d = modes[i % modes.length];
                String text = "hello from " + n.localMember().name() + " with " + d;
                sends.add(n.broadcast(1, ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), d)
                        .toCompletableFuture());
            }
            CompletableFuture.allOf(sends.toArray(CompletableFuture[]::new)).get(STEP_TIMEOUT.toSeconds(),
                    TimeUnit.SECONDS);
            await("every node received 2 messages", () -> received.values().stream().allMatch(c -> c.get() == 2));

            out.println("node3 leaves gracefully:");
            Node leaving = nodes.remove(2);
            leaving.close();
            await("the others see 2 members", () -> nodes.stream().allMatch(n -> n.view().size() == 2));
            out.printf(Locale.ROOT, "Summary: 3 nodes joined, %d messages delivered in order (ASYNC, RECEIVED, PROCESSED), "
                    + "node3's leave seen by node1 and node2 as graceful.%n",
                    received.values().stream().mapToInt(AtomicInteger::get).sum());
            out.println("Stopping the remaining nodes.");
        } finally {
            for (Node n : nodes) {
                n.close();
            }
        }
    }

    private static String describe(MembershipEvent e) {
        String who = e.member().name();
        if (e instanceof MembershipEvent.Joined) {
            return who + " joined (view #" + e.view().id() + ", " + e.view().size() + " members)";
        }
        if (e instanceof MembershipEvent.Left l) {
            return who + (l.graceful() ? " left gracefully" : " was removed as failed") + " (view #" + e.view().id()
                    + ", " + e.view().size() + " members)";
        }
        return who + " " + e.getClass().getSimpleName().toLowerCase(Locale.ROOT);
    }

    private static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + STEP_TIMEOUT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("demo step did not complete within " + STEP_TIMEOUT.toSeconds()
                        + " s: " + what);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
        }
    }
}
