package io.flotilla.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.ClusterSecret;
import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.testing.InMemoryHandshake;
import io.flotilla.wire.Handshaker.Outcome;
import io.flotilla.wire.Handshaker.Step;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The handshake state machine on its own: every rule of docs/security.md, without sockets, threads or time. */
class HandshakerTest {
    private static final ClusterSecret SECRET = ClusterSecret.fromString("correct horse battery staple");
    private static final ClusterSecret WRONG = ClusterSecret.fromString("correct horse battery stapler");
    private static final Member A = new Member(MemberId.random(), "a", "127.0.0.1", 4000, "", new byte[0], 1);
    private static final Member B = new Member(MemberId.random(), "b", "127.0.0.1", 4001, "", new byte[0], 2);
    private static final SecureRandom RANDOM = new SecureRandom();

    private static Handshaker.Local local(String cluster, Member m, ClusterSecret secret) {
        return new Handshaker.Local(cluster, m, secret, RANDOM);
    }

    private static InMemoryHandshake.Result connect(ClusterSecret from, ClusterSecret to) {
        return InMemoryHandshake.run(Handshaker.connecting(local("c", A, from), B),
                Handshaker.accepting(local("c", B, to), "a's address"));
    }

    private static InMemoryHandshake.Result probe(ClusterSecret from, ClusterSecret to, long nonce) {
        return InMemoryHandshake.run(Handshaker.probing(local("c", A, from), "b's address", nonce),
                Handshaker.accepting(local("c", B, to), "a's address"));
    }

    /** An accepting side with {@code SECRET} that has answered a HELLO and waits for AUTH; returns its HELLO_ACK. */
    private static Frame awaitingAuth(Handshaker accepting, Frame hello) {
        accepting.start();
        Step s = accepting.receive(hello);
        assertEquals(Outcome.CONTINUE, s.outcome());
        return s.send().get(0);
    }

    @Test
    void withoutASecretHelloAndHelloAckOpenBothSides() {
        InMemoryHandshake.Result r = connect(null, null);
        assertTrue(r.established(), r.failure());
        assertEquals(List.of("c>HELLO", "a>HELLO_ACK"), r.transcript());
        assertTrue(r.reached().sameDescription(B));
        assertTrue(r.accepted().sameDescription(A));
    }

    @Test
    void withTheSameSecretBothSidesProveIt() {
        InMemoryHandshake.Result r = connect(SECRET, SECRET);
        assertTrue(r.established(), r.failure());
        assertEquals(List.of("c>HELLO", "a>HELLO_ACK", "c>AUTH"), r.transcript());
    }

    @Test
    void theAcceptingSideTakesNothingButAValidAuthAfterItsHelloAck() {
        // Data instead of AUTH.
        Handshaker accepting = Handshaker.accepting(local("c", B, SECRET), "raw");
        awaitingAuth(accepting, Handshake.hello("c", A, false, Handshake.newNonce(RANDOM)));
        Step s = accepting.receive(Frame.control(FrameType.ACK, 1));
        assertEquals("no_auth", s.reason());
        assertFalse(accepting.established());
        // AUTH with another secret.
        accepting = Handshaker.accepting(local("c", B, SECRET), "raw");
        Frame hello = Handshake.hello("c", A, false, Handshake.newNonce(RANDOM));
        Frame ack = awaitingAuth(accepting, hello);
        assertEquals("bad_proof", accepting.receive(Handshake.auth(hello, ack, WRONG)).reason());
        // An AUTH replayed from another handshake: the accepting side's nonce differs.
        accepting = Handshaker.accepting(local("c", B, SECRET), "raw");
        hello = Handshake.hello("c", A, false, Handshake.newNonce(RANDOM));
        awaitingAuth(accepting, hello);
        Frame otherAck = Handshake.helloAck(B, hello, Handshake.newNonce(RANDOM), SECRET);
        assertEquals("bad_proof", accepting.receive(Handshake.auth(hello, otherAck, SECRET)).reason());
        // The accepting side's own proof reflected back as AUTH.
        accepting = Handshaker.accepting(local("c", B, SECRET), "raw");
        hello = Handshake.hello("c", A, false, Handshake.newNonce(RANDOM));
        ack = awaitingAuth(accepting, hello);
        Frame reflected = new Frame(FrameType.AUTH, 0, 0, 0, 0, ByteBuffer.wrap(Handshake.readHelloAck(ack).proof()));
        assertEquals("bad_proof", accepting.receive(reflected).reason());
        // The valid one.
        accepting = Handshaker.accepting(local("c", B, SECRET), "raw");
        hello = Handshake.hello("c", A, false, Handshake.newNonce(RANDOM));
        ack = awaitingAuth(accepting, hello);
        assertEquals(Outcome.ESTABLISHED, accepting.receive(Handshake.auth(hello, ack, SECRET)).outcome());
        assertTrue(accepting.remote().sameDescription(A));
    }

    @Test
    void aMissingOrDifferentSecretIsRefusedByNameNeverDowngraded() {
        InMemoryHandshake.Result open = connect(null, SECRET);
        assertEquals("auth_required", open.accepting().reason());
        assertEquals(Outcome.FAILED, open.connecting().outcome());
        assertTrue(open.connecting().message().contains("requires one"), open.connecting().message());

        InMemoryHandshake.Result secured = connect(SECRET, null);
        assertEquals("secret_mismatch", secured.accepting().reason());
        assertEquals(Outcome.FAILED, secured.connecting().outcome());

        InMemoryHandshake.Result wrong = connect(WRONG, SECRET);
        assertEquals("bad_proof", wrong.connecting().reason(), "the connecting side checks the proof first");
        assertTrue(wrong.connecting().message().contains("does not prove the cluster secret"));
        assertEquals("no_auth", wrong.accepting().reason(), "its REFUSE is not an AUTH");
        assertEquals(List.of("c>HELLO", "a>HELLO_ACK", "c>REFUSE"), wrong.transcript());
    }

