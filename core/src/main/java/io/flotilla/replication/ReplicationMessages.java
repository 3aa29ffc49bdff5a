package io.flotilla.replication;

import io.flotilla.MemberId;
import io.flotilla.replication.CodecException.Reason;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The replication layer's messages inside node payloads: a kind byte, then the fields. Deltas and records are in
 * {@link SessionCodec}'s format. Every length is checked against the bytes left before anything is allocated.
 *
 * <p>Threading: stateless, safe from any thread.
 */
final class ReplicationMessages {
    // replication topic
    static final byte DELTA = 1;
    static final byte FULL_REQUEST = 2;
    static final byte FULL = 3;
    static final byte GONE = 4;
    static final byte OWNER = 5;
    static final byte TAKEOVER_QUERY = 6;
    static final byte TAKEOVER_ANSWER = 7;
    static final byte DIGEST = 8;
    static final byte READY = 9;
    static final byte UNREADY = 13;
    static final byte READY_ACK = 14;
    static final byte HANDED_OVER = 15;
    static final byte HANDOFF_REQUEST = 16;
    static final byte HANDOFF_ANSWER = 17;
    static final byte RELEASE = 18;
    static final byte VERSIONS = 19;
    /** No content: a draining member's {@code PROCESSED} barrier (everything it sent before was processed). */
    static final byte FLUSH = 20;
    /** The owner renamed a session (placement other than ALL, to every member): former id, new id. */
    static final byte RENAMED = 21;
    // state-transfer topic
    static final byte TRANSFER_REQUEST = 10;
    static final byte TRANSFER_CHUNK = 11;
    static final byte TRANSFER_DONE = 12;

    // either topic: the message of an engine with a namespace follows (ReplicationConfig.namespace)
    static final byte NAMESPACED = 0x7F;

    private static final int MAX_ID_BYTES = 1024;

    private ReplicationMessages() {
    }

    /** {@code msg} unchanged for the plain stream; else NAMESPACED, the namespace (u8 length, UTF-8), msg. */
    static ByteBuffer wrapNamespace(ByteBuffer msg, byte[] namespace) {
        if (namespace.length == 0) {
            return msg;
        }
        ByteBuffer b = ByteBuffer.allocate(2 + namespace.length + msg.remaining());
        b.put(NAMESPACED).put((byte) namespace.length).put(namespace).put(msg.duplicate()).flip();
        return b;
    }

    /** The message after the namespace header when it is for {@code namespace}; null when it is another's. */
    static ByteBuffer unwrapNamespace(ByteBuffer in, byte[] namespace) {
        boolean namespaced = in.hasRemaining() && in.get(in.position()) == NAMESPACED;
        if (!namespaced) {
            return namespace.length == 0 ? in : null;
        }
        if (in.remaining() < 2) {
            return null;
        }
        int len = in.get(in.position() + 1) & 0xFF;
        if (len != namespace.length || in.remaining() < 2 + len) {
            return null;
        }
        for (int i = 0; i < len; i++) {
            if (in.get(in.position() + 2 + i) != namespace[i]) {
                return null;
            }
        }
        in.position(in.position() + 2 + len);
        return in;
    }

    /** What {@link #wrapNamespace} and {@link #wrap} put before a body of {@code kind}: built once per engine. */
    static byte[] header(byte kind, byte[] namespace) {
        ByteBuffer h = wrapNamespace(ByteBuffer.wrap(new byte[] {kind}), namespace);
        byte[] out = new byte[h.remaining()];
        h.get(out);
        return out;
    }

    /** READY, READY_ACK and UNREADY: the kind alone. */
    static ByteBuffer kindOnly(byte kind) {
        return ByteBuffer.wrap(new byte[] {kind});
    }

    static ByteBuffer wrap(byte kind, byte[] body) {
        ByteBuffer b = ByteBuffer.allocate(1 + body.length);
        b.put(kind).put(body).flip();
        return b;
    }

    /** FULL_REQUEST, GONE and OWNER: an id and a version. */
    static ByteBuffer idAndVersion(byte kind, String id, long version) {
        byte[] idBytes = id.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(1 + 2 + idBytes.length + 8);
        b.put(kind).putShort((short) idBytes.length).put(idBytes).putLong(version).flip();
        return b;
    }

