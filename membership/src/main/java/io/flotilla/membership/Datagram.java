package io.flotilla.membership;

import io.flotilla.ClusterSecret;
import io.flotilla.Member;
import io.flotilla.wire.MemberCodec;
import io.flotilla.wire.WireException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Objects;
import javax.crypto.Mac;

/**
 * One membership datagram and its wire form, big-endian: magic {@code "FLTM"} (4), version (1), type (1), auth (1:
 * 0 none, 1 HMAC-SHA256), cluster name (a length byte + UTF-8), sequence number (8), the member
 * ({@link MemberCodec}), and with auth 1 a 32-byte HMAC-SHA256 tag over every byte before it, keyed with the
 * cluster secret's {@link ClusterSecret.Purpose#MEMBERSHIP} key. Nothing else may follow.
 *
 * <p>With a secret the tag is checked first, in constant time, before any variable-length field is parsed: an
 * unauthenticated datagram costs one HMAC and is never decoded. A datagram without a tag, or with a tag when this
 * node has no secret, is refused by name, never downgraded.
 *
 * @param type heartbeat or leave
 * @param cluster the sender's cluster name
 * @param sequence increases with every datagram an incarnation sends
 * @param member the sender
 */
record Datagram(Type type, String cluster, long sequence, Member member) {
    static final int MAGIC = 0x464C544D;
    static final byte VERSION = 1;
    static final byte AUTH_NONE = 0;
    static final byte AUTH_HMAC_SHA256 = 1;
    /** Magic, version, type, auth, name length and sequence: what every datagram has at least. */
    static final int FIXED_BYTES = 4 + 1 + 1 + 1 + 1 + 8;

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

    /** Bytes of the encoded datagram without a tag. */
    int encodedLength() {
        return encodedLength(false);
    }

    /** Bytes of the encoded datagram, with or without a tag. */
    int encodedLength(boolean tagged) {
        return FIXED_BYTES + cluster.getBytes(StandardCharsets.UTF_8).length + MemberCodec.encodedLength(member)
                + (tagged ? ClusterSecret.TAG_BYTES : 0);
    }

    /** Writes the datagram without a tag; the caller has checked {@link #encodedLength()}. */
    void encode(ByteBuffer out) {
        encode(out, null);
    }

    /**
     * Writes the datagram at {@code out}'s position, tagged with {@code mac} unless it is null; the caller has
     * checked {@link #encodedLength(boolean)}.
     */
    void encode(ByteBuffer out, Mac mac) {
        byte[] name = cluster.getBytes(StandardCharsets.UTF_8);
        if (name.length > 255) {
            throw new IllegalArgumentException("cluster name longer than 255 bytes: " + cluster);
        }
        int start = out.position();
        out.putInt(MAGIC);
        out.put(VERSION);
        out.put(type.code);
        out.put(mac == null ? AUTH_NONE : AUTH_HMAC_SHA256);
        out.put((byte) name.length);
        out.put(name);
        out.putLong(sequence);
        MemberCodec.write(member, out);
        if (mac != null) {
            ByteBuffer signed = out.duplicate().limit(out.position()).position(start);
            mac.update(signed);
            out.put(mac.doFinal());
        }
    }

    /** Reads one datagram without a secret; see {@link #decode(ByteBuffer, Mac)}. */
    static Datagram decode(ByteBuffer in) {
        return decode(in, null);
    }

    /**
     * Reads one datagram: all of {@code in}'s remaining bytes. With {@code mac} (this node has a secret) the tag is
     * checked before anything else is parsed. Every length is checked against the bytes left.
     *
     * @throws WireException with a metric-friendly {@link WireException#reason()} when the bytes are not a datagram,
     *     or not one authenticated as this node requires ({@code unauthenticated}, {@code bad_mac},
     *     {@code secret_mismatch})
     */
    static Datagram decode(ByteBuffer in, Mac mac) {
        int start = in.position();
        try {
            if (in.remaining() < FIXED_BYTES) {
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
            byte auth = in.get();
            if (auth == AUTH_HMAC_SHA256) {
                if (mac == null) {
                    throw new WireException("secret_mismatch", "the datagram is authenticated but this node has no "
                            + "cluster secret: configure the same secret on every member");
                }
                checkTag(in, start, mac);
            } else if (auth == AUTH_NONE) {
                if (mac != null) {
                    throw new WireException("unauthenticated", "the datagram carries no tag and this node requires "
                            + "one: the sender has no cluster secret (or is not a member)");
                }
            } else {
                throw new WireException("bad_auth", "unknown datagram authentication " + auth);
            }
            int nameLength = Byte.toUnsignedInt(in.get());
            if (nameLength > in.remaining()) {
                throw new WireException("truncated", "cluster name of " + nameLength + " bytes but only "
                        + in.remaining() + " left");
            }
            byte[] name = new byte[nameLength];
            in.get(name);
            String cluster = decodeUtf8(name);
            long sequence = in.getLong();
            if (sequence <= 0) {
                throw new WireException("bad_sequence", "sequence number " + sequence + " is not positive (senders "
                        + "count from 1)");
            }
            Member member = MemberCodec.read(in);
            if (in.hasRemaining()) {
                throw new WireException("trailing_bytes", in.remaining() + " unexpected bytes after the member");
            }
            return new Datagram(type, cluster, sequence, member);
        } catch (BufferUnderflowException e) {
            throw new WireException("truncated", "datagram is truncated");
        }
    }

    /**
     * Checks the trailing tag over everything from the start of the datagram, in constant time, and leaves
     * {@code in} limited to the bytes before the tag.
     */
    private static void checkTag(ByteBuffer in, int start, Mac mac) {
        int tagAt = in.limit() - ClusterSecret.TAG_BYTES;
        if (tagAt < in.position()) {
            throw new WireException("unauthenticated", "datagram too short for its tag");
        }
        mac.update(in.duplicate().limit(tagAt).position(start));
        byte[] expected = mac.doFinal();
        byte[] tag = new byte[ClusterSecret.TAG_BYTES];
        in.duplicate().position(tagAt).get(tag);
        if (!MessageDigest.isEqual(expected, tag)) {
            throw new WireException("bad_mac", "the datagram's tag does not match: the sender has another cluster "
                    + "secret, or the datagram was forged or altered");
        }
        in.limit(tagAt);
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
