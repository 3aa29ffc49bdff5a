package io.flotilla.tomcat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import org.apache.juli.logging.Log;
import org.apache.juli.logging.LogFactory;

/**
 * The farm's file work: copying a WAR while hashing it, at most {@code maxWarBytes}; the SHA-256 of a WAR in the
 * deploy folder, cached by size and modification time so a large WAR is hashed once.
 *
 * <p>Threading: not thread-safe; the farm's worker thread uses it.
 */
final class WarFiles {
    private static final Log log = LogFactory.getLog(WarFiles.class);

    private record Hashed(long size, long modified, String sha256) {
    }

    private final Path deployDir;
    private final long maxWarBytes;
    private final Map<String, Hashed> hashes = new HashMap<>();

    WarFiles(Path deployDir, long maxWarBytes) {
        this.deployDir = deployDir;
        this.maxWarBytes = maxWarBytes;
    }

    /** The SHA-256 (hex) of the deploy folder's {@code name}, or null when there is none or it cannot be read. */
    String hashOf(String name) {
        try {
            Path p = FarmReceiver.inside(deployDir, name);
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
            if (!a.isRegularFile()) {
                return null;
            }
            Hashed h = hashes.get(name);
            if (h != null && h.size() == a.size() && h.modified() == a.lastModifiedTime().toMillis()) {
                return h.sha256();
            }
            MessageDigest digest = FarmReceiver.sha256();
            try (InputStream in = Files.newInputStream(p)) {
                copy(in, OutputStream.nullOutputStream(), digest, name);
            }
            String sha = HexFormat.of().formatHex(digest.digest());
            hashes.put(name, new Hashed(a.size(), a.lastModifiedTime().toMillis(), sha));
            return sha;
        } catch (IOException | IllegalArgumentException e) {
            return null; // none, or unreadable: not the version asked about
        }
    }

    /** The deploy folder's {@code name} changed: hash it again when asked. */
    void forget(String name) {
        hashes.remove(name);
    }

    /**
     * Copies {@code in} to {@code out}, hashing it into {@code digest}.
     *
     * @return the size
     * @throws IllegalArgumentException when it is larger than {@code maxWarBytes}
     */
    long copy(InputStream in, OutputStream out, MessageDigest digest, String name) throws IOException {
        byte[] buf = new byte[FarmMessages.CHUNK_BYTES];
        long size = 0;
        for (int n; (n = in.read(buf)) > 0; ) {
            size += n;
            if (size > maxWarBytes) {
                throw new IllegalArgumentException(name + " is larger than maxWarBytes (" + maxWarBytes + ")");
            }
            digest.update(buf, 0, n);
            out.write(buf, 0, n);
        }
        return size;
    }

    /** Deletes {@code p} if there is one; a failure is logged (the file stays in tempDir, never in the deploy folder). */
    static void deleteQuietly(Path p) {
        if (p == null) {
            return;
        }
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            log.warn("FarmDeployer: could not delete " + p + ": " + e);
        }
    }
}