    record IdAndVersion(String id, long version) {
    }

    /** RENAMED: the owner renamed session {@code from} to {@code to}. */
    record Renamed(String from, String to) {
    }

    static ByteBuffer renamed(String from, String to) {
        byte[] a = from.getBytes(StandardCharsets.UTF_8);
        byte[] b = to.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(1 + 2 + a.length + 2 + b.length).put(RENAMED).putShort((short) a.length).put(a)
                .putShort((short) b.length).put(b).flip();
    }

    static Renamed readRenamed(ByteBuffer in) {
        return new Renamed(readId(in), readId(in));
    }

    /**
     * HANDED_OVER: the sender no longer owns session {@code id}, {@code owner} does; a copy up to {@code keepUpTo}
     * is on the new owner's line (-1: none is).
     */
    record HandedOver(String id, long keepUpTo, MemberId owner) {
    }

    static ByteBuffer handedOver(HandedOver h) {
        byte[] idBytes = h.id().getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(1 + 2 + idBytes.length + 8 + 16);
        b.put(HANDED_OVER).putShort((short) idBytes.length).put(idBytes).putLong(h.keepUpTo())
                .putLong(h.owner().mostSignificant()).putLong(h.owner().leastSignificant()).flip();
        return b;
    }

    static HandedOver readHandedOver(ByteBuffer in) {
        IdAndVersion iv = readIdAndVersion(in);
        return new HandedOver(iv.id(), iv.version(), new MemberId(in.getLong(), in.getLong()));
    }

    static IdAndVersion readIdAndVersion(ByteBuffer in) {
        String id = readId(in);
        long version = in.getLong();
        return new IdAndVersion(id, version);
    }

    /** What an owner answers a hand-off request: the record when it granted, else why not. */
    enum HandoffStatus {
        /** Handed over: the record follows; the asker owns the session now. */
        GRANTED,
        /** A request is using the session there: ask again shortly. */
        BUSY,
        /** The answerer does not own the session (any more). */
        NOT_OWNER
    }

    record HandoffAnswer(String id, HandoffStatus status, byte[] record) {
    }

    static ByteBuffer handoffAnswer(HandoffAnswer a) {
        byte[] idBytes = a.id().getBytes(StandardCharsets.UTF_8);
        int len = a.record() == null ? 0 : a.record().length;
        ByteBuffer b = ByteBuffer.allocate(1 + 2 + idBytes.length + 1 + 4 + len);
        b.put(HANDOFF_ANSWER).putShort((short) idBytes.length).put(idBytes).put((byte) a.status().ordinal());
        return putRecord(b, a.record()).flip();
    }

    static HandoffAnswer readHandoffAnswer(ByteBuffer in) {
        String id = readId(in);
        int status = in.get();
        if (status < 0 || status >= HandoffStatus.values().length) {
            throw new CodecException(Reason.MALFORMED, "unknown hand-off status " + status);
        }
        return new HandoffAnswer(id, HandoffStatus.values()[status], readRecord(in, "hand-off"));
    }

    /** A length (-1: none) and that many bytes. */
    private static ByteBuffer putRecord(ByteBuffer b, byte[] record) {
        b.putInt(record == null ? -1 : record.length);
        return record == null ? b : b.put(record);
    }

    /** A length (-1: none) and that many bytes, checked against the bytes left. */
    private static byte[] readRecord(ByteBuffer in, String what) {
        int len = in.getInt();
        if (len < -1 || len > in.remaining()) {
            throw new CodecException(Reason.MALFORMED, what + " record of " + len + " bytes, " + in.remaining()
                    + " left");
        }
        byte[] record = null;
        if (len >= 0) {
            record = new byte[len];
            in.get(record);
        }
        return record;
    }

    /**
     * An owner's word to the holders: {@code newOwner} owns {@code id} from {@code version} on; {@code record} (may be
     * null) is the session at that version, when the holders lack part of it.
     */
    record Release(String id, long version, MemberId newOwner, byte[] record) {
    }

