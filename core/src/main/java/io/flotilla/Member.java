package io.flotilla;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * One member of a cluster: a node incarnation and where its receiver listens.
 *
 * <p>Equality is by {@link #id()} only: the id names the incarnation, the other fields describe it.
 *
 * <p>Threading: immutable, safe to share. {@link #payload()} returns a copy.
 */
public final class Member {
    /** The largest payload a member may carry; it travels in every heartbeat. */
    public static final int MAX_PAYLOAD_BYTES = 512;
    /** The longest name, host or domain, in UTF-8 bytes. */
    public static final int MAX_TEXT_BYTES = 255;

    private final MemberId id;
    private final String name;
    private final String host;
    private final int port;
    private final String domain;
    private final byte[] payload;
    private final long startTimeMillis;

    /**
     * @param id the incarnation's id
     * @param name a human-readable name (for logs); not required to be unique
     * @param host the receiver's address as text (an IP literal or a host name)
     * @param port the receiver's TCP port (1-65535)
     * @param domain members of different domains ignore each other; empty for none
     * @param payload up to {@link #MAX_PAYLOAD_BYTES} opaque bytes published with the member
     * @param startTimeMillis wall-clock time the incarnation started (for "oldest member" choices and logs)
     * @throws IllegalArgumentException if a field is out of range, naming it
     */
    public Member(MemberId id, String name, String host, int port, String domain, byte[] payload,
            long startTimeMillis) {
        this.id = Objects.requireNonNull(id, "id");
        this.name = checkText("name", name);
        this.host = checkText("host", host);
        this.domain = checkText("domain", domain);
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port=" + port + " is invalid: use 1-65535");
        }
        this.port = port;
        Objects.requireNonNull(payload, "payload");
        if (payload.length > MAX_PAYLOAD_BYTES) {
            throw new IllegalArgumentException(
                    "payload of " + payload.length + " bytes is too large: at most " + MAX_PAYLOAD_BYTES);
        }
        this.payload = payload.clone();
        this.startTimeMillis = startTimeMillis;
    }

    private static String checkText(String field, String value) {
        Objects.requireNonNull(value, field);
        if (value.length() > MAX_TEXT_BYTES
                || value.getBytes(StandardCharsets.UTF_8).length > MAX_TEXT_BYTES) {
            throw new IllegalArgumentException(field + " is longer than " + MAX_TEXT_BYTES + " bytes: " + value);
        }
        return value;
    }

    public MemberId id() {
        return id;
    }

    public String name() {
        return name;
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    public String domain() {
        return domain;
    }

    /** A copy of the member's payload. */
    public byte[] payload() {
        return payload.clone();
    }

    public long startTimeMillis() {
        return startTimeMillis;
    }

    /** The receiver's address (unresolved when {@link #host()} is a name). */
    public InetSocketAddress address() {
        return InetSocketAddress.createUnresolved(host, port);
    }

    /** {@code name@host:port/shortId}, for log lines and error messages. */
    public String describe() {
        return name + "@" + host + ":" + port + "/" + id.shortString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Member m && m.id.equals(id);
    }

    @Override
    public int hashCode() {
        return id.hashCode();
    }

    /** True when every field, not only the id, is equal. */
    public boolean sameDescription(Member m) {
        return id.equals(m.id) && name.equals(m.name) && host.equals(m.host) && port == m.port
                && domain.equals(m.domain) && Arrays.equals(payload, m.payload)
                && startTimeMillis == m.startTimeMillis;
    }

    @Override
    public String toString() {
        return "Member[" + describe() + (domain.isEmpty() ? "" : " domain=" + domain) + "]";
    }
}
