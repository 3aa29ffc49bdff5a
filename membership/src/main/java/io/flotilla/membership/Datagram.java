package io.flotilla.membership;

import io.flotilla.Member;
import io.flotilla.wire.MemberCodec;
import io.flotilla.wire.WireException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * One membership datagram and its wire form, big-endian: magic {@code "FLTM"} (4), version (1), type (1), cluster
 * name (a length byte + UTF-8), sequence number (8), then the member ({@link MemberCodec}). Nothing may follow.
 *
 * @param type heartbeat or leave
 * @param cluster the sender's cluster name
 * @param sequence increases with every datagram an incarnation sends
 * @param member the sender
 */
record Datagram(Type type, String cluster, long sequence, Member member) {
    static final int MAGIC = 0x464C544D;
    static final byte VERSION = 1;

    enum Type {
        HEARTBEAT(1), LEAVE(2);

        final byte code;

        Type(int code) {
            this.code = (byte) code;
        }

        static Type of(byte code) {
            for (Type t : values()) {
                if (t.code == code) {
                    return t;
                }
            }
            throw new WireException("bad_type", "unknown datagram type " + code + ": expected 1 (heartbeat) or 2 "
                    + "(leave); is the sender a newer version?");
        }
    }

    Datagram {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(cluster, "cluster");
        Objects.requireNonNull(member, "member");
    }

    /** Bytes of the encoded datagram. */
    int encodedLength() {
        return 4 + 1 + 1 + 1 + cluster.getBytes(StandardCharsets.UTF_8).length + 8 + MemberCodec.encodedLength(member);
    }

    /** Writes the datagram at {@code out}'s position; the caller has checked {@link #encodedLength()}. */
    void encode(ByteBuffer out) {
        byte[] name = cluster.getBytes(StandardCharsets.UTF_8);
        if (name.length > 255) {
            throw new IllegalArgumentException("cluster name longer than 255 bytes: " + cluster);
        }
        out.putInt(MAGIC);
        out.put(VERSION);
        out.put(type.code);
        out.put((byte) name.length);
        out.put(name);
        out.putLong(sequence);
        MemberCodec.write(member, out);
    }

    /** Offset of the sequence number in an encoded datagram, for patching a pre-encoded heartbeat. */
    static int sequenceOffset(String cluster) {
        return 4 + 1 + 1 + 1 + cluster.getBytes(StandardCharsets.UTF_8).length;
    }

    /**
     * Reads one datagram: all of {@code in}'s remaining bytes. Every length is checked against the bytes left.
     *
     * @throws WireException with a metric-friendly {@link WireException#reason()} when the bytes are not a datagram
     */
    static Datagram decode(ByteBuffer in) {
        try {
            if (in.remaining() < 4 + 1 + 1 + 1 + 8) {
                throw new WireException("truncated", "datagram of " + in.remaining() + " bytes is shorter than "
                        + "the fixed header");
            }
            int magic = in.getInt();
            if (magic != MAGIC) {
                throw new WireException("bad_magic", "not a Flotilla membership datagram: magic 0x"
                        + Integer.toHexString(magic) + ", expected 0x" + Integer.toHexString(MAGIC));
            }
            byte version = in.get();
            if (version != VERSION) {
                throw new WireException("bad_version", "datagram version " + version + ", this node speaks "
                        + VERSION + ": upgrade every member to the same version");
            }
            Type type = Type.of(in.get());
            int nameLength = Byte.toUnsignedInt(in.get());
            if (nameLength > in.remaining()) {
                throw new WireException("truncated", "cluster name of " + nameLength + " bytes but only "
                        + in.remaining() + " left");
            }
            byte[] name = new byte[nameLength];
            in.get(name);
            String cluster = decodeUtf8(name);
            long sequence = in.getLong();
            Member member = MemberCodec.read(in);
            if (in.hasRemaining()) {
                throw new WireException("trailing_bytes", in.remaining() + " unexpected bytes after the member");
            }
            return new Datagram(type, cluster, sequence, member);
        } catch (BufferUnderflowException e) {
            throw new WireException("truncated", "datagram is truncated");
        }
    }

    private static String decodeUtf8(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new WireException("bad_text", "cluster name is not valid UTF-8");
        }
    }
}
