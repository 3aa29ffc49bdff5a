package io.flotilla.transport.netty;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.spi.Disconnect;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameCodec;
import io.flotilla.wire.FrameType;
import io.flotilla.wire.Handshake;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Untrusted bytes on the receiver port: each bad connection is closed, counted by reason, and the legitimate peer
 * on the same receiver keeps exchanging frames before, during and after.
 */
class BadInputTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final Duration HANDSHAKE_TIMEOUT = Duration.ofMillis(300);

    private TestNode receiver;
    private TestNode peer;
    private long exchanged;

    @BeforeEach
    void startReceiverAndLegitimatePeer() {
        receiver = TestNode.start("test", "receiver", TestNode.config().handshakeTimeout(HANDSHAKE_TIMEOUT)
                .maxConnectionsPerAddress(8).poolSize(1).build(), new RecordingInbound());
        peer = TestNode.start("test", "peer", TestNode.config().poolSize(1).build(), new RecordingInbound());
        assertPeerStillServed();
    }

    @AfterEach
    void close() {
        peer.close();
        receiver.close();
    }

    /** The legitimate peer's frames keep arriving, and the receiver's answer gets back. */
    private void assertPeerStillServed() {
        long id = ++exchanged;
        peer.transport.send(receiver.member, TestNode.data(id, new byte[] {(byte) id}));
        receiver.transport.send(peer.member, TestNode.data(id, new byte[] {(byte) id}));
        await("frame " + id + " from the legitimate peer", WAIT,
                () -> receiver.inbound.frames.stream().anyMatch(r -> r.frame().messageId() == id));
        await("frame " + id + " to the legitimate peer", WAIT,
                () -> peer.inbound.frames.stream().anyMatch(r -> r.frame().messageId() == id));
    }

    private void assertRefusedAndClosed(String reason, byte[] bytes) throws IOException {
        try (RawClient raw = new RawClient(receiver.address)) {
            raw.write(bytes);
            assertTrue(raw.awaitClosed(WAIT), "connection closed for " + reason);
        }
        await(reason + " counted", WAIT, () -> receiver.refused(reason) == 1.0,
                () -> "counted " + receiver.refused(reason));
        assertPeerStillServed();
        assertTrue(receiver.inbound.disconnects.isEmpty(), "the legitimate connections stayed up");
    }

    private static byte[] header(int magic, int version, int type, int length) {
        ByteBuffer b = ByteBuffer.allocate(FrameCodec.HEADER_BYTES);
        b.putShort((short) magic).put((byte) version).put((byte) type).put((byte) 0).put((byte) 0).putInt(0)
                .putLong(1).putInt(length);
        return b.array();
    }

    @Test
    @Timeout(30)
    void randomBytesAreRefusedAsBadMagic() throws IOException {
        byte[] junk = new byte[1000];
        new Random(7).nextBytes(junk);
        junk[0] = 'G';
        junk[1] = 'E';
        assertRefusedAndClosed("bad_magic", junk);
    }

    @Test
    @Timeout(30)
    void lengthOverTheHandshakeLimitIsRefusedBeforeAllocation() throws IOException {
        assertRefusedAndClosed("too_large", header(FrameCodec.MAGIC, FrameCodec.VERSION, FrameType.HELLO.code(),
                FrameCodec.HANDSHAKE_MAX_FRAME_BYTES));
    }

    @Test
    @Timeout(30)
    void negativeLengthIsRefused() throws IOException {
        assertRefusedAndClosed("too_large", header(FrameCodec.MAGIC, FrameCodec.VERSION, FrameType.HELLO.code(),
                -1));
    }

    @Test
    @Timeout(30)
    void lengthOverTheFrameLimitAfterTheHandshakeIsRefused() throws IOException {
        try (RawClient raw = new RawClient(receiver.address)) {
            raw.handshake("test");
            raw.write(header(FrameCodec.MAGIC, FrameCodec.VERSION, FrameType.DATA.code(), TestNode.MAX_FRAME_BYTES));
            assertTrue(raw.awaitClosed(WAIT));
        }
        await("too_large counted", WAIT, () -> receiver.refused("too_large") == 1.0);
        await("handshaken connection reported lost, not graceful", WAIT,
                () -> receiver.inbound.disconnects.size() == 1);
        assertEquals(Disconnect.LOST, receiver.inbound.disconnects.peek().reason());
        assertPeerStillServed();
    }

    @Test
    @Timeout(30)
    void wrongVersionIsRefused() throws IOException {
        assertRefusedAndClosed("bad_version", header(FrameCodec.MAGIC, 9, FrameType.HELLO.code(), 0));
    }

    @Test
    @Timeout(30)
    void unknownTypeIsRefused() throws IOException {
        assertRefusedAndClosed("bad_type", header(FrameCodec.MAGIC, FrameCodec.VERSION, 99, 0));
    }

    @Test
    @Timeout(30)
    void dataBeforeTheHandshakeIsRefused() throws IOException {
        assertRefusedAndClosed("no_handshake", FrameCodec.encode(TestNode.data(1, new byte[16])));
        assertTrue(receiver.inbound.frames.stream().allMatch(r -> r.connection().remote().equals(peer.member)),
                "nothing from the raw connection reached the engine");
    }

    @Test
    @Timeout(30)
    void malformedHelloIsRefused() throws IOException {
        Frame bad = new Frame(FrameType.HELLO, 0, 0, 0, 0, ByteBuffer.wrap(new byte[] {50, 1, 2}));
        assertRefusedAndClosed("truncated", FrameCodec.encode(bad));
    }

    @Test
    @Timeout(30)
    void truncatedFrameThenSilenceIsClosedAtTheHandshakeTimeout() throws IOException {
        byte[] hello = FrameCodec.encode(Handshake.hello("test", peer.member));
        byte[] part = Arrays.copyOf(hello, hello.length - 3);
        assertRefusedAndClosed("truncated", part);
    }

    @Test
    @Timeout(30)
    void handshakeThatNeverCompletesIsClosed() throws IOException {
        assertRefusedAndClosed("handshake_timeout", new byte[0]);
    }

    @Test
    @Timeout(30)
    void tooManyConnectionsFromOneAddressAreRefused() throws IOException {
        // The legitimate peer holds one inbound connection from 127.0.0.1 already; the cap is 8.
        List<RawClient> idle = new ArrayList<>();
        try {
            for (int i = 0; i < 7; i++) {
                RawClient raw = new RawClient(receiver.address);
                raw.handshake("test");
                idle.add(raw);
            }
            try (RawClient extra = new RawClient(receiver.address)) {
                extra.writeFrame(Handshake.hello("test", extra.member));
                Frame answer = extra.readFrame();
                assertEquals(FrameType.REFUSE, answer.type());
                assertTrue(Handshake.readRefuse(answer).startsWith("too_many_connections"),
                        Handshake.readRefuse(answer));
                assertTrue(extra.awaitClosed(WAIT));
            }
            await("too_many_connections counted", WAIT, () -> receiver.refused("too_many_connections") == 1.0);
            assertPeerStillServed();
        } finally {
            for (RawClient c : idle) {
                c.close();
            }
        }
        await("raw connections gone", WAIT, () -> receiver.inbound.disconnects.size() == 7);
        try (RawClient again = new RawClient(receiver.address)) {
            again.handshake("test");
        }
        assertPeerStillServed();
    }

    @Test
    @Timeout(60)
    void twoHundredSimultaneousRawConnectionsDoNotBreakTheReceiver() throws IOException {
        TestNode wide = TestNode.start("test", "wide", TestNode.config().maxConnectionsPerAddress(256)
                .handshakeTimeout(Duration.ofSeconds(20)).build(), new RecordingInbound());
        List<RawClient> raws = new ArrayList<>();
        try {
            for (int i = 0; i < 200; i++) {
                raws.add(new RawClient(wide.address));
            }
            for (RawClient r : raws) {
                r.writeFrame(Handshake.hello("test", r.member));
            }
            for (RawClient r : raws) {
                r.writeFrame(Frame.control(FrameType.PING, 5));
            }
            for (RawClient r : raws) {
                assertEquals(FrameType.HELLO_ACK, r.readFrame().type());
                assertEquals(FrameType.PONG, r.readFrame().type());
            }
            await("200 connections handed to the engine", WAIT, () -> wide.inbound.connected.size() == 200);
            peer.transport.send(wide.member, TestNode.data(1, new byte[100]));
            await("legitimate frame arrives", WAIT, () -> wide.inbound.frames.size() == 1);
        } finally {
            for (RawClient r : raws) {
                r.close();
            }
        }
        await("all raw connections reported", WAIT, () -> wide.inbound.disconnects.size() == 200);
        peer.transport.send(wide.member, TestNode.data(2, new byte[100]));
        await("legitimate frame arrives after", WAIT, () -> wide.inbound.frames.size() == 2);
        wide.close();
        assertPeerStillServed();
    }

    @Test
    @Timeout(30)
    void everyBadConnectionIsCountedEvenWhenItsLogLineIsSuppressed() throws IOException {
        for (int i = 0; i < 5; i++) {
            try (RawClient raw = new RawClient(receiver.address)) {
                raw.write(new byte[FrameCodec.HEADER_BYTES]);
                assertTrue(raw.awaitClosed(WAIT));
            }
        }
        await("5 bad_magic counted", WAIT, () -> receiver.refused("bad_magic") == 5.0);
        assertPeerStillServed();
    }
}
