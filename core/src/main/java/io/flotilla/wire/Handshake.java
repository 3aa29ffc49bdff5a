package io.flotilla.wire;

import io.flotilla.ClusterSecret;
import io.flotilla.Member;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;

/**
 * The payloads of the handshake frames and the proof of the cluster secret. The protocol version is the frame
 * header's.
 *
 * <pre>
 *  HELLO      cluster name (text), member ({@link MemberCodec}), auth (1 byte: 0 none, 1 HMAC-SHA256),
 *             [client nonce (32)]
 *  HELLO_ACK  member, auth (1 byte), [server nonce (32), server proof (32)]
 *  AUTH       client proof (32)
 *  REFUSE     reason, UTF-8
 * </pre>
 *
 * <p>With a {@link ClusterSecret} the handshake is a mutual challenge-response. The transcript is the whole
 * {@code HELLO} payload and the {@code HELLO_ACK} payload up to its proof, so it covers both nonces, the cluster
 * name and both members. The accepting side proves it knows the secret with
 * {@code HMAC(k, "server" || transcript)} in its {@code HELLO_ACK}; the connecting side checks it and answers with
 * {@code HMAC(k, "client" || transcript)} in an {@code AUTH} frame, which the accepting side checks before it takes
 * any other frame. {@code k} is the secret's {@link ClusterSecret.Purpose#TRANSPORT} key; the labels keep one side's
 * proof from being reflected as the other's, and fresh random nonces from being replayed. Proofs are compared in
 * constant time. A side without a secret sends auth 0; a mismatch is refused, never downgraded.
 *
 * <p>Threading: stateless, safe from any thread.
 */
public final class Handshake {
    /** Bytes of each side's random nonce. */
    public static final int NONCE_BYTES = 32;
    /** Bytes of a proof (HMAC-SHA256). */
    public static final int PROOF_BYTES = ClusterSecret.TAG_BYTES;
    private static final byte AUTH_NONE = 0;
    private static final byte AUTH_HMAC_SHA256 = 1;
    private static final byte[] SERVER_LABEL = "flotilla/v1/handshake/server".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CLIENT_LABEL = "flotilla/v1/handshake/client".getBytes(StandardCharsets.US_ASCII);

    private Handshake() {
    }

    /**
     * The contents of a {@code HELLO}.
     *
     * @param clusterName the cluster the sender belongs to
     * @param member the sender
     * @param nonce the sender's challenge when it has a secret, null otherwise
     */
    record Hello(String clusterName, Member member, byte[] nonce) {
        /** True when the sender has a cluster secret and expects the handshake to prove it. */
        public boolean authenticated() {
            return nonce != null;
        }
    }

    /**
     * The contents of a {@code HELLO_ACK}.
     *
     * @param member the accepting member
     * @param nonce its challenge when it has a secret, null otherwise
     * @param proof its proof of the secret when it has one, null otherwise
     */
    public record HelloAck(Member member, byte[] nonce, byte[] proof) {
        public boolean authenticated() {
            return proof != null;
        }
    }

    /** A new random nonce. */
    public static byte[] newNonce(SecureRandom random) {
        byte[] n = new byte[NONCE_BYTES];
        random.nextBytes(n);
        return n;
    }

    /** A {@code HELLO} without a secret. */
    public static Frame hello(String clusterName, Member member) {
        return hello(clusterName, member, false, null);
    }

    /** A {@code HELLO} without a secret; with {@code probe}, flagged {@link Frame#FLAG_PROBE}. */
    static Frame hello(String clusterName, Member member, boolean probe) {
        return hello(clusterName, member, probe, null);
    }

