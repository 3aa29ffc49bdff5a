package io.flotilla.transport.netty;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.spi.Disconnect;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameType;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Two transports on loopback: handshake, data both ways, ordering per thread, acks, leaving and crashing. */
class NettyTransportTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private final List<AutoCloseable> closeables = new ArrayList<>();

    private <T extends AutoCloseable> T track(T c) {
        closeables.add(c);
        return c;
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
    }

    private static final int[] SIZES = {0, 1, 21, 22, 23, 1000, 1024, 4095, 4096, 4097, 16 << 10, 65_535, 64 << 10};

    @Test
    @Timeout(30)
    void handshakesAndExchangesDataBothWaysWithContentVerified() {
        TestNode a = track(TestNode.start("a"));
        TestNode b = track(TestNode.start("b"));
        Random random = new Random(42);
        List<byte[]> sent = new ArrayList<>();
        for (int i = 0; i < SIZES.length; i++) {
            byte[] p = new byte[SIZES[i]];
            random.nextBytes(p);
            sent.add(p);
            a.transport.send(b.member, TestNode.data(i, p));
            b.transport.send(a.member, TestNode.data(i, p));
        }
        await("all frames on both sides", WAIT,
                () -> a.inbound.frames.size() == SIZES.length && b.inbound.frames.size() == SIZES.length,
                () -> "a got " + a.inbound.frames.size() + ", b got " + b.inbound.frames.size());
        for (TestNode[] pair : new TestNode[][] {{a, b}, {b, a}}) {
            List<Frame> got = pair[1].inbound.framesFrom(pair[0].member);
            assertEquals(SIZES.length, got.size());
            for (int i = 0; i < SIZES.length; i++) {
                assertEquals(FrameType.DATA, got.get(i).type());
                assertEquals(i, got.get(i).messageId());
                assertArrayEquals(sent.get(i), got.get(i).payloadBytes(), "payload of frame " + i);
            }
        }
        assertTrue(b.inbound.connected.stream().anyMatch(c -> c.remote().sameDescription(a.member)),
                "b's connection from a carries a's handshake member");
        assertTrue(a.inbound.connected.stream().anyMatch(c -> c.remote().sameDescription(b.member)));
        assertTrue(b.inbound.readCompletes.get() > 0);
        // One handshake frame (HELLO or HELLO_ACK) received per connection, plus the data frames.
        await("frames.received counts data and handshakes", WAIT,
                () -> a.counter("flotilla.transport.frames.received") == SIZES.length + a.inbound.connected.size());
    }

    @Test
    @Timeout(60)
    void framesFromSeveralThreadsArriveCompleteAndInOrderPerThread() throws Exception {
        TestNode a = track(TestNode.start("test", "a", TestNode.config().poolSize(2).build(),
                new RecordingInbound()));
        TestNode b = track(TestNode.start("b"));
        int threads = 4;
        int perThread = 5_000;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int topic = t;
                done.add(pool.submit(() -> {
                    go.await();
                    Random r = new Random(topic);
                    for (int i = 0; i < perThread; i++) {
                        byte[] p = new byte[r.nextInt(2048)];
                        if (p.length > 0) {
                            p[0] = (byte) i;
                        }
                        a.transport.send(b.member,
                                new Frame(FrameType.DATA, 0, topic, 0, i, ByteBuffer.wrap(p)));
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : done) {
                f.get(30, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        await("all frames at b", WAIT, () -> b.inbound.frames.size() == threads * perThread,
                () -> "got " + b.inbound.frames.size() + "; send failures at a: " + a.inbound.sendFailures);
        long[] next = new long[threads];
        for (RecordingInbound.Received r : b.inbound.frames) {
            int topic = r.frame().topic();
            assertEquals(next[topic], r.frame().messageId(), "order of thread " + topic);
            next[topic]++;
        }
        for (int t = 0; t < threads; t++) {
            assertEquals(perThread, next[t]);
        }
        assertTrue(b.inbound.connected.size() <= 2, "at most poolSize connections: " + b.inbound.connected.size());
    }

    @Test
    @Timeout(30)
    void ackGoesBackOverTheConnectionTheFrameArrivedOn() {
        TestNode a = track(TestNode.start("a"));
        RecordingInbound acking = new RecordingInbound().reacting((conn, f) -> {
            if (f.type() == FrameType.DATA) {
                conn.send(Frame.control(FrameType.ACK, f.messageId()));
            }
        });
        TestNode b = track(TestNode.start("test", "b", TestNode.config().build(), acking));
        for (int i = 1; i <= 100; i++) {
            a.transport.send(b.member, TestNode.data(i, new byte[] {(byte) i}));
        }
        await("100 acks at a", WAIT, () -> a.inbound.frames.stream()
                .filter(r -> r.frame().type() == FrameType.ACK).count() == 100);
        List<Long> ackIds = a.inbound.frames.stream().filter(r -> r.frame().type() == FrameType.ACK)
                .map(r -> r.frame().messageId()).toList();
        for (int i = 0; i < 100; i++) {
            assertEquals(i + 1, ackIds.get(i));
        }
        // The acks came back over a's own outbound connection: b never had to open one towards a.
        assertTrue(b.inbound.connected.stream().allMatch(c -> c.remote().equals(a.member)));
        assertEquals(1, b.inbound.connected.size(), "b only accepted; it opened nothing");
    }

    @Test
    @Timeout(30)
    void refusesAPeerOfAnotherCluster() {
        TestNode a = track(TestNode.start("a"));
        TestNode other = track(TestNode.start("other-cluster", "x", TestNode.config().build(),
                new RecordingInbound()));
        other.transport.send(a.member, TestNode.data(1, new byte[10]));
        await("send failure reported at the foreign node", WAIT, () -> !other.inbound.sendFailures.isEmpty());
        RecordingInbound.SendFailure failure = other.inbound.sendFailures.peek();
        assertEquals(a.member, failure.member());
        assertTrue(failure.cause().getMessage().contains("cluster name mismatch"), failure.cause().getMessage());
        await("refusal counted", WAIT, () -> a.refused("cluster_mismatch") == 1.0);
        assertTrue(a.inbound.connected.isEmpty(), "no connection reached the engine");
        assertTrue(a.inbound.frames.isEmpty());
        assertEquals(1, other.inbound.sendFailures.size(), "one failure for one attempt");
    }

    @Test
    @Timeout(30)
    void reportsSendFailureOnceWhenNothingListens() throws IOException {
        TestNode a = track(TestNode.start("a"));
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Member ghost = new Member(MemberId.random(), "ghost", "127.0.0.1", port, "", new byte[0], 0);
        a.transport.send(ghost, TestNode.data(1, new byte[10]));
        a.transport.send(ghost, TestNode.data(2, new byte[10]));
        await("send failure reported", WAIT, () -> !a.inbound.sendFailures.isEmpty());
        await("connect failure counted", WAIT, () -> a.counter("flotilla.transport.connect.failures") == 1.0);
        assertEquals(1, a.inbound.sendFailures.size(), "one report for the one attempt");
        assertEquals(ghost, a.inbound.sendFailures.peek().member());
        // The engine retries by sending again: that is a new attempt.
        a.transport.send(ghost, TestNode.data(3, new byte[10]));
        await("second attempt reported", WAIT, () -> a.inbound.sendFailures.size() == 2);
    }

    @Test
    @Timeout(30)
    void gracefulCloseIsReportedAsGraceful() {
        TestNode a = track(TestNode.start("a"));
        TestNode b = track(TestNode.start("b"));
        b.transport.send(a.member, TestNode.data(1, new byte[10]));
        await("a got the frame", WAIT, () -> a.inbound.frames.size() == 1);
        b.close();
        await("a saw the disconnect", WAIT, () -> !a.inbound.disconnects.isEmpty());
        RecordingInbound.Disconnect d = a.inbound.disconnects.peek();
        assertEquals(Disconnect.LEAVING, d.reason(), "a leaving goodbye before close");
        assertEquals(b.member, d.connection().remote());
        assertFalse(d.connection().isOpen());
        await("gauge back to zero", WAIT, () -> a.meters.find("flotilla.transport.connections").gauge().value() == 0);
    }

    @Test
    @Timeout(30)
    void disconnectSaysGoodbyeToThatMember() {
        TestNode a = track(TestNode.start("a"));
        TestNode b = track(TestNode.start("b"));
        a.transport.send(b.member, TestNode.data(1, new byte[10]));
        await("b got the frame", WAIT, () -> b.inbound.frames.size() == 1);
        a.transport.disconnect(b.member);
        await("b saw the disconnect", WAIT, () -> !b.inbound.disconnects.isEmpty());
        assertEquals(Disconnect.CLOSED, b.inbound.disconnects.peek().reason(),
                "a disconnect is not a leave");
        // A later send opens a new connection.
        a.transport.send(b.member, TestNode.data(2, new byte[10]));
        await("b got the second frame", WAIT, () -> b.inbound.frames.size() == 2);
        assertEquals(2, b.inbound.connected.size());
    }

    @Test
    @Timeout(30)
    void abruptCloseIsReportedAsNotGraceful() throws Exception {
        TestNode a = track(TestNode.start("a"));
        for (boolean reset : new boolean[] {false, true}) {
            int before = a.inbound.disconnects.size();
            try (RawClient raw = new RawClient(a.address)) {
                Member m = raw.handshake("test");
                assertEquals(a.member, m);
                raw.writeFrame(TestNode.data(7, new byte[] {1, 2, 3}));
                await("frame delivered", WAIT, () -> a.inbound.frames.stream()
                        .anyMatch(r -> r.frame().messageId() == 7 && r.connection().remote().equals(raw.member)));
                if (reset) {
                    raw.abort();
                }
            }
            await("disconnect seen", WAIT, () -> a.inbound.disconnects.size() == before + 1);
            RecordingInbound.Disconnect d = new ArrayList<>(a.inbound.disconnects).get(before);
            assertEquals(Disconnect.LOST, d.reason(), "closed without goodbye (reset=" + reset + ")");
        }
    }

    @Test
    @Timeout(30)
    void answersPingWithPongInsideTheTransport() throws Exception {
        TestNode a = track(TestNode.start("a"));
        try (RawClient raw = new RawClient(a.address)) {
            raw.handshake("test");
            raw.writeFrame(Frame.control(FrameType.PING, 0x1234_5678_9ABCL));
            Frame pong = raw.readFrame();
            assertEquals(FrameType.PONG, pong.type());
            assertEquals(0x1234_5678_9ABCL, pong.messageId());
            raw.writeFrame(Frame.control(FrameType.GOODBYE, 0));
            assertTrue(raw.awaitClosed(WAIT));
        }
        await("disconnect seen", WAIT, () -> a.inbound.disconnects.size() == 1);
        assertEquals(Disconnect.CLOSED, a.inbound.disconnects.peek().reason(),
                "a goodbye without the leaving flag");
        assertTrue(a.inbound.frames.isEmpty(), "PING never reaches the engine");
    }

    @Test
    @Timeout(30)
    void closeIsIdempotentAndRefusesLaterSends() {
        TestNode a = track(TestNode.start("a"));
        TestNode b = track(TestNode.start("b"));
        a.transport.send(b.member, TestNode.data(1, new byte[1]));
        await("delivered", WAIT, () -> b.inbound.frames.size() == 1);
        a.close();
        a.close();
        a.transport.send(b.member, TestNode.data(2, new byte[1]));
        assertEquals(1, a.inbound.sendFailures.size());
        assertEquals(0, a.transport.connectionCount());
    }
}
