package io.flotilla;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The shared secret of a cluster: every member proves it knows it before it is heard (heartbeats carry an
 * HMAC-SHA256 tag) or served (each TCP connection opens with a mutual challenge-response). Tomcat attributes:
 * {@code secret}, {@code secretFile}, {@code secretEnv}; the last two keep it out of {@code server.xml}.
 *
 * <p>The secret is checked when it is read: at least {@value #MIN_LENGTH} characters and at least
 * {@value #MIN_DISTINCT} distinct ones, so {@code "changeme"} or {@code "aaaaaaaaaaaaaaaa"} are refused. A random
 * value is best, e.g. {@code openssl rand -base64 32}. The message of a refusal names where the secret came from
 * (attribute, file or variable), never the value. {@link #toString()} never shows it either.
 *
 * <p>The secret itself is never used as a key: one key per purpose is derived from it (HMAC-SHA256 of the secret
 * with a fixed label), so a tag of the membership protocol can never pass as a proof of the transport's.
 *
 * <p>Threading: immutable, safe to share. Each {@link #newMac} returns a new {@link Mac}, which is not thread-safe.
 */
public final class ClusterSecret {
    /** The fewest characters a secret may have. */
    public static final int MIN_LENGTH = 16;
    /** The fewest distinct characters a secret may have. */
    public static final int MIN_DISTINCT = 8;
    /** Bytes of a {@link #newMac} tag. */
    public static final int TAG_BYTES = 32;
    private static final String HMAC = "HmacSHA256";
    /** Secret files larger than this are not read: a secret is a line, not a document. */
    private static final long MAX_FILE_BYTES = 4096;

    /** What a derived key is for; each purpose has its own key. */
    public enum Purpose {
        /** The challenge-response that opens every TCP connection. */
        TRANSPORT("flotilla/v1/transport"),
        /** The tag on every membership datagram. */
        MEMBERSHIP("flotilla/v1/membership");

        private final byte[] label;

        Purpose(String label) {
            this.label = label.getBytes(StandardCharsets.US_ASCII);
        }
    }

    private final String source;
    private final byte[][] keys;

    private ClusterSecret(String source, byte[] secret) {
        this.source = source;
        this.keys = new byte[Purpose.values().length][];
        for (Purpose p : Purpose.values()) {
            keys[p.ordinal()] = hmac(secret, p.label);
        }
    }

    /**
     * A secret given as a value (Tomcat's {@code secret} attribute). Prefer {@link #fromFile} or
     * {@link #fromEnvironment}: a value in {@code server.xml} is read by whoever reads the configuration.
     *
     * @throws ConfigurationException when it is too short or too uniform
     */
    public static ClusterSecret fromString(String secret) {
        return of("the secret attribute", secret);
    }

    /**
     * A secret read from a file (Tomcat's {@code secretFile}): its first line, surrounding whitespace removed. Keep
     * the file readable by the Tomcat user only.
     *
     * @throws ConfigurationException when the file cannot be read, is larger than 4 KiB, or holds a weak secret
     */
    public static ClusterSecret fromFile(Path file) {
        Objects.requireNonNull(file, "file");
        String source = "secretFile " + file;
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                throw new ConfigurationException(source + " is invalid: " + size
                        + " bytes, a secret file holds one line of at most " + MAX_FILE_BYTES + " bytes");
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new ConfigurationException(source + " cannot be read (" + e.getClass().getSimpleName()
                    + "): check the path and that this process may read it");
        }
        String text = new String(bytes, StandardCharsets.UTF_8);
        Arrays.fill(bytes, (byte) 0);
        int eol = text.indexOf('\n');
        return of(source, eol < 0 ? text : text.substring(0, eol));
    }

    /**
     * A secret read from an environment variable of this process (Tomcat's {@code secretEnv}).
     *
     * @throws ConfigurationException when the variable is unset or holds a weak secret
     */
    public static ClusterSecret fromEnvironment(String variable) {
        return fromEnvironment(variable, System.getenv());
    }

    /** As {@link #fromEnvironment(String)}, reading from {@code environment}; for tests and embedding. */
    static ClusterSecret fromEnvironment(String variable, Map<String, String> environment) {
        Objects.requireNonNull(variable, "variable");
        String value = environment.get(variable);
        String source = "secretEnv " + variable;
        if (value == null) {
            throw new ConfigurationException(source + " is invalid: the environment variable is not set");
        }
        return of(source, value);
    }

    private static ClusterSecret of(String source, String value) {
        if (value == null) {
            throw new ConfigurationException(source + " is invalid: no value");
        }
        String v = value.strip();
        if (v.length() < MIN_LENGTH) {
            throw new ConfigurationException(source + " is invalid: the secret has " + v.length()
                    + " characters, at least " + MIN_LENGTH + " are required (e.g. openssl rand -base64 32)");
        }
        long distinct = v.chars().distinct().count();
        if (distinct < MIN_DISTINCT) {
            throw new ConfigurationException(source + " is invalid: the secret has only " + distinct
                    + " distinct characters, at least " + MIN_DISTINCT + " are required: use a random value");
        }
        byte[] bytes = v.getBytes(StandardCharsets.UTF_8);
        try {
            return new ClusterSecret(source, bytes);
        } finally {
            Arrays.fill(bytes, (byte) 0);
        }
    }

    /** Where the secret came from ({@code secretFile /etc/...}, {@code secretEnv NAME}, the attribute). */
    public String source() {
        return source;
    }

    /** A new HMAC-SHA256 keyed with this secret's key for {@code purpose}. */
    public Mac newMac(Purpose purpose) {
        try {
            Mac mac = Mac.getInstance(HMAC);
            mac.init(new SecretKeySpec(keys[purpose.ordinal()], HMAC));
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is missing from this JVM; every Java SE JVM has it", e);
        }
    }

    private static byte[] hmac(byte[] key, byte[] data) {
        try {
            Mac mac = Mac.getInstance(HMAC);
            mac.init(new SecretKeySpec(key, HMAC));
            return mac.doFinal(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is missing from this JVM; every Java SE JVM has it", e);
        }
    }

    /** Never the secret: its source only. */
    @Override
    public String toString() {
        return "ClusterSecret[" + source + ", value hidden]";
    }
}
