package io.flotilla.tomcat;

import io.flotilla.MemberId;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;
import java.util.function.BiPredicate;
import java.util.function.LongSupplier;

/**
 * The receiving side of the farm's WAR streams: each stream ({@code BEGIN}, then {@code CHUNK}s in order) is written
 * to a file of its own in {@code tempDir} while its SHA-256 is computed, and is handed on only when exactly the
 * announced number of bytes arrived and their hash is the announced one. Anything else (a name that could leave the
 * deploy folder, a size over the limit, a chunk out of place, more bytes than announced, a wrong hash, a stream its
 * sender abandoned) deletes the file: a partial or altered WAR is never handed on.
 *
 * <p>Threading: thread-safe (one lock); the node delivers one sender's messages one at a time, in order.
 */
final class FarmReceiver {
    /** A stream that arrived whole, its hash checked: the file is the caller's to move or delete. */
    record Complete(FarmMessages.Entry entry, Path file, MemberId from) {
    }

    private record Key(MemberId from, long transfer) {
    }

    private static final class Stream {
        final FarmMessages.Entry entry;
        final Path file;
        final FileChannel channel;
        final MessageDigest digest;
        final long startedNanos;
        long written;

        Stream(FarmMessages.Entry entry, Path file, FileChannel channel, MessageDigest digest, long startedNanos) {
            this.entry = entry;
            this.file = file;
            this.channel = channel;
            this.digest = digest;
            this.startedNanos = startedNanos;
        }
    }

    private final Path tempDir;
    private final long maxWarBytes;
    private final long maxValidNanos;
    private final LongSupplier nanos;
    private final Map<Key, Stream> streams = new HashMap<>();

    FarmReceiver(Path tempDir, long maxWarBytes, Duration maxValidTime, LongSupplier nanos) {
        this.tempDir = tempDir;
        this.maxWarBytes = maxWarBytes;
        this.maxValidNanos = maxValidTime.toNanos();
        this.nanos = nanos;
    }

    /**
     * Checks a WAR's file name: a plain file name ending in {@code .war}, without path separators, {@code ..}, a
     * leading dot or control characters, so that {@code folder.resolve(name)} stays directly inside {@code folder}.
     *
     * @throws IllegalArgumentException naming the problem
     */
    static String checkName(String name) {
        boolean bad = name.length() < 5 || name.length() > 255 || !name.endsWith(".war") || name.startsWith(".")
                || name.contains("..") || name.contains("/") || name.contains("\\") || name.contains(":")
                || name.chars().anyMatch(c -> c < 0x20 || c == 0x7F);
        if (bad) {
            throw new IllegalArgumentException("WAR name \"" + name.replaceAll("\\p{Cntrl}", "?") + "\" refused: a "
                    + "file name ending in .war, without path separators, '..', ':' or a leading dot");
        }
        return name;
    }

    /** Resolves a checked name inside {@code folder}, and checks it stayed there. */
    static Path inside(Path folder, String name) {
        Path p = folder.resolve(checkName(name)).normalize();
        if (!folder.equals(p.getParent())) {
            throw new IllegalArgumentException("WAR name \"" + name + "\" refused: it leaves " + folder);
        }
        return p;
    }

    /** A stream begins; refused (thrown) when its name or size is not acceptable. */
    synchronized void begin(MemberId from, long transfer, FarmMessages.Entry entry) throws IOException {
        checkName(entry.name());
        if (entry.size() < 0 || entry.size() > maxWarBytes) {
            throw new IllegalArgumentException("WAR " + entry.name() + " of " + entry.size() + " bytes refused: "
                    + "maxWarBytes is " + maxWarBytes);
        }
        discard(streams.remove(new Key(from, transfer)));
        Files.createDirectories(tempDir);
        Path file = Files.createTempFile(tempDir, "incoming-", ".war.part");
        FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        streams.put(new Key(from, transfer), new Stream(entry, file, channel, sha256(), nanos.getAsLong()));
    }

    /**
     * The next bytes of a stream, written at {@code offset}.
     *
     * @return the stream when this chunk completed it with the announced hash, else null
     * @throws IllegalArgumentException the stream is refused (and its file deleted): unknown, out of place, too
     *     long, or a hash other than the announced one
     */
    synchronized Complete chunk(MemberId from, long transfer, long offset, ByteBuffer bytes) throws IOException {
        Key key = new Key(from, transfer);
        Stream s = streams.get(key);
        if (s == null) {
            throw new IllegalArgumentException("no farm transfer " + transfer + " from this member (expired or "
                    + "refused)");
        }
        if (offset != s.written || s.written + bytes.remaining() > s.entry.size()) {
            streams.remove(key);
            discard(s);
            throw new IllegalArgumentException("WAR " + s.entry.name() + " refused: a chunk of " + bytes.remaining()
                    + " bytes at offset " + offset + " does not follow the " + s.written + " bytes received of "
                    + s.entry.size());
        }
        s.digest.update(bytes.duplicate());
        while (bytes.hasRemaining()) {
            s.written += s.channel.write(bytes);
        }
        if (s.written < s.entry.size()) {
            return null;
        }
        streams.remove(key);
        String sha = HexFormat.of().formatHex(s.digest.digest());
        if (!sha.equals(s.entry.sha256())) {
            discard(s);
            throw new IllegalArgumentException("WAR " + s.entry.name() + " refused: its bytes hash to sha256=" + sha
                    + ", not the announced " + s.entry.sha256());
        }
        s.channel.force(true);
        s.channel.close();
        return new Complete(s.entry, s.file, from);
    }

    /** Drops the streams of a member that left: they can never complete. Returns how many. */
    synchronized int dropFrom(MemberId from) {
        return drop((k, s) -> k.from.equals(from));
    }

    /** Drops the streams begun more than {@code maxValidTime} ago. Returns how many. */
    synchronized int expire() {
        long now = nanos.getAsLong();
        return drop((k, s) -> now - s.startedNanos > maxValidNanos);
    }

    /** Drops every stream (at close). */
    synchronized void close() {
        drop((k, s) -> true);
    }

    /** Whether a stream of {@code name} is being received. */
    synchronized boolean receiving(String name) {
        return streams.values().stream().anyMatch(s -> s.entry.name().equals(name));
    }

    synchronized int open() {
        return streams.size();
    }

    private int drop(BiPredicate<Key, Stream> which) {
        int n = 0;
        for (Iterator<Map.Entry<Key, Stream>> it = streams.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Key, Stream> e = it.next();
            if (which.test(e.getKey(), e.getValue())) {
                it.remove();
                discard(e.getValue());
                n++;
            }
        }
        return n;
    }

    private static void discard(Stream s) {
        if (s == null) {
            return;
        }
        try {
            s.channel.close();
        } catch (IOException e) {
            // the file is deleted next; a close failure changes nothing about that
        }
        try {
            Files.deleteIfExists(s.file);
        } catch (IOException e) {
            // left in tempDir, never moved into deployDir; the next start's tempDir is the same folder
        }
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
