package io.flotilla.replication;

import java.util.Arrays;
import java.util.Objects;

/**
 * What a servlet container keeps about a session besides its attributes. Principal, auth type and the notes FORM
 * authentication needs are opaque bytes: the container adapter encodes them, this layer only carries them.
 *
 * <p>Threading: immutable (arrays are copied in and out), safe to share.
 *
 * @param creationTime wall-clock milliseconds when the session was created
 * @param lastAccessedTime wall-clock milliseconds of the last request that used it
 * @param maxInactiveIntervalSeconds seconds of inactivity before it expires; zero or negative for never
 * @param isNew whether the client has not yet joined the session
 * @param principal the authenticated principal, or null
 * @param authType the authentication type, or null
 * @param notes the container's notes (FORM authentication's saved request and credentials), or null
 */
public record SessionMetadata(long creationTime, long lastAccessedTime, int maxInactiveIntervalSeconds, boolean isNew,
        byte[] principal, byte[] authType, byte[] notes) {

    public SessionMetadata {
        principal = principal == null ? null : principal.clone();
        authType = authType == null ? null : authType.clone();
        notes = notes == null ? null : notes.clone();
    }

    /** A new session's metadata: created and last accessed at {@code now}, new, anonymous. */
    public static SessionMetadata created(long now, int maxInactiveIntervalSeconds) {
        return new SessionMetadata(now, now, maxInactiveIntervalSeconds, true, null, null, null);
    }

    @Override
    public byte[] principal() {
        return principal == null ? null : principal.clone();
    }

    @Override
    public byte[] authType() {
        return authType == null ? null : authType.clone();
    }

    @Override
    public byte[] notes() {
        return notes == null ? null : notes.clone();
    }

    SessionMetadata withAccess(long time, boolean nowNew) {
        return new SessionMetadata(creationTime, time, maxInactiveIntervalSeconds, nowNew, principal, authType, notes);
    }

    SessionMetadata withMaxInactive(int seconds) {
        return new SessionMetadata(creationTime, lastAccessedTime, seconds, isNew, principal, authType, notes);
    }

    SessionMetadata withPrincipal(byte[] p, byte[] a) {
        return new SessionMetadata(creationTime, lastAccessedTime, maxInactiveIntervalSeconds, isNew, p, a, notes);
    }

    SessionMetadata withNotes(byte[] n) {
        return new SessionMetadata(creationTime, lastAccessedTime, maxInactiveIntervalSeconds, isNew, principal,
                authType, n);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SessionMetadata m && creationTime == m.creationTime
                && lastAccessedTime == m.lastAccessedTime && maxInactiveIntervalSeconds == m.maxInactiveIntervalSeconds
                && isNew == m.isNew && Arrays.equals(principal, m.principal) && Arrays.equals(authType, m.authType)
                && Arrays.equals(notes, m.notes);
    }

    @Override
    public int hashCode() {
        return Objects.hash(creationTime, lastAccessedTime, maxInactiveIntervalSeconds, isNew,
                Arrays.hashCode(principal), Arrays.hashCode(authType), Arrays.hashCode(notes));
    }

    @Override
    public String toString() {
        return "SessionMetadata[created=" + creationTime + ", lastAccessed=" + lastAccessedTime + ", maxInactive="
                + maxInactiveIntervalSeconds + "s, new=" + isNew + ", principal=" + (principal != null)
                + ", notes=" + (notes != null) + "]";
    }
}
