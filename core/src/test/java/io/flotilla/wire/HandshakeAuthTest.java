package io.flotilla.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.ClusterSecret;
import io.flotilla.Member;
import io.flotilla.MemberId;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class HandshakeAuthTest {
    private static final ClusterSecret SECRET = ClusterSecret.fromString("correct horse battery staple");
    private static final ClusterSecret WRONG = ClusterSecret.fromString("correct horse battery stapler");
    private static final Member CLIENT = new Member(MemberId.random(), "a", "127.0.0.1", 4000, "", new byte[0], 1);
    private static final Member SERVER = new Member(MemberId.random(), "b", "127.0.0.1", 4001, "", new byte[0], 2);
    private final SecureRandom random = new SecureRandom();

    @Test
    void bothSidesProveTheSameSecret() {
        byte[] nonce = Handshake.newNonce(random);
        Frame hello = Handshake.hello("c", CLIENT, false, nonce);
        Handshake.Hello h = Handshake.readHello(hello);
        assertArrayEquals(nonce, h.nonce());
        Frame ack = Handshake.helloAck(SERVER, hello, Handshake.newNonce(random), SECRET);
        assertTrue(Handshake.readHelloAck(ack).authenticated());
        assertTrue(Handshake.verifyServerProof(hello, ack, SECRET));
        assertTrue(Handshake.verifyClientProof(hello, ack, Handshake.auth(hello, ack, SECRET), SECRET));
    }

    @Test
    void aWrongSecretATamperedTranscriptOrAReflectedProofFails() {
        Frame hello = Handshake.hello("c", CLIENT, false, Handshake.newNonce(random));
        Frame ack = Handshake.helloAck(SERVER, hello, Handshake.newNonce(random), SECRET);
        assertFalse(Handshake.verifyServerProof(hello, ack, WRONG));
        assertFalse(Handshake.verifyClientProof(hello, ack, Handshake.auth(hello, ack, WRONG), SECRET));
        Frame otherHello = Handshake.hello("c", CLIENT, false, Handshake.newNonce(random));
        assertFalse(Handshake.verifyServerProof(otherHello, ack, SECRET), "an ack replayed to another hello");
        byte[] serverProof = Handshake.readHelloAck(ack).proof();
        Frame reflected = new Frame(FrameType.AUTH, 0, 0, 0, 0, ByteBuffer.wrap(serverProof));
        assertFalse(Handshake.verifyClientProof(hello, ack, reflected, SECRET), "the server's proof reflected");
        Frame shortAuth = new Frame(FrameType.AUTH, 0, 0, 0, 0, ByteBuffer.wrap(new byte[3]));
        assertFalse(Handshake.verifyClientProof(hello, ack, shortAuth, SECRET));
    }

    @Test
    void withoutASecretThereIsNoNonceAndNoProof() {
        assertNull(Handshake.readHello(Handshake.hello("c", CLIENT)).nonce());
        Frame ack = Handshake.helloAck(SERVER);
        assertFalse(Handshake.readHelloAck(ack).authenticated());
        assertFalse(Handshake.verifyServerProof(Handshake.hello("c", CLIENT), ack, SECRET));
    }

    @Test
    void unknownAuthModesAndTrailingBytesAreRefused() {
        byte[] p = Handshake.hello("c", CLIENT).payloadBytes();
        p[p.length - 1] = 7;
        assertThrows(WireException.class,
                () -> Handshake.readHello(new Frame(FrameType.HELLO, 0, 0, 0, 0, ByteBuffer.wrap(p))));
        byte[] longer = Arrays.copyOf(Handshake.hello("c", CLIENT).payloadBytes(), p.length + 1);
        assertThrows(WireException.class,
                () -> Handshake.readHello(new Frame(FrameType.HELLO, 0, 0, 0, 0, ByteBuffer.wrap(longer))));
    }
}