    static ByteBuffer release(Release r) {
        byte[] idBytes = r.id().getBytes(StandardCharsets.UTF_8);
        int len = r.record() == null ? 0 : r.record().length;
        ByteBuffer b = ByteBuffer.allocate(1 + 2 + idBytes.length + 8 + MemberId.BYTES + 4 + len);
        b.put(RELEASE).putShort((short) idBytes.length).put(idBytes).putLong(r.version())
                .putLong(r.newOwner().mostSignificant()).putLong(r.newOwner().leastSignificant());
        return putRecord(b, r.record()).flip();
    }

    static Release readRelease(ByteBuffer in) {
        String id = readId(in);
        long version = in.getLong();
        MemberId newOwner = new MemberId(in.getLong(), in.getLong());
        return new Release(id, version, newOwner, readRecord(in, "release"));
    }

    /**
     * A take-over round's answer: the answerer's version (-1: none), its flags, what became of the session if the
     * answerer owned it lately ({@link SessionTable#lately}: the member it went to, or the version it ended at; null
     * and -1 otherwise), and its record when newer than the asker's.
     */
    record Answer(String id, long version, boolean owns, boolean inRound, MemberId handedTo, long endedAt,
            byte[] record) {
    }

    static final int OWNS = 1;
    static final int IN_ROUND = 2;
    static final int HANDED = 4;
    static final int ENDED = 8;

    static ByteBuffer answer(Answer a) {
        byte[] idBytes = a.id().getBytes(StandardCharsets.UTF_8);
        int len = a.record() == null ? 0 : a.record().length;
        boolean ended = a.endedAt() >= 0;
        ByteBuffer b = ByteBuffer.allocate(1 + 2 + idBytes.length + 8 + 1 + (a.handedTo() == null ? 0 : MemberId.BYTES)
                + (ended ? 8 : 0) + 4 + len);
        b.put(TAKEOVER_ANSWER).putShort((short) idBytes.length).put(idBytes).putLong(a.version())
                .put((byte) ((a.owns() ? OWNS : 0) | (a.inRound() ? IN_ROUND : 0)
                        | (a.handedTo() == null ? 0 : HANDED) | (ended ? ENDED : 0)));
        if (a.handedTo() != null) {
            b.putLong(a.handedTo().mostSignificant()).putLong(a.handedTo().leastSignificant());
        }
        if (ended) {
            b.putLong(a.endedAt());
        }
        return putRecord(b, a.record()).flip();
    }

    static Answer readAnswer(ByteBuffer in) {
        String id = readId(in);
        long version = in.getLong();
        int flags = in.get();
        MemberId handedTo = (flags & HANDED) != 0 ? new MemberId(in.getLong(), in.getLong()) : null;
        long endedAt = (flags & ENDED) != 0 ? in.getLong() : -1;
        if ((flags & ENDED) != 0 && endedAt < 0) {
            throw new CodecException(Reason.MALFORMED, "take-over answer ended at version " + endedAt);
        }
        return new Answer(id, version, (flags & OWNS) != 0, (flags & IN_ROUND) != 0, handedTo, endedAt,
                readRecord(in, "take-over"));
    }

    /**
     * One owned session in a digest: its id, its version, the version its owner began at, and the newest version of
     * it every holder acknowledged (what the owner's writes since {@code since} that count amount to).
     */
    record DigestEntry(String id, long version, long since, long acknowledged) {
    }

    static ByteBuffer digest(List<DigestEntry> entries) {
        return entries(DIGEST, entries);
    }

    /**
     * VERSIONS: the digest's form (since: -1, acked: -1), of the versions a member received by state transfer of the
     * sessions the addressee owns, then a byte: 1 on the last of these messages to that addressee.
     */
    static ByteBuffer versions(List<DigestEntry> entries, boolean last) {
        ByteBuffer b = entries(VERSIONS, entries, 1);
        return b.put(b.limit() - 1, (byte) (last ? 1 : 0));
    }

    /** A VERSIONS message read. */
    record Versions(List<DigestEntry> entries, boolean last) {
    }

    static Versions readVersions(ByteBuffer in) {
        List<DigestEntry> entries = readDigest(in);
        if (in.remaining() != 1) {
            throw new CodecException(Reason.MALFORMED, "versions message ends with " + in.remaining()
                    + " bytes instead of its last-message flag");
        }
        return new Versions(entries, in.get() == 1);
    }

