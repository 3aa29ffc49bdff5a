package io.flotilla.membership;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.Member;
import io.flotilla.MembershipEvent;
import io.flotilla.MembershipEvent.Left;
import io.flotilla.MembershipEvent.Unsuspected;
import io.flotilla.View;
import io.flotilla.membership.FakeMembershipContext.FakeNetwork;
import io.flotilla.membership.FakeMembershipContext.FakeNetwork.Mode;
import io.flotilla.spi.Clock;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Real multicast on the loopback interface: {@code lo}, TTL 0, a free port, so no packet leaves the machine. TCP
 * probes answer from a {@link FakeNetwork}. Skipped when this host cannot multicast on {@code lo}.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class MulticastLoopbackTest {
    private static final Duration FREQUENCY = Duration.ofMillis(200);
    private static final Duration DROP_TIME = Duration.ofMillis(1500);
    private static final Duration PATIENCE = Duration.ofSeconds(30);

    private final FakeNetwork network = new FakeNetwork();
    private final ThreadScheduler scheduler = new ThreadScheduler("test-scheduler");
    private final String cluster = "t" + UUID.randomUUID().toString().substring(0, 8);
    private final List<Node> nodes = new ArrayList<>();
    private int nextTcpPort = 20_000;

    private record Node(MulticastMembership service, FakeMembershipContext context) {
        Member member() {
            return context.localMember();
        }

        View view() {
            return service.view();
        }
    }

    @BeforeAll
    static void multicastOnLoopbackWorks() throws IOException {
        NetworkInterface lo = NetworkInterface.getByName("lo");
        Assumptions.assumeTrue(lo != null, "no interface named lo: loopback multicast tests skipped");
        int port = freePort();
        InetAddress group = InetAddress.getByName("228.0.0.4");
        try (DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET)) {
            ch.setOption(StandardSocketOptions.SO_REUSEADDR, true).bind(new InetSocketAddress(port));
            ch.setOption(StandardSocketOptions.IP_MULTICAST_IF, lo).setOption(StandardSocketOptions.IP_MULTICAST_TTL, 0)
                    .setOption(StandardSocketOptions.IP_MULTICAST_LOOP, true);
            ch.join(group, lo);
            ch.configureBlocking(false);
            ch.send(ByteBuffer.wrap(new byte[] {42}), new InetSocketAddress(group, port));
            AtomicReference<Boolean> got = new AtomicReference<>(false);
            try {
                await("a multicast datagram looped back on lo", Duration.ofSeconds(3), () -> {
                    try {
                        got.set(ch.receive(ByteBuffer.allocate(16)) != null);
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                    return got.get();
                });
            } catch (AssertionError e) {
                Assumptions.abort("multicast on lo with TTL 0 does not loop back here: " + e.getMessage());
            }
        } catch (IOException e) {
            Assumptions.abort("cannot join a multicast group on lo: " + e);
        }
    }

    static int freePort() throws IOException {
        try (DatagramSocket s = new DatagramSocket(0)) {
            return s.getLocalPort();
        }
    }

    @AfterEach
    void tearDown() {
        for (Node n : nodes) {
            n.service().close();
        }
        scheduler.close();
    }

    private MulticastMembershipConfig config(int port) {
        return MulticastMembershipConfig.builder().port(port).bind("lo").ttl(0).frequency(FREQUENCY)
                .dropTime(DROP_TIME).connectTimeout(Duration.ofMillis(500)).build();
    }

    private Node node(String name, String domain, int port) {
        Member m = FakeMembershipContext.member(name, nextTcpPort++, domain);
        network.put(m, Mode.ALIVE);
        FakeMembershipContext ctx = new FakeMembershipContext(m, cluster, Clock.system(), scheduler, network);
        Node n = new Node((MulticastMembership) MulticastMembership.factory(config(port)).create(), ctx);
        nodes.add(n);
        return n;
    }

    private static String views(List<Node> nodes) {
        StringBuilder sb = new StringBuilder();
        for (Node n : nodes) {
            sb.append(n.member().name()).append('=').append(n.view() == null ? "-" : n.view().size()).append(' ');
        }
        return sb.toString();
    }

    private static void assertOrdered(Node n) {
        long last = 1;
        for (MembershipEvent e : n.context().events()) {
            assertTrue(e.view().id() > last, () -> n.member().name() + " saw view ids out of order: "
                    + n.context().events());
            last = e.view().id();
        }
        assertTrue(n.context().publishThreads().size() <= 1, "events from one thread only");
    }

    private List<Node> startCluster(int size) throws Exception {
        int port = freePort();
        List<Node> cluster = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            cluster.add(node("n" + i, "", port));
        }
        CountDownLatch ready = new CountDownLatch(size);
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> starters = new ArrayList<>();
        List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
        for (Node n : cluster) {
            Thread t = new Thread(() -> {
                ready.countDown();
                try {
                    go.await();
                    n.service().start(n.context());
                } catch (Throwable e) {
                    failures.add(e);
                }
            }, "starter-" + n.member().name());
            t.setDaemon(true);
            starters.add(t);
            t.start();
        }
        assertTrue(ready.await(30, TimeUnit.SECONDS));
        long begin = System.nanoTime();
        go.countDown();
        for (Thread t : starters) {
            t.join(30_000);
        }
        long started = System.nanoTime();
        assertTrue(failures.isEmpty(), () -> "start failed: " + failures);
        await("every node sees all " + size, PATIENCE, () -> cluster.stream().allMatch(
                n -> n.view() != null && n.view().size() == size), () -> views(cluster));
        System.out.printf("%d nodes: start() returned after %.1f ms (all), full views after %.1f ms%n", size,
                (started - begin) / 1e6, (System.nanoTime() - begin) / 1e6);
        return cluster;
    }

    @Test
    void tenNodesStartedTogetherAllSeeTheOtherNine() throws Exception {
        List<Node> cluster = startCluster(10);
        for (Node n : cluster) {
            for (Node other : cluster) {
                assertTrue(n.view().contains(other.member().id()));
            }
            await("joins published", PATIENCE, () -> n.context().events().stream()
                    .filter(e -> e instanceof MembershipEvent.Joined).count() == 9);
            assertTrue(n.context().events().stream().noneMatch(e -> e instanceof Left),
                    () -> n.member().name() + ": " + n.context().events());
            assertOrdered(n);
            assertTrue(n.context().counter("flotilla.membership.datagrams.sent", "type", "heartbeat") >= 1);
        }
    }

    @Test
    void nodesOfDifferentDomainsNeverSeeEachOther() throws Exception {
        int port = freePort();
        Node a1 = node("a1", "alpha", port);
        Node a2 = node("a2", "alpha", port);
        Node b1 = node("b1", "beta", port);
        Node b2 = node("b2", "beta", port);
        for (Node n : nodes) {
            n.service().start(n.context());
        }
        await("each domain forms", PATIENCE, () -> a1.view().size() == 2 && a2.view().size() == 2
                && b1.view().size() == 2 && b2.view().size() == 2, () -> views(nodes));
        // Each node has heard the other domain's heartbeats and ignored them.
        await("other domain heard and ignored", PATIENCE, () -> nodes.stream().allMatch(n -> n.context().counter(
                "flotilla.membership.datagrams.ignored", "reason", "other_domain") >= 4));
        assertTrue(a1.view().contains(a2.member().id()) && !a1.view().contains(b1.member().id()));
        assertTrue(b1.view().contains(b2.member().id()) && !b1.view().contains(a2.member().id()));
        for (Node n : nodes) {
            await("join published", PATIENCE, () -> !n.context().events().isEmpty());
            for (Node other : nodes) {
                if (!other.member().domain().equals(n.member().domain())) {
                    assertTrue(n.context().events().stream().noneMatch(e -> e.member().equals(other.member())),
                            () -> n.member().name() + " saw another domain: " + n.context().events());
                }
            }
        }
    }

    @Test
    void closeIsSeenAsAGracefulLeaveLongBeforeDropTime() throws Exception {
        List<Node> cluster = startCluster(3);
        Node leaving = cluster.get(0);
        long begin = System.nanoTime();
        leaving.service().close();
        long closed = System.nanoTime();
        await("others see the leave", PATIENCE, () -> cluster.subList(1, 3).stream().allMatch(
                n -> !n.context().eventsOf(Left.class, leaving.member().id()).isEmpty()));
        System.out.printf("graceful leave: close() took %.1f ms, seen by all after %.1f ms%n",
                (closed - begin) / 1e6, (System.nanoTime() - begin) / 1e6);
        for (Node n : cluster.subList(1, 3)) {
            List<Left> left = n.context().eventsOf(Left.class, leaving.member().id());
            assertEquals(1, left.size());
            assertTrue(left.get(0).graceful(), "a leave, not a failure after dropTime");
            assertTrue(n.context().eventsOf(MembershipEvent.Suspected.class, leaving.member().id()).isEmpty());
        }
    }

    @Test
    void silentNodeIsRemovedAfterDropTimeWhenTheProbeFails() throws Exception {
        List<Node> cluster = startCluster(3);
        Node silent = cluster.get(0);
        network.set(silent.member(), Mode.DEAD);
        long begin = System.nanoTime();
        silent.service().stopSilently();
        await("others remove the silent node", PATIENCE, () -> cluster.subList(1, 3).stream().allMatch(
                n -> !n.context().eventsOf(Left.class, silent.member().id()).isEmpty()));
        long elapsed = System.nanoTime() - begin;
        System.out.printf("silent node (heartbeats stopped, TCP dead) removed after %.1f ms (dropTime %d ms)%n",
                elapsed / 1e6, DROP_TIME.toMillis());
        // Its last heartbeat left at most a few (late) heartbeat periods before the stop: removal cannot come much
        // before dropTime. Half of it is a bound no scheduling delay can break.
        assertTrue(elapsed >= DROP_TIME.dividedBy(2).toNanos(), "removed by the detector, not early");
        for (Node n : cluster.subList(1, 3)) {
            assertFalse(n.context().eventsOf(Left.class, silent.member().id()).get(0).graceful());
            assertOrdered(n);
        }
    }

    @Test
    void silentNodeWhoseTcpAnswersIsKept() throws Exception {
        List<Node> cluster = startCluster(3);
        Node silent = cluster.get(0);
        silent.service().stopSilently(); // heartbeats stop, the (fake) receiver still answers
        await("others verify the silent node and keep it", PATIENCE, () -> cluster.subList(1, 3).stream()
                .allMatch(n -> !n.context().eventsOf(Unsuspected.class, silent.member().id()).isEmpty()));
        for (Node n : cluster.subList(1, 3)) {
            assertTrue(n.view().contains(silent.member().id()));
            assertTrue(n.context().eventsOf(Left.class, silent.member().id()).isEmpty());
        }
    }
}