    /**
     * A {@code HELLO}; with {@code probe}, flagged {@link Frame#FLAG_PROBE}.
     *
     * @param nonce the {@link #NONCE_BYTES}-byte challenge when this node has a secret, null otherwise
     */
    public static Frame hello(String clusterName, Member member, boolean probe, byte[] nonce) {
        ByteBuffer b = ByteBuffer.allocate(MemberCodec.textLength(clusterName) + MemberCodec.encodedLength(member) + 1
                + (nonce == null ? 0 : NONCE_BYTES));
        MemberCodec.writeText(clusterName, b);
        MemberCodec.write(member, b);
        writeAuth(b, nonce, null);
        return new Frame(FrameType.HELLO, probe ? Frame.FLAG_PROBE : 0, 0, 0, 0, b.flip().asReadOnlyBuffer());
    }

    /** {@code f} with {@code flags} (the proofs cover payloads only). */
    static Frame withFlags(Frame f, int flags) {
        return flags == f.flags() ? f : new Frame(f.type(), flags, f.topic(), f.window(), f.messageId(), f.payload(),
                f.awaited());
    }

    /** A {@code GOODBYE}; with {@code leaving}, flagged {@link Frame#FLAG_LEAVING}. */
    public static Frame goodbye(boolean leaving) {
        return new Frame(FrameType.GOODBYE, leaving ? Frame.FLAG_LEAVING : 0, 0, 0, 0, ByteBuffer.allocate(0));
    }

    /** A {@code HELLO_ACK} without a secret. */
    static Frame helloAck(Member member) {
        ByteBuffer b = ByteBuffer.allocate(MemberCodec.encodedLength(member) + 1);
        MemberCodec.write(member, b);
        writeAuth(b, null, null);
        return new Frame(FrameType.HELLO_ACK, 0, 0, 0, 0, b.flip().asReadOnlyBuffer());
    }

    /**
     * A {@code HELLO_ACK} answering {@code hello} with this node's challenge and its proof of {@code secret}.
     */
    public static Frame helloAck(Member member, Frame hello, byte[] nonce, ClusterSecret secret) {
        ByteBuffer b = ByteBuffer.allocate(MemberCodec.encodedLength(member) + 1 + NONCE_BYTES + PROOF_BYTES);
        MemberCodec.write(member, b);
        b.put(AUTH_HMAC_SHA256).put(nonce);
        ByteBuffer prefix = b.duplicate().flip();
        b.put(proof(secret, SERVER_LABEL, hello.payload(), prefix));
        return new Frame(FrameType.HELLO_ACK, 0, 0, 0, 0, b.flip().asReadOnlyBuffer());
    }

    /** The connecting side's {@code AUTH}: its proof of {@code secret} over {@code hello} and {@code helloAck}. */
    public static Frame auth(Frame hello, Frame helloAck, ClusterSecret secret) {
        byte[] p = proof(secret, CLIENT_LABEL, hello.payload(), ackPrefix(helloAck));
        return new Frame(FrameType.AUTH, 0, 0, 0, 0, ByteBuffer.wrap(p).asReadOnlyBuffer());
    }

    /** True when {@code helloAck} carries a valid proof of {@code secret} for {@code hello}. Constant time. */
    static boolean verifyServerProof(Frame hello, Frame helloAck, ClusterSecret secret) {
        HelloAck ack = readHelloAck(helloAck);
        if (ack.proof() == null) {
            return false;
        }
        return MessageDigest.isEqual(ack.proof(), proof(secret, SERVER_LABEL, hello.payload(), ackPrefix(helloAck)));
    }

    /** True when {@code auth} is a valid proof of {@code secret} for this handshake. Constant time. */
    static boolean verifyClientProof(Frame hello, Frame helloAck, Frame auth, ClusterSecret secret) {
        expect(auth, FrameType.AUTH);
        if (auth.payloadLength() != PROOF_BYTES) {
            return false;
        }
        return MessageDigest.isEqual(auth.payloadBytes(),
                proof(secret, CLIENT_LABEL, hello.payload(), ackPrefix(helloAck)));
    }

    public static Frame refuse(String reason) {
        byte[] b = reason.getBytes(StandardCharsets.UTF_8);
        return new Frame(FrameType.REFUSE, 0, 0, 0, 0, ByteBuffer.wrap(b, 0, Math.min(b.length, 1024)));
    }

