package io.flotilla.replication;

import io.flotilla.replication.CodecException.Reason;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The compact binary form of {@link SessionDelta}s and {@link SessionRecord}s: varints, attribute names as
 * UTF-8, values as the bytes {@link AttributeCodec} made. Layout (all integers unsigned LEB128 varints unless
 * marked zigzag):
 * <pre>
 * delta:   0x01 id base (version-base) opCount op*          (no value is an attribute group's)
 *          0x03 ... the same, every op's value written as value
 * record:  0x02 id version metadata attrCount (name bytes)*
 *          0x04 id version metadata attrCount (name value)*
 * value:   0 k (the same bytes as the k-th group value of this message, from 0) | n+1, then n bytes: several
 *          attributes that share objects hold one group's bytes ({@link AttributeGroup}), written once per message
 * id:      header = (n &lt;&lt; 1) | kind; kind 0: n UTF-8 bytes; kind 1: n bytes packing 2n upper-case hex digits,
 *          then a string suffix (Tomcat ids are 32 hex digits plus ".jvmRoute")
 * op:      1 Create metadata | 2 Set name bytes-or-value | 3 Remove name | 4 Access time isNew | 5 MaxInactive zigzag
 *          | 6 Principal optBytes optBytes | 7 Notes optBytes | 8 Expire | 9 ChangeId id
 * metadata: creation (lastAccess-creation zigzag) maxInactive(zigzag) isNew principal authType notes (optBytes)
 * string:  n, then n UTF-8 bytes;  bytes: n, then n bytes;  optBytes: n+1 (0 = null), then n bytes
 * </pre>
 * Decoding treats the input as untrusted: every count and length is checked against its cap and against the
 * bytes left before anything is allocated, and bad input gives a {@link CodecException}.
 *
 * <p>Threading: safe from any thread. Its only state is the attribute names it decoded (at most 1,024 of at most 64
 * characters, in a concurrent map), so that the replicas of many sessions share one string per name.
 */
public final class SessionCodec {
    static final int DELTA = 0x01;
    static final int RECORD = 0x02;
    /** A delta or record holding an {@link AttributeGroup}'s bytes: values as {@code value}, so a group goes once. */
    static final int DELTA_GROUPED = 0x03;
    static final int RECORD_GROUPED = 0x04;
    private static final byte[] NO_PREFIX = {};
    /** The upper-case hexadecimal digits a packed id is written back with, by value (0 to 15). */
    private static final byte[] HEX_DIGITS = "0123456789ABCDEF".getBytes(StandardCharsets.ISO_8859_1);
    /** How many times its own size the values of a delta may add up to through group references. */
    private static final long MAX_REFERENCE_EXPANSION = 64;
    /** The longest session id, attribute name or auth type accepted, in bytes. */
    public static final int MAX_NAME_BYTES = 4096;
    /** Attribute names kept to be shared (an application has a few dozen; a peer sending others fills no memory). */
    static final int MAX_SHARED_NAMES = 1024;
    static final int MAX_SHARED_NAME_CHARS = 64;

    private final int maxValueBytes;
    private final int maxCount;
    // a state transfer decodes every session: without this, each replica kept its own copy of every attribute name
    private final Map<String, String> names = new ConcurrentHashMap<>();

    /** Caps from {@code config}: values up to {@code maxValueBytes}, op and attribute counts up to {@code maxCollectionSize}. */
    public SessionCodec(CodecConfig config) {
        this.maxValueBytes = config.maxValueBytes();
        this.maxCount = config.maxCollectionSize();
    }

    public byte[] encodeDelta(SessionDelta delta) {
        return encodeDelta(delta, NO_PREFIX);
    }

    /** {@link #encodeDelta(SessionDelta)} after {@code prefix} (a message header), in one array. */
    byte[] encodeDelta(SessionDelta delta, byte[] prefix) {
        Sink out = new Sink(prefix.length + 64);
        out.writeBytes(prefix);
        List<byte[]> groups = null;
        for (SessionOp op : delta.ops()) {
            if (op instanceof SessionOp.SetAttribute set && AttributeGroup.isGroup(set.valueUnsafe())) {
                groups = new ArrayList<>();
                break;
            }
        }
        out.write(groups == null ? DELTA : DELTA_GROUPED);
        writeId(out, delta.sessionId());
        out.varlong(delta.baseVersion());
        out.varlong(delta.version() - delta.baseVersion());
        out.varlong(delta.ops().size());
        for (SessionOp op : delta.ops()) {
            writeOp(out, op, groups);
        }
        return out.toByteArray();
    }

    public byte[] encodeRecord(SessionRecord record) {
        Sink out = new Sink(256);
        writeRecord(out, record);
        return out.toByteArray();
    }

    /**
     * Encodes records one after another through one buffer, each returned as a copy of its exact size (a state
     * transfer encodes every session once: a new 256-byte buffer for each was most of what the source allocated).
     * Threading: one thread at a time.
     */
    static final class RecordEncoder {
        private final Sink out = new Sink(256);

        byte[] encode(SessionRecord record) {
            out.size = 0;
            writeRecord(out, record);
            return Arrays.copyOf(out.buf, out.size);
        }
    }

    private static void writeRecord(Sink out, SessionRecord record) {
        Map<String, byte[]> attributes = record.attributesUnsafe();
        List<byte[]> groups = null;
        for (byte[] value : attributes.values()) {
            if (AttributeGroup.isGroup(value)) {
                groups = new ArrayList<>();
                break;
            }
        }
        out.write(groups == null ? RECORD : RECORD_GROUPED);
        writeId(out, record.id());
        out.varlong(record.version());
        writeMetadata(out, record.metadata());
        out.varlong(attributes.size());
        for (Map.Entry<String, byte[]> e : attributes.entrySet()) {
            out.string(e.getKey());
            writeValue(out, e.getValue(), groups);
        }
    }

    /** @throws CodecException when the bytes are not a well-formed delta within the caps */
    public SessionDelta decodeDelta(byte[] bytes) {
        Source in = new Source(bytes);
        List<byte[]> groups = in.expectKind(DELTA, DELTA_GROUPED, "delta") ? new ArrayList<>() : null;
        // Each operation copies its value: a group referenced again and again must not turn a small delta into a
        // large allocation (a legitimate group is referenced once per other member of it).
        in.maxReferencedBytes = MAX_REFERENCE_EXPANSION * bytes.length;
        String id = readId(in);
        long base = in.varlong();
        long span = in.varlong();
        if (span == 0 || base + span < base) {
            throw new CodecException(Reason.MALFORMED, "delta version span " + span + " from base " + base);
        }
        int count = in.count("operation count", maxCount, 1);
        List<SessionOp> ops = new ArrayList<>(Math.min(count, 64));
        for (int i = 0; i < count; i++) {
            ops.add(readOp(in, groups));
        }
        in.expectEnd();
        try {
            return new SessionDelta(id, base, base + span, ops);
        } catch (IllegalArgumentException e) {
            throw new CodecException(Reason.MALFORMED, "not a valid delta: " + e.getMessage(), e);
        }
    }

    /**
     * The session id of the delta {@code in} holds from its position (not moved), without decoding the rest: at most
     * the bytes an id can take are copied.
     *
     * @throws CodecException when it does not start as a delta
     */
    static String deltaSessionId(ByteBuffer in) {
        byte[] head = new byte[Math.min(in.remaining(), 1 + 2 * (10 + MAX_NAME_BYTES))];
        in.duplicate().get(head);
        Source src = new Source(head);
        src.expectKind(DELTA, DELTA_GROUPED, "delta");
        return readId(src);
    }

    /** @throws CodecException when the bytes are not a well-formed record within the caps */
    public SessionRecord decodeRecord(byte[] bytes) {
        Source in = new Source(bytes);
        List<byte[]> groups = in.expectKind(RECORD, RECORD_GROUPED, "full session") ? new ArrayList<>() : null;
        String id = readId(in);
        long version = in.varlong();
        SessionMetadata metadata = readMetadata(in);
        int count = in.count("attribute count", maxCount, 2);
        // sized for its count: a replica keeps this map (a state transfer: one per session received)
        Map<String, byte[]> attributes = new LinkedHashMap<>((int) (count / 0.75f) + 1);
        for (int i = 0; i < count; i++) {
            String name = name(in);
            if (attributes.put(name, readValue(in, groups)) != null) {
                throw new CodecException(Reason.MALFORMED, "attribute '" + name + "' appears twice");
            }
        }
        in.expectEnd();
        return SessionRecord.owning(id, version, metadata, attributes);
    }

    // ---- ids ----

    private static void writeId(Sink out, String id) {
        int limit = Math.min(id.length(), 2 * MAX_NAME_BYTES);
        int hex = 0;
        while (hex < limit && isUpperHex(id.charAt(hex))) {
            hex++;
        }
        hex &= ~1;
        if (hex < 16) {
            byte[] utf8 = id.getBytes(StandardCharsets.UTF_8);
            out.varlong((long) utf8.length << 1);
            out.writeBytes(utf8);
            return;
        }
        out.varlong(((long) (hex / 2) << 1) | 1);
        out.hexPairs(id, hex);
        out.string(id, hex);
    }

    /** The value of an upper-case hex digit ({@link #isUpperHex}). */
    private static int nibble(char c) {
        return c <= '9' ? c - '0' : c - ('A' - 10);
    }

    private static boolean isUpperHex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
    }

    private static String readId(Source in) {
        long header = in.varlong();
        long n = header >>> 1;
        if ((header & 1) == 0) {
            return in.utf8(in.length(n, "session id", MAX_NAME_BYTES));
        }
        int packed = in.length(n, "session id", MAX_NAME_BYTES);
        int from = in.pos;
        in.pos += packed;
        int rest = in.length(in.varlong(), "name", MAX_NAME_BYTES);
        byte[] src = in.buf;
        boolean ascii = true;
        for (int i = in.pos; i < in.pos + rest; i++) {
            ascii &= src[i] >= 0;
        }
        // One Latin-1 string of the digits and an ASCII rest (the usual ".jvmRoute"): no decoding, no concatenation.
        byte[] chars = new byte[packed * 2 + (ascii ? rest : 0)];
        for (int i = 0; i < packed; i++) {
            int b = src[from + i] & 0xFF;
            chars[2 * i] = HEX_DIGITS[b >>> 4];
            chars[2 * i + 1] = HEX_DIGITS[b & 0xF];
        }
        if (ascii) {
            System.arraycopy(src, in.pos, chars, packed * 2, rest);
            in.pos += rest;
            return new String(chars, StandardCharsets.ISO_8859_1);
        }
        return new String(chars, StandardCharsets.ISO_8859_1).concat(in.utf8(rest));
    }

    // ---- operations ----

    /** An attribute's bytes: as they are, or, in a message with groups, as {@code value} (a group's only once). */
    private static void writeValue(Sink out, byte[] value, List<byte[]> groups) {
        if (groups == null) {
            out.bytes(value);
            return;
        }
        if (AttributeGroup.isGroup(value)) {
            for (int k = 0; k < groups.size(); k++) {
                if (AttributeGroup.sameGroup(groups.get(k), value)) {
                    out.varlong(0);
                    out.varlong(k);
                    return;
                }
            }
            groups.add(value);
        }
        out.optBytes(value);
    }

    private byte[] readValue(Source in, List<byte[]> groups) {
        if (groups == null) {
            return in.bytes(maxValueBytes);
        }
        long n = in.varlong();
        if (n == 0) {
            long k = in.varlong();
            if (k >= groups.size()) {
                throw new CodecException(Reason.MALFORMED, "value refers to group #" + Long.toUnsignedString(k)
                        + " but only " + groups.size() + " came before it");
            }
            byte[] group = groups.get((int) k);
            in.referencedBytes += group.length;
            if (in.referencedBytes > in.maxReferencedBytes) {
                throw new CodecException(Reason.LIMIT_EXCEEDED, "attribute groups referenced for "
                        + in.referencedBytes + " bytes in a delta of " + in.buf.length + " bytes (at most "
                        + MAX_REFERENCE_EXPANSION + " times its size)");
            }
            return group;
        }
        byte[] value = in.take(in.length(n - 1, "value", maxValueBytes));
        if (AttributeGroup.isGroup(value)) {
            groups.add(value);
        }
        return value;
    }

    private static void writeOp(Sink out, SessionOp op, List<byte[]> groups) {
        if (op instanceof SessionOp.Create c) {
            out.write(1);
            writeMetadata(out, c.metadata());
        } else if (op instanceof SessionOp.SetAttribute s) {
            out.write(2);
            out.string(s.name());
            writeValue(out, s.valueUnsafe(), groups);
        } else if (op instanceof SessionOp.RemoveAttribute r) {
            out.write(3);
            out.string(r.name());
        } else if (op instanceof SessionOp.Access a) {
            out.write(4);
            out.varlong(zigzag(a.lastAccessedTime()));
            out.write(a.isNew() ? 1 : 0);
        } else if (op instanceof SessionOp.MaxInactive m) {
            out.write(5);
            out.varlong(zigzag(m.seconds()));
        } else if (op instanceof SessionOp.Principal p) {
            out.write(6);
            out.optBytes(p.principal());
            out.optBytes(p.authType());
        } else if (op instanceof SessionOp.Notes n) {
            out.write(7);
            out.optBytes(n.notes());
        } else if (op instanceof SessionOp.Expire) {
            out.write(8);
        } else if (op instanceof SessionOp.ChangeId c) {
            out.write(9);
            writeId(out, c.newId());
        }
    }

    /** An attribute name: the string decoded before when there is one (bounded, see {@link #names}). */
    private String name(Source in) {
        String name = in.string(MAX_NAME_BYTES);
        if (name.length() > MAX_SHARED_NAME_CHARS) {
            return name;
        }
        String known = names.get(name);
        if (known != null) {
            return known;
        }
        if (names.size() >= MAX_SHARED_NAMES) {
            return name;
        }
        known = names.putIfAbsent(name, name);
        return known == null ? name : known;
    }

    private SessionOp readOp(Source in, List<byte[]> groups) {
        int code = in.read();
        switch (code) {
            case 1:
                return new SessionOp.Create(readMetadata(in));
            case 2:
                return new SessionOp.SetAttribute(name(in), readValue(in, groups));
            case 3:
                return new SessionOp.RemoveAttribute(name(in));
            case 4:
                return new SessionOp.Access(unzigzag(in.varlong()), in.bool());
            case 5:
                return new SessionOp.MaxInactive(in.int32(unzigzag(in.varlong()), "max inactive interval"));
            case 6:
                return new SessionOp.Principal(in.optBytes(maxValueBytes), in.optBytes(MAX_NAME_BYTES));
            case 7:
                return new SessionOp.Notes(in.optBytes(maxValueBytes));
            case 8:
                return new SessionOp.Expire();
            case 9:
                return new SessionOp.ChangeId(readId(in));
            default:
                throw new CodecException(Reason.MALFORMED, "unknown operation code " + code
                        + ": is a newer Flotilla version sending? run the same version on all members");
        }
    }

    private static void writeMetadata(Sink out, SessionMetadata m) {
        out.varlong(zigzag(m.creationTime()));
        out.varlong(zigzag(m.lastAccessedTime() - m.creationTime()));
        out.varlong(zigzag(m.maxInactiveIntervalSeconds()));
        out.write(m.isNew() ? 1 : 0);
        out.optBytes(m.principal());
        out.optBytes(m.authType());
        out.optBytes(m.notes());
    }

    private SessionMetadata readMetadata(Source in) {
        long creation = unzigzag(in.varlong());
        long lastAccess = creation + unzigzag(in.varlong());
        int maxInactive = in.int32(unzigzag(in.varlong()), "max inactive interval");
        boolean isNew = in.bool();
        return new SessionMetadata(creation, lastAccess, maxInactive, isNew, in.optBytes(maxValueBytes),
                in.optBytes(MAX_NAME_BYTES), in.optBytes(maxValueBytes));
    }

    private static long zigzag(long v) {
        return (v << 1) ^ (v >> 63);
    }

    private static long unzigzag(long v) {
        return (v >>> 1) ^ -(v & 1);
    }

    /** A growable output; unsynchronized (one encoding, one thread), unlike {@code ByteArrayOutputStream}. */
    private static final class Sink {
        private byte[] buf;
        private int size;

        Sink(int capacity) {
            buf = new byte[capacity];
        }

        private void ensure(int extra) {
            if (size + extra > buf.length) {
                buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + extra));
            }
        }

        void write(int b) {
            ensure(1);
            buf[size++] = (byte) b;
        }

        void writeBytes(byte[] b) {
            ensure(b.length);
            System.arraycopy(b, 0, buf, size, b.length);
            size += b.length;
        }

        void varlong(long v) {
            ensure(10);
            while ((v & ~0x7FL) != 0) {
                buf[size++] = (byte) ((v & 0x7F) | 0x80);
                v >>>= 7;
            }
            buf[size++] = (byte) v;
        }

        void bytes(byte[] b) {
            varlong(b.length);
            writeBytes(b);
        }

        void optBytes(byte[] b) {
            if (b == null) {
                varlong(0);
            } else {
                varlong(b.length + 1L);
                writeBytes(b);
            }
        }

        void string(String s) {
            string(s, 0);
        }

        /** The first {@code n} (even) characters of {@code s}, upper-case hex digits, as {@code n / 2} bytes. */
        void hexPairs(String s, int n) {
            ensure(n / 2);
            for (int i = 0; i < n; i += 2) {
                buf[size++] = (byte) (nibble(s.charAt(i)) << 4 | nibble(s.charAt(i + 1)));
            }
        }

        /** {@code s} from index {@code from} as UTF-8 with its length; ASCII is copied without a byte array. */
        void string(String s, int from) {
            int end = s.length();
            for (int i = from; i < end; i++) {
                if (s.charAt(i) >= 0x80) {
                    bytes(s.substring(from).getBytes(StandardCharsets.UTF_8));
                    return;
                }
            }
            varlong(end - from);
            ensure(end - from);
            for (int i = from; i < end; i++) {
                buf[size++] = (byte) s.charAt(i);
            }
        }

        byte[] toByteArray() {
            return size == buf.length ? buf : Arrays.copyOf(buf, size);
        }
    }

    /** A checked reader over untrusted bytes. */
    private static final class Source {
        private final byte[] buf;
        private int pos;
        /** The bytes of the group references read so far, and how many are allowed (a record copies none). */
        long referencedBytes;
        long maxReferencedBytes = Long.MAX_VALUE;

        Source(byte[] buf) {
            this.buf = Objects.requireNonNull(buf, "bytes");
        }

        int remaining() {
            return buf.length - pos;
        }

        int read() {
            if (pos >= buf.length) {
                throw new CodecException(Reason.MALFORMED, "input ends early, at byte " + pos);
            }
            return buf[pos++] & 0xFF;
        }

        boolean bool() {
            int b = read();
            if (b > 1) {
                throw new CodecException(Reason.MALFORMED, "boolean byte " + b + " at " + (pos - 1));
            }
            return b == 1;
        }

        /** Reads the kind byte: false for {@code plain}, true for {@code grouped}, else malformed. */
        boolean expectKind(int plain, int grouped, String what) {
            int k = read();
            if (k != plain && k != grouped) {
                throw new CodecException(Reason.MALFORMED, "expected a " + what + " (kind " + plain + " or "
                        + grouped + "), got kind " + k);
            }
            return k == grouped;
        }

        void expectEnd() {
            if (pos != buf.length) {
                throw new CodecException(Reason.MALFORMED, (buf.length - pos) + " bytes left after the end");
            }
        }

        long varlong() {
            long result = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                int b = read();
                result |= (long) (b & 0x7F) << shift;
                if ((b & 0x80) == 0) {
                    return result;
                }
            }
            throw new CodecException(Reason.MALFORMED, "varint longer than 10 bytes at " + pos);
        }

        int int32(long v, String what) {
            if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
                throw new CodecException(Reason.MALFORMED, what + " " + v + " out of int range");
            }
            return (int) v;
        }

        /** A count of items of at least {@code minBytesEach}, checked against its cap and the bytes left. */
        int count(String what, int max, int minBytesEach) {
            long n = varlong();
            if (n > max || n < 0) {
                throw new CodecException(Reason.LIMIT_EXCEEDED, "declared " + what + " " + Long.toUnsignedString(n)
                        + " exceeds the cap of " + max);
            }
            if (n * minBytesEach > remaining()) {
                throw new CodecException(Reason.LIMIT_EXCEEDED, "declared " + what + " " + n + " needs at least "
                        + n * minBytesEach + " bytes but only " + remaining() + " are left");
            }
            return (int) n;
        }

        int length(long n, String what, int max) {
            if (n < 0 || n > max) {
                throw new CodecException(Reason.LIMIT_EXCEEDED, "declared " + what + " length "
                        + Long.toUnsignedString(n) + " exceeds the cap of " + max + " bytes");
            }
            if (n > remaining()) {
                throw new CodecException(Reason.LIMIT_EXCEEDED, "declared " + what + " length " + n
                        + " but only " + remaining() + " bytes are left");
            }
            return (int) n;
        }

        byte[] take(int n) {
            byte[] b = new byte[n];
            System.arraycopy(buf, pos, b, 0, n);
            pos += n;
            return b;
        }

        String utf8(int n) {
            String s = new String(buf, pos, n, StandardCharsets.UTF_8);
            pos += n;
            return s;
        }

        String string(int max) {
            return utf8(length(varlong(), "name", max));
        }

        byte[] bytes(int max) {
            return take(length(varlong(), "value", max));
        }

        byte[] optBytes(int max) {
            long n = varlong();
            return n == 0 ? null : take(length(n - 1, "value", max));
        }
    }
}