    @Test
    void anotherClusterIsRefusedByName() {
        InMemoryHandshake.Result r = InMemoryHandshake.run(Handshaker.connecting(local("elsewhere", A, null), B),
                Handshaker.accepting(local("c", B, null), "a's address"));
        assertEquals("cluster_mismatch", r.accepting().reason());
        assertTrue(r.connecting().message().contains("cluster name mismatch"), r.connecting().message());
    }

    @Test
    void anythingButAWellFormedHelloFirstIsRefused() {
        Handshaker accepting = Handshaker.accepting(local("c", B, null), "raw");
        accepting.start();
        assertEquals("no_handshake", accepting.receive(Frame.control(FrameType.PING, 1)).reason());
        accepting = Handshaker.accepting(local("c", B, null), "raw");
        accepting.start();
        Frame malformed = new Frame(FrameType.HELLO, 0, 0, 0, 0, ByteBuffer.wrap(new byte[] {50, 1, 2}));
        assertEquals("truncated", accepting.receive(malformed).reason());
        Handshaker connecting = Handshaker.connecting(local("c", A, null), B);
        connecting.start();
        assertEquals("no_handshake", connecting.receive(Frame.control(FrameType.ACK, 1)).reason());
    }

    @Test
    void aConnectingSideThatReachesAnotherMemberAtTheAddressFails() {
        Member restarted = new Member(MemberId.random(), "b", B.host(), B.port(), "", new byte[0], 3);
        InMemoryHandshake.Result r = InMemoryHandshake.run(Handshaker.connecting(local("c", A, null), B),
                Handshaker.accepting(local("c", restarted, null), "a's address"));
        assertEquals(Outcome.FAILED, r.connecting().outcome());
        assertTrue(r.connecting().message().contains("restarted or replaced"), r.connecting().message());
        assertNull(r.connecting().reason(), "nothing to refuse: the peer is fine, just not the one meant");
    }

    @Test
    void aProbePipelinesItsPingWithoutASecretAndWaitsForTheProofWithOne() {
        InMemoryHandshake.Result open = probe(null, null, 42);
        assertTrue(open.established(), open.failure());
        assertEquals(List.of("c>HELLO", "c>PING", "a>HELLO_ACK", "a>PONG", "c>GOODBYE"), open.transcript());
        assertTrue(open.reached().sameDescription(B));

        InMemoryHandshake.Result secured = probe(SECRET, SECRET, 42);
        assertTrue(secured.established(), secured.failure());
        assertEquals(List.of("c>HELLO", "a>HELLO_ACK", "c>AUTH", "c>PING", "a>PONG", "c>GOODBYE"),
                secured.transcript());
    }

    @Test
    void theAcceptingSideKnowsAProbeFromItsHello() {
        Handshaker accepting = Handshaker.accepting(local("c", B, null), "a's address");
        InMemoryHandshake.run(Handshaker.probing(local("c", A, null), "b", 1), accepting);
        assertTrue(accepting.probe());
        Handshaker pooled = Handshaker.accepting(local("c", B, null), "a's address");
        InMemoryHandshake.run(Handshaker.connecting(local("c", A, null), B), pooled);
        assertFalse(pooled.probe());
    }

    @Test
    void aLaneIsAgreedByBothSidesWithOrWithoutASecret() {
        for (ClusterSecret secret : new ClusterSecret[] {null, SECRET}) {
            Handshaker lane = Handshaker.connectingLane(local("c", A, secret), B);
            Handshaker accepting = Handshaker.accepting(local("c", B, secret), "a's address");
            InMemoryHandshake.Result r = InMemoryHandshake.run(lane, accepting);
            assertTrue(r.established(), r.failure());
            assertTrue(lane.lane() && accepting.lane(), "both sides know it is a lane");
            Handshaker pooled = Handshaker.accepting(local("c", B, secret), "a's address");
            InMemoryHandshake.run(Handshaker.connecting(local("c", A, secret), B), pooled);
            assertFalse(pooled.lane());
        }
    }

    @Test
    void aLaneToAPeerThatDoesNotAgreeToLanesIsGivenUp() {
        Handshaker lane = Handshaker.connectingLane(local("c", A, null), B);
        assertEquals(1, lane.start().send().size());
        // A node of an earlier version answers the HELLO without the flag.
        Step s = lane.receive(Handshake.helloAck(B));
        assertEquals(Outcome.FAILED, s.outcome());
        assertTrue(s.message().contains("does not answer on lanes"), s.message());
        assertFalse(lane.lane());
    }

    @Test
    void aProbeFailsOnAnotherPongOrARefusal() {
        Handshaker probing = Handshaker.probing(local("c", A, null), "b", 42);
        probing.start();
        assertEquals(Outcome.CONTINUE, probing.receive(Handshake.helloAck(B)).outcome());
        assertEquals(Outcome.CONTINUE, probing.receive(Frame.control(FrameType.PING, 9)).outcome(),
                "anything but its PONG is ignored");
        Step s = probing.receive(Frame.control(FrameType.PONG, 41));
        assertEquals(Outcome.FAILED, s.outcome());
        assertTrue(s.message().contains("unexpected PONG 41"), s.message());

        InMemoryHandshake.Result refused = probe(null, SECRET, 42);
        assertEquals(Outcome.FAILED, refused.connecting().outcome());
        assertTrue(refused.connecting().message().contains("auth_required"), refused.connecting().message());
    }
}
