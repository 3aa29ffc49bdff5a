package io.flotilla.transport.netty;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.ClusterSecret;
import io.flotilla.Member;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameType;
import io.flotilla.wire.Handshake;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Connections prove the cluster secret both ways before anything is delivered. */
class SecretHandshakeTest {
    static final ClusterSecret SECRET = ClusterSecret.fromString("s3cr3t-for-the-tests-only");
    static final ClusterSecret WRONG = ClusterSecret.fromString("s3cr3t-for-the-tests-onlY");
    private static final Duration WAIT = Duration.ofSeconds(10);
    private final List<TestNode> nodes = new ArrayList<>();

    private TestNode node(String name, ClusterSecret secret) {
        TestNode n = TestNode.start("test", name, TestNode.config().handshakeTimeout(Duration.ofMillis(500)).build(),
                new RecordingInbound(), secret);
        nodes.add(n);
        return n;
    }

    @AfterEach
    void close() {
        for (TestNode n : nodes) {
            n.close();
        }
    }

    @Test
    @Timeout(30)
    void membersWithTheSameSecretExchangeFramesAndProbe() throws Exception {
        TestNode a = node("a", SECRET);
        TestNode b = node("b", SECRET);
        a.transport.send(b.member, TestNode.data(1, new byte[] {1}));
        b.transport.send(a.member, TestNode.data(2, new byte[] {2}));
        await("frame at b", WAIT, () -> b.inbound.frameCount.get() == 1);
        await("frame at a", WAIT, () -> a.inbound.frameCount.get() == 1);
        Member answered = a.transport.probe(b.address, Duration.ofSeconds(5)).toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
        assertTrue(answered.sameDescription(b.member));
        assertEquals(0.0, a.refusedTotal() + b.refusedTotal());
    }

    @Test
    @Timeout(30)
    void aNodeWithoutTheSecretOrWithAnotherOneDeliversNothingAndCannotProbe() throws Exception {
        TestNode secured = node("secured", SECRET);
        TestNode open = node("open", null);
        TestNode wrong = node("wrong", WRONG);
        open.transport.send(secured.member, TestNode.data(1, new byte[] {1}));
        wrong.transport.send(secured.member, TestNode.data(1, new byte[] {1}));
        await("both sends failed", WAIT, () -> open.inbound.sendFailures.size() >= 1
                && wrong.inbound.sendFailures.size() >= 1);
        await("refusals counted", WAIT, () -> secured.refused("auth_required") >= 1 && wrong.refused("bad_proof") >= 1);
        assertProbeFails(open, secured, "requires one");
        assertProbeFails(wrong, secured, "does not prove the cluster secret");
        assertProbeFails(secured, open, "secret_mismatch");
        assertEquals(0, secured.inbound.frameCount.get(), "nothing delivered");
        assertTrue(secured.inbound.connected.isEmpty(), "no connection reached the engine");
        // The legitimate path is still served.
        TestNode friend = node("friend", SECRET);
        friend.transport.send(secured.member, TestNode.data(7, new byte[] {7}));
        await("friend's frame", WAIT, () -> secured.inbound.frameCount.get() == 1);
    }

    private static void assertProbeFails(TestNode from, TestNode to, String expected) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> from.transport
                .probe(to.address, Duration.ofSeconds(3)).toCompletableFuture().get(10, TimeUnit.SECONDS));
        assertTrue(e.getCause().getMessage().contains(expected), e.getCause().getMessage());
    }

    @Test
    @Timeout(30)
    void nothingButAValidAuthIsTakenAfterTheHelloAck() throws Exception {
        TestNode secured = node("secured", SECRET);
        SecureRandom random = new SecureRandom();
        try (RawClient raw = new RawClient(secured.address)) {
            raw.writeFrame(Handshake.hello("test", raw.member, false, Handshake.newNonce(random)));
            Frame ack = raw.readFrame();
            assertEquals(FrameType.HELLO_ACK, ack.type());
            raw.writeFrame(TestNode.data(1, new byte[] {1}));
            assertTrue(raw.awaitClosed(WAIT));
        }
        try (RawClient raw = new RawClient(secured.address)) {
            Frame hello = Handshake.hello("test", raw.member, false, Handshake.newNonce(random));
            raw.writeFrame(hello);
            Frame ack = raw.readFrame();
            raw.writeFrame(Handshake.auth(hello, ack, WRONG));
            raw.writeFrame(TestNode.data(1, new byte[] {1}));
            assertTrue(raw.awaitClosed(WAIT));
        }
        try (RawClient raw = new RawClient(secured.address)) {
            // A replayed AUTH from another handshake: the server's nonce differs, so it fails.
            Frame hello = Handshake.hello("test", raw.member, false, Handshake.newNonce(random));
            raw.writeFrame(hello);
            Frame ack = raw.readFrame();
            Frame otherAck = Handshake.helloAck(secured.member, hello, Handshake.newNonce(random), SECRET);
            raw.writeFrame(Handshake.auth(hello, otherAck, SECRET));
            assertTrue(raw.awaitClosed(WAIT));
            assertEquals(FrameType.HELLO_ACK, ack.type());
        }
        await("refusals counted", WAIT, () -> secured.refused("no_auth") == 1 && secured.refused("bad_proof") == 2);
        assertEquals(0, secured.inbound.frameCount.get());
        assertTrue(secured.inbound.connected.isEmpty());
        try (RawClient raw = new RawClient(secured.address)) {
            Frame hello = Handshake.hello("test", raw.member, false, Handshake.newNonce(random));
            raw.writeFrame(hello);
            Frame ack = raw.readFrame();
            raw.writeFrame(Handshake.auth(hello, ack, SECRET));
            raw.writeFrame(TestNode.data(1, new byte[] {1}));
            await("frame of the raw client that knows the secret", WAIT,
                    () -> secured.inbound.frameCount.get() == 1);
        }
    }
}