    /** @throws WireException when the payload is not a valid {@code HELLO} */
    static Hello readHello(Frame f) {
        expect(f, FrameType.HELLO);
        ByteBuffer in = f.payload().duplicate();
        try {
            String cluster = MemberCodec.readText(in);
            Member m = MemberCodec.read(in);
            byte[][] auth = readAuth(in, false, "HELLO");
            return new Hello(cluster, m, auth[0]);
        } catch (BufferUnderflowException e) {
            throw new WireException("truncated", "HELLO payload is truncated");
        }
    }

    /** @throws WireException when the payload is not a valid {@code HELLO_ACK} */
    public static HelloAck readHelloAck(Frame f) {
        expect(f, FrameType.HELLO_ACK);
        ByteBuffer in = f.payload().duplicate();
        try {
            Member m = MemberCodec.read(in);
            byte[][] auth = readAuth(in, true, "HELLO_ACK");
            return new HelloAck(m, auth[0], auth[1]);
        } catch (BufferUnderflowException e) {
            throw new WireException("truncated", "HELLO_ACK payload is truncated");
        }
    }

    public static String readRefuse(Frame f) {
        expect(f, FrameType.REFUSE);
        return new String(f.payloadBytes(), StandardCharsets.UTF_8);
    }

    private static void writeAuth(ByteBuffer b, byte[] nonce, byte[] proof) {
        if (nonce == null) {
            b.put(AUTH_NONE);
            return;
        }
        if (nonce.length != NONCE_BYTES) {
            throw new IllegalArgumentException("nonce must have " + NONCE_BYTES + " bytes, has " + nonce.length);
        }
        b.put(AUTH_HMAC_SHA256).put(nonce);
        if (proof != null) {
            b.put(proof);
        }
    }

    /** The nonce and (with {@code withProof}) the proof, each null without auth; nothing may follow. */
    private static byte[][] readAuth(ByteBuffer in, boolean withProof, String what) {
        byte mode = in.get();
        byte[][] out = new byte[2][];
        if (mode == AUTH_HMAC_SHA256) {
            out[0] = new byte[NONCE_BYTES];
            in.get(out[0]);
            if (withProof) {
                out[1] = new byte[PROOF_BYTES];
                in.get(out[1]);
            }
        } else if (mode != AUTH_NONE) {
            throw new WireException("bad_auth", what + " names unknown authentication " + mode
                    + "; run the same Flotilla version on all members");
        }
        if (in.hasRemaining()) {
            throw new WireException("trailing_bytes", in.remaining() + " unexpected bytes at the end of " + what);
        }
        return out;
    }

    /** The {@code HELLO_ACK} payload without its trailing proof: what the server's proof covers. */
    private static ByteBuffer ackPrefix(Frame helloAck) {
        ByteBuffer p = helloAck.payload().duplicate();
        if (p.remaining() >= PROOF_BYTES) {
            p.limit(p.limit() - PROOF_BYTES);
        }
        return p;
    }

    private static byte[] proof(ClusterSecret secret, byte[] label, ByteBuffer hello, ByteBuffer ackPrefix) {
        Mac mac = secret.newMac(ClusterSecret.Purpose.TRANSPORT);
        mac.update(label);
        updateWithLength(mac, hello.duplicate());
        updateWithLength(mac, ackPrefix.duplicate());
        return mac.doFinal();
    }

    private static void updateWithLength(Mac mac, ByteBuffer b) {
        int n = b.remaining();
        mac.update(new byte[] {(byte) (n >>> 24), (byte) (n >>> 16), (byte) (n >>> 8), (byte) n});
        mac.update(b);
    }

    private static void expect(Frame f, FrameType t) {
        if (f.type() != t) {
            throw new WireException("unexpected_type", "expected " + t + " but got " + f.type());
        }
    }
}
