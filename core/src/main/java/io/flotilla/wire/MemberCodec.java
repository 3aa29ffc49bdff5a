package io.flotilla.wire;

import io.flotilla.Member;
import io.flotilla.MemberId;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The wire form of a {@link Member}, shared by handshakes and heartbeats, big-endian:
 * id (16), start time millis (8), port (2), name, host, domain (each a length byte + UTF-8), payload (a 2-byte
 * length + bytes, at most {@link Member#MAX_PAYLOAD_BYTES}).
 *
 * <p>Threading: stateless, safe from any thread.
 */
public final class MemberCodec {
    private MemberCodec() {
    }

    /** The largest encoded member, in bytes. */
    public static final int MAX_BYTES = 16 + 8 + 2 + 3 * (1 + Member.MAX_TEXT_BYTES) + 2 + Member.MAX_PAYLOAD_BYTES;

    public static void write(Member m, ByteBuffer out) {
        out.putLong(m.id().mostSignificant());
        out.putLong(m.id().leastSignificant());
        out.putLong(m.startTimeMillis());
        out.putShort((short) m.port());
        writeText(m.name(), out);
        writeText(m.host(), out);
        writeText(m.domain(), out);
        byte[] payload = m.payload();
        out.putShort((short) payload.length);
        out.put(payload);
    }

    public static int encodedLength(Member m) {
        return 16 + 8 + 2 + textLength(m.name()) + textLength(m.host()) + textLength(m.domain()) + 2
                + m.payload().length;
    }

    /**
     * Reads a member, checking every length against the bytes that remain and the limits of {@link Member}.
     *
     * @throws WireException when the bytes do not form a valid member
     */
    public static Member read(ByteBuffer in) {
        try {
            MemberId id = new MemberId(in.getLong(), in.getLong());
            long start = in.getLong();
            int port = Short.toUnsignedInt(in.getShort());
            String name = readText(in);
            String host = readText(in);
            String domain = readText(in);
            int payloadLength = Short.toUnsignedInt(in.getShort());
            if (payloadLength > Member.MAX_PAYLOAD_BYTES || payloadLength > in.remaining()) {
                throw new WireException("bad_member", "member payload length " + payloadLength
                        + " exceeds the limit " + Member.MAX_PAYLOAD_BYTES + " or the bytes left");
            }
            byte[] payload = new byte[payloadLength];
            in.get(payload);
            return new Member(id, name, host, port, domain, payload, start);
        } catch (BufferUnderflowException e) {
            throw new WireException("truncated", "member description is truncated");
        } catch (IllegalArgumentException e) {
            throw new WireException("bad_member", "invalid member description: " + e.getMessage());
        }
    }

    static void writeText(String s, ByteBuffer out) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.put((byte) b.length);
        out.put(b);
    }

    static int textLength(String s) {
        return 1 + s.getBytes(StandardCharsets.UTF_8).length;
    }

    static String readText(ByteBuffer in) {
        int len = Byte.toUnsignedInt(in.get());
        if (len > in.remaining()) {
            throw new WireException("truncated", "text of " + len + " bytes but only " + in.remaining() + " left");
        }
        byte[] b = new byte[len];
        in.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }
}
