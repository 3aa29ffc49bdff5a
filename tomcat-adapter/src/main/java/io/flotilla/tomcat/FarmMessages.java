package io.flotilla.tomcat;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The farm deployer's messages on its node topic ({@link #TOPIC}), each a version byte, a kind byte and its fields
 * (big-endian; strings as u16 length + UTF-8). Every length is checked against the bytes left before anything is
 * allocated; a malformed message throws {@link IllegalArgumentException}.
 *
 * <pre>
 * SYNC     —                                   "offer me the WARs you hold" (at start, and to a member that joins)
 * OFFER    count u16, entry..., count u16, entry...  the WARs the sender holds, then those removed from the farm
 *                                              (each with the hash removed and the time of its removal)
 * REQUEST  name, sha256[32]                    "stream me this version"
 * BEGIN    transfer id i64, entry              a stream starts
 * CHUNK    transfer id i64, offset i64, bytes  the next bytes of a stream (at most {@link #CHUNK_BYTES})
 * REMOVE   entry                               "this WAR was removed from the farm: undeploy it" (the version
 *                                              removed, the time of its removal, the member that removed it)
 * entry:   name, size i64, sha256[32], modified i64 (epoch ms), origin member name
 * </pre>
 *
 * <p>Threading: stateless.
 */
final class FarmMessages {
    /**
     * The node topic of the farm: Flotilla's own topics sit at the top of the range (240 replication, 241 state
     * transfer, see {@code ReplicationConfig}); applications start at 0.
     */
    static final int TOPIC = 242;
    static final int CHUNK_BYTES = 64 * 1024;
    static final byte VERSION = 1;
    static final byte SYNC = 1;
    static final byte OFFER = 2;
    static final byte REQUEST = 3;
    static final byte BEGIN = 4;
    static final byte CHUNK = 5;
    static final byte REMOVE = 6;
    private static final int MAX_STRING_BYTES = 1024;
    /** An offer stays far below the frame limit: at most twice 1000 entries of at most about 1.3 KiB. */
    private static final int MAX_OFFER_ENTRIES = 1000;
    private static final int SHA_BYTES = 32;
    private static final HexFormat HEX = HexFormat.of();

    /** A WAR of the farm: its file name, size, SHA-256 (hex), when its origin took it in, and that member's name. */
    record Entry(String name, long size, String sha256, long modified, String origin) {
        /** For logs and JMX: {@code app.war sha256=0123abcd… 1234 bytes from node1}. */
        String describe() {
            return name + " sha256=" + sha256.substring(0, 16) + "… " + size + " bytes from " + origin;
        }
    }

    private FarmMessages() {
    }

    static ByteBuffer sync() {
        return header(SYNC, 0).flip();
    }

    /** What a member holds, and what it knows was removed from the farm. */
    record Offer(List<Entry> held, List<Entry> removed) {
    }

    static ByteBuffer offer(List<Entry> held, List<Entry> removed) {
        List<Entry> h = held.size() > MAX_OFFER_ENTRIES ? held.subList(0, MAX_OFFER_ENTRIES) : held;
        List<Entry> r = removed.size() > MAX_OFFER_ENTRIES ? removed.subList(0, MAX_OFFER_ENTRIES) : removed;
        int size = 4;
        for (Entry e : h) {
            size += entrySize(e);
        }
        for (Entry e : r) {
            size += entrySize(e);
        }
        ByteBuffer b = header(OFFER, size);
        putEntries(b, h);
        putEntries(b, r);
        return b.flip();
    }

    private static void putEntries(ByteBuffer b, List<Entry> entries) {
        b.putShort((short) entries.size());
        entries.forEach(e -> putEntry(b, e));
    }

    static ByteBuffer request(String name, String sha256) {
        ByteBuffer b = header(REQUEST, stringSize(name) + SHA_BYTES);
        putString(b, name);
        return b.put(HEX.parseHex(sha256)).flip();
    }

    static ByteBuffer begin(long transfer, Entry e) {
        ByteBuffer b = header(BEGIN, 8 + entrySize(e)).putLong(transfer);
        putEntry(b, e);
        return b.flip();
    }

    /** A chunk message with room for {@code length} bytes after its header; the caller fills them and flips. */
    static ByteBuffer chunk(long transfer, long offset, int length) {
        return header(CHUNK, 16 + length).putLong(transfer).putLong(offset);
    }

    static ByteBuffer remove(Entry removed) {
        ByteBuffer b = header(REMOVE, entrySize(removed));
        putEntry(b, removed);
        return b.flip();
    }

    private static ByteBuffer header(byte kind, int body) {
        return ByteBuffer.allocate(2 + body).put(VERSION).put(kind);
    }

    // ------------------------------------------------------------------------------------------ reading

    /** The kind of {@code m} (its position moves past the header); refuses another version. */
    static byte kind(ByteBuffer m) {
        need(m, 2);
        byte version = m.get();
        if (version != VERSION) {
            throw new IllegalArgumentException("farm message version " + version + ", expected " + VERSION);
        }
        return m.get();
    }

    static Offer readOffer(ByteBuffer m) {
        return new Offer(readEntries(m), readEntries(m));
    }

    private static List<Entry> readEntries(ByteBuffer m) {
        need(m, 2);
        int count = Short.toUnsignedInt(m.getShort());
        if (count > MAX_OFFER_ENTRIES) {
            throw new IllegalArgumentException("offer of " + count + " WARs, at most " + MAX_OFFER_ENTRIES);
        }
        List<Entry> out = new ArrayList<>(Math.min(count, 64));
        for (int i = 0; i < count; i++) {
            out.add(readEntry(m));
        }
        return out;
    }

    /** {@code [name, sha256]} of a REQUEST. */
    static String[] readRequest(ByteBuffer m) {
        String name = readString(m);
        return new String[] {name, readSha(m)};
    }

    static Entry readEntry(ByteBuffer m) {
        String name = readString(m);
        need(m, 8);
        long size = m.getLong();
        String sha = readSha(m);
        need(m, 8);
        long modified = m.getLong();
        return new Entry(name, size, sha, modified, readString(m));
    }

    static long readLong(ByteBuffer m) {
        need(m, 8);
        return m.getLong();
    }

    static String readString(ByteBuffer m) {
        need(m, 2);
        int length = Short.toUnsignedInt(m.getShort());
        if (length > MAX_STRING_BYTES) {
            throw new IllegalArgumentException("a string of " + length + " bytes, at most " + MAX_STRING_BYTES);
        }
        need(m, length);
        byte[] bytes = new byte[length];
        m.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static String readSha(ByteBuffer m) {
        need(m, SHA_BYTES);
        byte[] sha = new byte[SHA_BYTES];
        m.get(sha);
        return HEX.formatHex(sha);
    }

    private static void need(ByteBuffer m, int bytes) {
        if (m.remaining() < bytes) {
            throw new IllegalArgumentException("truncated farm message", new BufferUnderflowException());
        }
    }

    // ------------------------------------------------------------------------------------------ writing

    private static int stringSize(String s) {
        return 2 + utf8(s).length;
    }

    private static int entrySize(Entry e) {
        return stringSize(e.name()) + 8 + SHA_BYTES + 8 + stringSize(e.origin());
    }

    private static void putEntry(ByteBuffer b, Entry e) {
        putString(b, e.name());
        b.putLong(e.size()).put(HEX.parseHex(e.sha256())).putLong(e.modified());
        putString(b, e.origin());
    }

    private static void putString(ByteBuffer b, String s) {
        byte[] bytes = utf8(s);
        b.putShort((short) bytes.length).put(bytes);
    }

    private static byte[] utf8(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > MAX_STRING_BYTES) {
            throw new IllegalArgumentException("a string of " + bytes.length + " bytes, at most " + MAX_STRING_BYTES);
        }
        return bytes;
    }
}