    private static ByteBuffer entries(byte kind, List<DigestEntry> entries) {
        return entries(kind, entries, 0);
    }

    private static ByteBuffer entries(byte kind, List<DigestEntry> entries, int trailer) {
        int size = 1 + 4 + trailer;
        List<byte[]> ids = new ArrayList<>(entries.size());
        for (DigestEntry e : entries) {
            byte[] idBytes = e.id().getBytes(StandardCharsets.UTF_8);
            ids.add(idBytes);
            size += 2 + idBytes.length + 24;
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        b.put(kind).putInt(entries.size());
        for (int i = 0; i < entries.size(); i++) {
            b.putShort((short) ids.get(i).length).put(ids.get(i)).putLong(entries.get(i).version())
                    .putLong(entries.get(i).since()).putLong(entries.get(i).acknowledged());
        }
        return b.position(0);
    }

    static List<DigestEntry> readDigest(ByteBuffer in) {
        int count = in.getInt();
        if (count < 0 || count > in.remaining() / 26) {
            throw new CodecException(Reason.MALFORMED, "digest declares " + count + " sessions in "
                    + in.remaining() + " bytes");
        }
        List<DigestEntry> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            String id = readId(in);
            out.add(new DigestEntry(id, in.getLong(), in.getLong(), in.getLong()));
        }
        return out;
    }

    static ByteBuffer transferRequest(long transferId) {
        return ByteBuffer.allocate(9).put(TRANSFER_REQUEST).putLong(transferId).flip();
    }

    static ByteBuffer transferDone(long transferId, int total) {
        return ByteBuffer.allocate(13).put(TRANSFER_DONE).putLong(transferId).putInt(total).flip();
    }

    /** One transferred session: its owner and its record in {@link SessionCodec} format. */
    record Entry(MemberId owner, byte[] record) {
        int size() {
            return MemberId.BYTES + 4 + record.length;
        }
    }

    static final int CHUNK_HEADER = 1 + 8 + 4 + 4;

    static ByteBuffer chunk(long transferId, int expected, List<Entry> entries, int bytes) {
        ByteBuffer b = ByteBuffer.allocate(CHUNK_HEADER + bytes);
        b.put(TRANSFER_CHUNK).putLong(transferId).putInt(expected).putInt(entries.size());
        for (Entry e : entries) {
            b.putLong(e.owner().mostSignificant()).putLong(e.owner().leastSignificant());
            b.putInt(e.record().length).put(e.record());
        }
        return b.flip();
    }

    record Chunk(long transferId, int expected, List<Entry> entries) {
    }

    static Chunk readChunk(ByteBuffer in) {
        long tid = in.getLong();
        int expected = in.getInt();
        int count = in.getInt();
        if (count < 0 || count > in.remaining() / (MemberId.BYTES + 4)) {
            throw new CodecException(Reason.MALFORMED, "chunk declares " + count + " sessions in "
                    + in.remaining() + " bytes");
        }
        List<Entry> entries = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            MemberId owner = new MemberId(in.getLong(), in.getLong());
            int len = in.getInt();
            if (len < 0 || len > in.remaining()) {
                throw new CodecException(Reason.MALFORMED, "record of " + len + " bytes with " + in.remaining()
                        + " left");
            }
            byte[] rec = new byte[len];
            in.get(rec);
            entries.add(new Entry(owner, rec));
        }
        return new Chunk(tid, expected, entries);
    }

    static byte[] rest(ByteBuffer in) {
        byte[] b = new byte[in.remaining()];
        in.get(b);
        return b;
    }

    private static String readId(ByteBuffer in) {
        int len = Short.toUnsignedInt(in.getShort());
        if (len > MAX_ID_BYTES || len > in.remaining()) {
            throw new CodecException(Reason.MALFORMED, "session id of " + len + " bytes with " + in.remaining()
                    + " left (at most " + MAX_ID_BYTES + ")");
        }
        byte[] b = new byte[len];
        in.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    /** Turns a short buffer into a codec error, so the caller has one exception type to count. */
    static CodecException truncated(BufferUnderflowException e) {
        return new CodecException(Reason.MALFORMED, "message shorter than its fields", e);
    }
}
