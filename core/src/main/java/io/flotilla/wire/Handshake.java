package io.flotilla.wire;

import io.flotilla.Member;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The payloads of the handshake frames. {@code HELLO} carries the cluster name and the connecting member;
 * {@code HELLO_ACK} the accepting member; {@code REFUSE} a reason. The protocol version is the frame header's.
 *
 * <p>Threading: stateless, safe from any thread.
 */
public final class Handshake {
    private Handshake() {
    }

    /**
     * The contents of a {@code HELLO}.
     *
     * @param clusterName the cluster the sender belongs to
     * @param member the sender
     */
    public record Hello(String clusterName, Member member) { }

    public static Frame hello(String clusterName, Member member) {
        return hello(clusterName, member, false);
    }

    /** A {@code HELLO}; with {@code probe}, flagged {@link Frame#FLAG_PROBE}. */
    public static Frame hello(String clusterName, Member member, boolean probe) {
        ByteBuffer b = ByteBuffer.allocate(MemberCodec.textLength(clusterName) + MemberCodec.encodedLength(member));
        MemberCodec.writeText(clusterName, b);
        MemberCodec.write(member, b);
        return new Frame(FrameType.HELLO, probe ? Frame.FLAG_PROBE : 0, 0, 0, 0, b.flip().asReadOnlyBuffer());
    }

    /** A {@code GOODBYE}; with {@code leaving}, flagged {@link Frame#FLAG_LEAVING}. */
    public static Frame goodbye(boolean leaving) {
        return new Frame(FrameType.GOODBYE, leaving ? Frame.FLAG_LEAVING : 0, 0, 0, 0, ByteBuffer.allocate(0));
    }

    public static Frame helloAck(Member member) {
        ByteBuffer b = ByteBuffer.allocate(MemberCodec.encodedLength(member));
        MemberCodec.write(member, b);
        return new Frame(FrameType.HELLO_ACK, 0, 0, 0, 0, b.flip().asReadOnlyBuffer());
    }

    public static Frame refuse(String reason) {
        byte[] b = reason.getBytes(StandardCharsets.UTF_8);
        return new Frame(FrameType.REFUSE, 0, 0, 0, 0, ByteBuffer.wrap(b, 0, Math.min(b.length, 1024)));
    }

    /** @throws WireException when the payload is not a valid {@code HELLO} */
    public static Hello readHello(Frame f) {
        expect(f, FrameType.HELLO);
        ByteBuffer in = f.payload().duplicate();
        try {
            String cluster = MemberCodec.readText(in);
            return new Hello(cluster, MemberCodec.read(in));
        } catch (BufferUnderflowException e) {
            throw new WireException("truncated", "HELLO payload is truncated");
        }
    }

    /** @throws WireException when the payload is not a valid {@code HELLO_ACK} */
    public static Member readHelloAck(Frame f) {
        expect(f, FrameType.HELLO_ACK);
        return MemberCodec.read(f.payload().duplicate());
    }

    public static String readRefuse(Frame f) {
        expect(f, FrameType.REFUSE);
        return new String(f.payloadBytes(), StandardCharsets.UTF_8);
    }

    private static void expect(Frame f, FrameType t) {
        if (f.type() != t) {
            throw new WireException("unexpected_type", "expected " + t + " but got " + f.type());
        }
    }
}
