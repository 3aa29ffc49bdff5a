package io.flotilla.replication;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The replicated state of one session at one version: id, metadata and attributes as the bytes
 * {@link AttributeCodec} made. Replicas keep the bytes and decode a value only when the session is used there,
 * with the owner's (the webapp's) class loader.
 *
 * <p>Threading: immutable, safe to share. Attribute arrays are never handed out, only copies.
 */
public final class SessionRecord {
    private final String id;
    private final long version;
    private final SessionMetadata metadata;
    private final Map<String, byte[]> attributes;

    /** Copies {@code attributes} (names in iteration order, values as given). */
    public SessionRecord(String id, long version, SessionMetadata metadata, Map<String, byte[]> attributes) {
        this(id, version, metadata, copy(attributes), true);
    }

    private SessionRecord(String id, long version, SessionMetadata metadata, Map<String, byte[]> owned, boolean own) {
        this.id = Objects.requireNonNull(id, "id");
        if (version < 0) {
            throw new IllegalArgumentException("version must be >= 0: " + version);
        }
        this.version = version;
        this.metadata = Objects.requireNonNull(metadata, "metadata");
        this.attributes = own ? Collections.unmodifiableMap(owned) : owned;
    }

    /** Takes ownership of {@code attributes}: the caller must not touch the map or the arrays again. */
    static SessionRecord owning(String id, long version, SessionMetadata metadata, Map<String, byte[]> attributes) {
        return new SessionRecord(id, version, metadata, attributes, true);
    }

    /** A record of {@code base}'s attributes (shared, not copied: records are immutable) at another state. */
    static SessionRecord sharing(String id, long version, SessionMetadata metadata, SessionRecord base) {
        return new SessionRecord(id, version, metadata, base.attributes, false);
    }

    private static Map<String, byte[]> copy(Map<String, byte[]> attributes) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        attributes.forEach((k, v) -> m.put(Objects.requireNonNull(k, "name"), Objects.requireNonNull(v, k).clone()));
        return m;
    }

    public String id() {
        return id;
    }

    /** Grows with every change; a replica applies a delta only to the version the delta is based on. */
    public long version() {
        return version;
    }

    public SessionMetadata metadata() {
        return metadata;
    }

    /** The attribute names. */
    public Set<String> attributeNames() {
        return attributes.keySet();
    }

    /** A copy of the encoded value of {@code name}, or null. */
    public byte[] attributeBytes(String name) {
        byte[] b = attributes.get(name);
        return b == null ? null : b.clone();
    }

    /** Decodes the value of {@code name} with the owner's class loader; null when absent. */
    public Object attribute(String name, AttributeCodec codec, ClassLoader classLoader) {
        byte[] b = attributes.get(name);
        return b == null ? null : codec.decode(name, b, classLoader);
    }

    Map<String, byte[]> attributesUnsafe() {
        return attributes;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof SessionRecord r) || !id.equals(r.id) || version != r.version
                || !metadata.equals(r.metadata) || attributes.size() != r.attributes.size()) {
            return false;
        }
        for (Map.Entry<String, byte[]> e : attributes.entrySet()) {
            if (!Arrays.equals(e.getValue(), r.attributes.get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, version, metadata, attributes.keySet());
    }

    @Override
    public String toString() {
        return "SessionRecord[" + redact(id) + " v" + version + ", " + attributes.size() + " attributes]";
    }

    /** A session id shortened for logs: the whole id would let a log reader hijack the session. */
    static String redact(String id) {
        return id.length() <= 6 ? "…" : id.substring(0, 6) + "…";
    }
}
