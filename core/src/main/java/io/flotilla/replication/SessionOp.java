package io.flotilla.replication;

import java.util.Arrays;
import java.util.Objects;

/**
 * One change to a session. Every operation assigns state (none increments), so applying the coalesced operations
 * of a delta gives the same result as applying the originals one by one.
 *
 * <p>Threading: implementations are immutable (arrays are copied in and out), safe to share.
 */
public sealed interface SessionOp {

    /** The session was created with this metadata and no attributes. Only ever the first operation of a delta. */
    record Create(SessionMetadata metadata) implements SessionOp {
        public Create {
            Objects.requireNonNull(metadata, "metadata");
        }
    }

    /** An attribute was set to a value, encoded by {@link AttributeCodec}. */
    record SetAttribute(String name, byte[] value) implements SessionOp {
        public SetAttribute {
            Objects.requireNonNull(name, "name");
            value = Objects.requireNonNull(value, "value").clone();
        }

        @Override
        public byte[] value() {
            return value.clone();
        }

        byte[] valueUnsafe() {
            return value;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof SetAttribute s && name.equals(s.name) && Arrays.equals(value, s.value);
        }

        @Override
        public int hashCode() {
            return name.hashCode() * 31 + Arrays.hashCode(value);
        }

        @Override
        public String toString() {
            return "SetAttribute[" + name + ", " + value.length + " bytes]";
        }
    }

    /** An attribute was removed. */
    record RemoveAttribute(String name) implements SessionOp {
        public RemoveAttribute {
            Objects.requireNonNull(name, "name");
        }
    }

    /** A request used the session. */
    record Access(long lastAccessedTime, boolean isNew) implements SessionOp {
    }

    /** The max inactive interval changed. */
    record MaxInactive(int seconds) implements SessionOp {
    }

    /** The principal or auth type changed (null for none). */
    record Principal(byte[] principal, byte[] authType) implements SessionOp {
        public Principal {
            principal = principal == null ? null : principal.clone();
            authType = authType == null ? null : authType.clone();
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
        public boolean equals(Object o) {
            return o instanceof Principal p && Arrays.equals(principal, p.principal)
                    && Arrays.equals(authType, p.authType);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(principal) * 31 + Arrays.hashCode(authType);
        }

        @Override
        public String toString() {
            return "Principal[set=" + (principal != null) + "]";
        }
    }

    /** The container's notes changed (null for none). */
    record Notes(byte[] notes) implements SessionOp {
        public Notes {
            notes = notes == null ? null : notes.clone();
        }

        @Override
        public byte[] notes() {
            return notes == null ? null : notes.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Notes n && Arrays.equals(notes, n.notes);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(notes);
        }

        @Override
        public String toString() {
            return "Notes[set=" + (notes != null) + "]";
        }
    }

    /** The session expired or was invalidated. Nothing follows it. */
    record Expire() implements SessionOp {
    }

    /** The session id changed (after authentication, or on failover to another jvmRoute). */
    record ChangeId(String newId) implements SessionOp {
        public ChangeId {
            Objects.requireNonNull(newId, "newId");
        }

        @Override
        public String toString() {
            return "ChangeId[" + SessionRecord.redact(newId) + "]";
        }
    }
}
