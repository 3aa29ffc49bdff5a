package io.flotilla.transport.netty;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.ClusterSecret;
import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.Message;
import io.flotilla.NodeConfig;
import io.flotilla.RemoteProcessingException;
import io.flotilla.internal.DefaultNode;
import io.flotilla.spi.Clock;
import io.flotilla.testing.FixedMembership;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Lanes ({@link NettyTransportConfig#lanes()}): a thread that waits for its synchronous send reads the answer from a
 * connection of its own, and everything the engine promises still holds: each message once, in order per sender,
 * whatever mix of lanes, pooled connections, waiting and non-waiting callers, and lanes that break. Two real nodes
 * on 127.0.0.1.
 */
class LaneTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final int TOPIC = 3;
    private final List<DefaultNode> nodes = new ArrayList<>();
    private final List<NettyTransport> transports = new ArrayList<>();
    private final FixedMembership membershipB = new FixedMembership();

    @AfterEach
    void closeNodes() {
        nodes.forEach(DefaultNode::close);
    }

    /** Two started nodes that see each other, with up to {@code lanes} lanes per member. */
    private DefaultNode[] pair(int lanes) {
        return pair(lanes, null);
    }

    /** As {@link #pair(int)}, both proving {@code secret} (null: none) in every handshake, a lane's included. */
    private DefaultNode[] pair(int lanes, ClusterSecret secret) {
        FixedMembership ma = new FixedMembership();
        DefaultNode a = node("a", ma, lanes, secret);
        DefaultNode b = node("b", membershipB, lanes, secret);
        ma.join(b.localMember());
        membershipB.join(a.localMember());
        return new DefaultNode[] {a, b};
    }

    private DefaultNode node(String name, FixedMembership membership, int lanes, ClusterSecret secret) {
        NodeConfig config = NodeConfig.builder().clusterName("lanes").memberName(name).secret(secret)
                .timeout(Duration.ofSeconds(30)).deliveryThreads(2).build();
        NettyTransport t = (NettyTransport) NettyTransport.factory(TestNode.config().lanes(lanes).build()).create();
        DefaultNode n = new DefaultNode(config, Clock.system(), null, t, membership);
        n.start();
        nodes.add(n);
        transports.add(t);
        return n;
    }

    private static double count(DefaultNode n, String name) {
        var c = n.meterRegistry().find(name).counter();
        return c == null ? 0 : c.count();
    }

    private static ByteBuffer message(int thread, int index) {
        return ByteBuffer.allocate(8).putInt(thread).putInt(index).flip();
    }

    /**
     * In a listener: when {@code m} is the first message of stream {@code marker}, says so on {@code entered} and
     * holds the listener until {@code release}.
     */
    private static void holdIfMarked(Message m, int marker, CountDownLatch entered, CountDownLatch release) {
        if (m.payload().getInt(0) != marker) {
            return;
        }
        entered.countDown();
        try {
            release.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Sends once and waits, so the pooled connection a lane needs is open. */
    private static void warmUp(DefaultNode from, Member to) throws Exception {
        from.send(to, TOPIC, message(-1, 0), Delivery.RECEIVED).toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    @ParameterizedTest(name = "with a cluster secret: {0}")
    @ValueSource(booleans = { false, true })
    @Timeout(120)
    void aThreadThatWaitsReadsItsAnswerFromItsLane(boolean secret) throws Exception {
        DefaultNode[] p = pair(4, secret ? ClusterSecret.fromString("lanes prove it too") : null);
        AtomicInteger received = new AtomicInteger();
        p[1].addMessageListener(TOPIC, m -> received.incrementAndGet());
        Member b = p[1].localMember();
        warmUp(p[0], b);
        double framesBefore = count(p[0], "flotilla.transport.frames.received");
        double lanesBefore = count(p[0], "flotilla.lanes.sent");
        int n = 200;
        for (int i = 0; i < n; i++) {
            Delivery d = i % 2 == 0 ? Delivery.RECEIVED : Delivery.PROCESSED;
            p[0].send(b, TOPIC, message(0, i), d).toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
        assertEquals(n, count(p[0], "flotilla.lanes.sent") - lanesBefore, "every send went on a lane");
        assertEquals(0, count(p[0], "flotilla.lanes.failed"));
        assertEquals(1, count(p[1], "flotilla.transport.lanes.accepted"), "one thread, one lane, reused");
        assertTrue(count(p[0], "flotilla.transport.frames.received") - framesBefore < 10,
                "the answers came on the lane, not through the pooled connection's I/O thread");
        await("all delivered", WAIT, () -> received.get() == n + 1);
        assertEquals(List.of(), membershipB.suspicions, "a lane raises no connection event");
    }

    @Test
    @Timeout(180)
    void manyThreadsMixingDeliveriesOverLanesAndPooledConnectionsGetEachMessageOnceInOrder() throws Exception {
        DefaultNode[] p = pair(3); // fewer lanes than threads: some synchronous sends go the pooled way
        int threads = 6;
        int perThread = 400;
        int[] next = new int[threads];
        AtomicLong outOfOrder = new AtomicLong();
        AtomicInteger received = new AtomicInteger();
        p[1].addMessageListener(TOPIC, m -> {
            int t = m.payload().getInt(0);
            int i = m.payload().getInt(4);
            if (t < 0) {
                return;
            }
            // One sender's messages are delivered one at a time: no lock needed.
            if (next[t] != i) {
                outOfOrder.incrementAndGet();
            }
            next[t] = i + 1;
            received.incrementAndGet();
        });
        Member b = p[1].localMember();
        warmUp(p[0], b);
        List<Thread> senders = new ArrayList<>();
        AtomicLong failures = new AtomicLong();
        CountDownLatch go = new CountDownLatch(1);
        for (int t = 0; t < threads; t++) {
            int thread = t;
            Thread s = new Thread(() -> {
                Random r = new Random(31L * thread);
                try {
                    go.await();
                    for (int i = 0; i < perThread; i++) {
                        Delivery d = Delivery.values()[r.nextInt(3)];
                        CompletionStage<Void> f = p[0].send(b, TOPIC, message(thread, i), d);
                        if (d != Delivery.ASYNC) {
                            f.toCompletableFuture().get(30, TimeUnit.SECONDS);
                        }
                    }
                } catch (Exception e) {
                    failures.incrementAndGet();
                }
            }, "sender-" + t);
            s.start();
            senders.add(s);
        }
        go.countDown();
        for (Thread s : senders) {
            s.join(TimeUnit.SECONDS.toMillis(150));
        }
        assertEquals(0, failures.get());
        await("all delivered", WAIT, () -> received.get() == threads * perThread);
        assertEquals(0, outOfOrder.get(), "each thread's messages in the order it sent them");
        assertTrue(count(p[0], "flotilla.lanes.sent") > 0);
        assertEquals(0, count(p[0], "flotilla.lanes.failed"));
        assertTrue(count(p[1], "flotilla.transport.lanes.accepted") <= 3, "at most lanes=3 per member");
    }

    @Test
    @Timeout(120)
    void callersThatDoNotWaitStillGetTheirStagesCompleted() throws Exception {
        DefaultNode[] p = pair(4);
        AtomicInteger received = new AtomicInteger();
        p[1].addMessageListener(TOPIC, m -> received.incrementAndGet());
        Member b = p[1].localMember();
        warmUp(p[0], b);
        AtomicInteger completed = new AtomicInteger();
        int n = 40;
        for (int i = 0; i < n; i++) {
            // A dependent attached: the lane goes to a lane thread at once.
            p[0].send(b, TOPIC, message(0, i), Delivery.PROCESSED).thenRun(completed::incrementAndGet);
            // Dropped: the timer hands it to a lane thread.
            p[0].send(b, TOPIC, message(1, i), Delivery.RECEIVED);
        }
        await("every dependent ran", WAIT, () -> completed.get() == n);
        await("all delivered", WAIT, () -> received.get() == 2 * n + 1);
        assertTrue(count(p[0], "flotilla.lanes.sent") > 0);
        assertEquals(0, count(p[0], "flotilla.lanes.failed"), "every lane's answer was read by a lane thread");
        assertTrue(count(p[1], "flotilla.transport.lanes.accepted") <= 4);
    }

    @Test
    @Timeout(120)
    void aLaneThatBreaksWhileItsSenderWaitsLeavesTheMessageToThePooledConnection() throws Exception {
        DefaultNode[] p = pair(2);
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger received = new AtomicInteger();
        p[1].addMessageListener(TOPIC, m -> {
            holdIfMarked(m, 7, entered, release);
            received.incrementAndGet();
        });
        Member b = p[1].localMember();
        warmUp(p[0], b);
        Thread closer = new Thread(() -> {
            try {
                entered.await(60, TimeUnit.SECONDS);
                transports.get(0).disconnect(b); // closes the lanes (and the pooled connections) to b
                release.countDown();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "closer");
        closer.start();
        p[0].send(b, TOPIC, message(7, 0), Delivery.PROCESSED).toCompletableFuture().get(30, TimeUnit.SECONDS);
        closer.join(60_000);
        assertTrue(count(p[0], "flotilla.lanes.failed") >= 1, "the lane broke under the waiting sender");
        assertEquals(2, received.get(), "the warm-up and the message, once");
        assertEquals(List.of(), membershipB.suspicions, "a lane that breaks raises no suspicion");
    }

    @Test
    @Timeout(60)
    void aReceivedMessageGoesThePooledWayWhileAnotherThreadWaits() throws Exception {
        DefaultNode[] p = pair(4);
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        p[1].addMessageListener(TOPIC, m -> holdIfMarked(m, 9, entered, release));
        Member b = p[1].localMember();
        warmUp(p[0], b);
        Thread waiter = new Thread(() -> {
            try {
                p[0].send(b, TOPIC, message(9, 0), Delivery.PROCESSED).toCompletableFuture().get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "waiter");
        waiter.start();
        assertTrue(entered.await(30, TimeUnit.SECONDS));
        // The waiter's message arrived; wait until the waiter itself waits for its answer (reads its lane).
        await("the waiter reads its lane", WAIT, () -> Arrays.stream(waiter.getStackTrace())
                .anyMatch(f -> f.getClassName().endsWith("LaneWait")));
        double before = count(p[0], "flotilla.lanes.sent");
        // Acknowledged by the receiver's I/O thread, which answers many such messages at once on the pooled
        // connection when several threads wait: there a lane costs more than it saves.
        p[0].send(b, TOPIC, message(1, 0), Delivery.RECEIVED).toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertEquals(before, count(p[0], "flotilla.lanes.sent"));
        release.countDown();
        waiter.join(30_000);
        p[0].send(b, TOPIC, message(1, 1), Delivery.RECEIVED).toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertEquals(before + 1, count(p[0], "flotilla.lanes.sent"), "alone again: on a lane");
    }

    @Test
    @Timeout(60)
    void aListenerThatThrowsFailsTheSendOverALaneToo() throws Exception {
        DefaultNode[] p = pair(2);
        p[1].addMessageListener(TOPIC, m -> {
            if (m.payload().getInt(0) >= 0) {
                throw new IllegalStateException("no thanks");
            }
        });
        Member b = p[1].localMember();
        warmUp(p[0], b); // the warm-up itself may go on a lane, if the pooled connection was open already
        double before = count(p[0], "flotilla.lanes.sent");
        ExecutionException e = assertThrows(ExecutionException.class, () -> p[0].send(b, TOPIC, message(0, 0),
                Delivery.PROCESSED).toCompletableFuture().get(30, TimeUnit.SECONDS));
        assertInstanceOf(RemoteProcessingException.class, e.getCause());
        assertTrue(e.getCause().getMessage().contains("no thanks"), e.getCause().getMessage());
        assertEquals(before + 1, count(p[0], "flotilla.lanes.sent"));
    }

    @Test
    @Timeout(60)
    void noLanesByDefault() throws Exception {
        DefaultNode[] p = pair(0);
        Member b = p[1].localMember();
        warmUp(p[0], b);
        assertNull(transports.get(0).lane(b));
        assertEquals(0, count(p[0], "flotilla.lanes.sent"));
    }
}
