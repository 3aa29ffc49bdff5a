package io.flotilla;

import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Random;

/**
 * The 16-byte identity of a member incarnation. A node draws a new random id every time it starts, so a node
 * restarted at the same host and port is a new member.
 *
 * <p>Threading: immutable value, safe to share.
 *
 * @param mostSignificant the first 8 bytes, big-endian
 * @param leastSignificant the last 8 bytes, big-endian
 */
public record MemberId(long mostSignificant, long leastSignificant) implements Comparable<MemberId> {
    /** Length of the id on the wire, in bytes. */
    public static final int BYTES = 16;

    /** A new random id from {@code random}; use {@link #random()} outside tests. */
    static MemberId random(Random random) {
        return new MemberId(random.nextLong(), random.nextLong());
    }

    /** A new random id from a cryptographically strong source. */
    public static MemberId random() {
        return random(Holder.RANDOM);
    }

    /** Parses the 32 hex digits that {@link #toString()} prints. */
    public static MemberId parse(String hex) {
        if (hex == null || hex.length() != 32) {
            throw new IllegalArgumentException("a member id is 32 hex digits, got: " + hex);
        }
        try {
            return new MemberId(HexFormat.fromHexDigitsToLong(hex, 0, 16),
                    HexFormat.fromHexDigitsToLong(hex, 16, 32));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("a member id is 32 hex digits, got: " + hex, e);
        }
    }

    @Override
    public int compareTo(MemberId o) {
        int c = Long.compareUnsigned(mostSignificant, o.mostSignificant);
        return c != 0 ? c : Long.compareUnsigned(leastSignificant, o.leastSignificant);
    }

    // Written out rather than left to the record's generated methods: ids are map keys looked up for every frame
    // received, and these two compile to a few instructions.
    @Override
    public boolean equals(Object o) {
        return o instanceof MemberId m && m.mostSignificant == mostSignificant && m.leastSignificant == leastSignificant;
    }

    @Override
    public int hashCode() {
        return 31 * Long.hashCode(mostSignificant) + Long.hashCode(leastSignificant);
    }

    /** The first 8 hex digits: enough to tell members apart in a log line. */
    public String shortString() {
        return toString().substring(0, 8);
    }

    @Override
    public String toString() {
        HexFormat f = HexFormat.of();
        return f.toHexDigits(mostSignificant) + f.toHexDigits(leastSignificant);
    }

    private static final class Holder {
        static final SecureRandom RANDOM = new SecureRandom();
    }
}
