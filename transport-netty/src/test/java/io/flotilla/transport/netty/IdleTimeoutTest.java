package io.flotilla.transport.netty;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.wire.FrameCodec;
import io.flotilla.wire.FrameType;
import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Handshaken connections that go silent, or stop mid-frame, are closed; live ones keep themselves alive. */
class IdleTimeoutTest {
    private static final Duration IDLE = Duration.ofMillis(300);
    private static final Duration WAIT = Duration.ofSeconds(10);
    private TestNode receiver;
    private TestNode peer;

    @AfterEach
    void close() {
        if (peer != null) {
            peer.close();
        }
        receiver.close();
    }

    private void startReceiver() {
        receiver = TestNode.start("test", "receiver", TestNode.config().idleTimeout(IDLE).build(),
                new RecordingInbound());
    }

    @Test
    @Timeout(30)
    void aConnectionThatSendsNothingAfterItsHandshakeIsClosedAndCounted() throws Exception {
        startReceiver();
        try (RawClient raw = new RawClient(receiver.address)) {
            raw.handshake("test");
            assertTrue(raw.awaitClosed(WAIT));
        }
        await("idle_timeout counted", WAIT, () -> receiver.refused("idle_timeout") == 1);
    }

    @Test
    @Timeout(30)
    void aPartialFrameThenSilenceIsClosedAsTruncated() throws Exception {
        startReceiver();
        try (RawClient raw = new RawClient(receiver.address)) {
            raw.handshake("test");
            byte[] frame = FrameCodec.encode(TestNode.data(1, new byte[100]));
            raw.write(Arrays.copyOf(frame, 60));
            assertTrue(raw.awaitClosed(WAIT));
        }
        await("truncated counted", WAIT, () -> receiver.refused("truncated") == 1);
        assertTrue(receiver.inbound.frames.isEmpty());
    }

    /**
     * Issue 12 item 7: any byte used to count as traffic, so a peer trickling one byte at a time, far more often than
     * the idle timeout but never finishing a frame, held the connection (and its buffer) forever.
     */
    @Test
    @Timeout(30)
    void aFrameTrickledAByteAtATimeIsClosedAsTruncatedAfterTheIdleTimeout() throws Exception {
        startReceiver();
        ScheduledExecutorService trickler = Executors.newSingleThreadScheduledExecutor();
        try (RawClient raw = new RawClient(receiver.address)) {
            raw.handshake("test");
            byte[] frame = FrameCodec.encode(TestNode.data(1, new byte[1000]));
            AtomicInteger sent = new AtomicInteger();
            // A byte every 20 ms (15 per idle timeout); the whole frame would take 20 s, beyond WAIT.
            trickler.scheduleAtFixedRate(() -> {
                int i = sent.get();
                if (i < frame.length) {
                    try {
                        raw.write(new byte[] {frame[i]});
                        sent.incrementAndGet();
                    } catch (IOException e) {
                        trickler.shutdown(); // closed by the receiver: what the test waits for
                    }
                }
            }, 0, 20, TimeUnit.MILLISECONDS);
            assertTrue(raw.awaitClosed(WAIT), "the trickling connection is closed");
            assertTrue(sent.get() < frame.length, "closed before the frame was complete: " + sent + " bytes sent");
        } finally {
            trickler.shutdownNow();
        }
        await("truncated counted", WAIT, () -> receiver.refused("truncated") == 1);
        assertTrue(receiver.inbound.frames.isEmpty());
    }

    @Test
    @Timeout(30)
    void idleMembersKeepTheirConnectionsWithKeepalives() {
        startReceiver();
        peer = TestNode.start("test", "peer", TestNode.config().idleTimeout(IDLE).build(), new RecordingInbound());
        peer.transport.send(receiver.member, TestNode.data(1, new byte[] {1}));
        await("first frame", WAIT, () -> receiver.inbound.frameCount.get() == 1);
        // Many idle periods pass, seen as keepalive pings read by the receiver: nothing is closed.
        await("ten keepalives", WAIT, () -> receiver.counter("flotilla.transport.frames.received") >= 12);
        assertTrue(receiver.inbound.disconnects.isEmpty() && peer.inbound.disconnects.isEmpty(),
                "no connection closed while idle");
        assertTrue(receiver.refusedTotal() == 0 && peer.refusedTotal() == 0);
        peer.transport.send(receiver.member, TestNode.data(2, new byte[] {2}));
        await("second frame on the same connection", WAIT, () -> receiver.inbound.frameCount.get() == 2);
        assertTrue(receiver.inbound.connected.size() == 1, "one connection throughout: " + FrameType.PING);
    }
}
