package io.flotilla.membership;

import io.flotilla.ConfigurationException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * The settings of {@link DnsMembership}: the members are the addresses a DNS name resolves to (a Kubernetes headless
 * Service, a DNS name of cloud VMs), each one a candidate until it answers a probe, with liveness as in
 * {@link StaticMembership}.
 *
 * <p>Threading: immutable, safe to share.
 *
 * @param name the DNS name to resolve, e.g. {@code tomcat.shop.svc.cluster.local} (A/AAAA) or
 *     {@code _flotilla._tcp.tomcat.shop.svc.cluster.local} (SRV)
 * @param recordType {@link RecordType#A} (A and AAAA records, every member on {@code port}) or {@link RecordType#SRV}
 *     (the records give each member's port)
 * @param port the members' receiver port with {@link RecordType#A}, 1-65535; 0 with {@link RecordType#SRV}
 * @param server the DNS server to ask, {@code host} or {@code host:port} ({@code [v6]:port}); empty (the default)
 *     for the system's resolver (see {@link DnsMembership} for what that means for caching)
 * @param resolveInterval time between two lookups (default 10 x {@code frequency}: 5 s, as stock Tomcat's cloud
 *     membership polls), 100 ms - 10 min
 * @param lookupTimeout how long one lookup may wait for the server (default 2 s), 10 ms - 1 min
 * @param frequency time between two probes of each member (default 500 ms, as {@link StaticMembershipConfig})
 * @param dropTime how long the probes of a member may fail before it is removed (default 3000 ms)
 * @param connectTimeout how long one probe may take (default 1500 ms)
 * @param probeAttempts failed probes in a row before a member is removed, 1-10 (default 3)
 */
public record DnsMembershipConfig(String name, RecordType recordType, int port, String server,
        Duration resolveInterval, Duration lookupTimeout, Duration frequency, Duration dropTime,
        Duration connectTimeout, int probeAttempts) {

    /** Which records name the members. */
    public enum RecordType {
        /** A and AAAA records: one address per member, every member's receiver on the configured port. */
        A,
        /** SRV records: a target host and a port per member (the targets' A/AAAA records give the addresses). */
        SRV;

        /** {@code A} (or {@code AAAA}) or {@code SRV}, in any case. */
        public static RecordType parse(String text) {
            String t = text == null ? "" : text.trim().toUpperCase(Locale.ROOT);
            return switch (t) {
                case "A", "AAAA" -> A;
                case "SRV" -> SRV;
                default -> throw ConfigurationException.invalid("recordType", text, "A or SRV");
            };
        }
    }

    public DnsMembershipConfig {
        Objects.requireNonNull(recordType, "recordType");
        Objects.requireNonNull(lookupTimeout, "lookupTimeout");
        name = name == null ? "" : name.trim();
        server = server == null ? "" : server.trim();
        if (name.isEmpty() || name.length() > 253 || !name.matches("[A-Za-z0-9_.-]+")) {
            throw ConfigurationException.invalid("name", name, "a DNS name of at most 253 letters, digits, '-', '_' "
                    + "and '.', e.g. tomcat.shop.svc.cluster.local");
        }
        if (recordType == RecordType.SRV && port != 0) {
            throw ConfigurationException.invalid("port", port, "leave it unset with recordType=SRV: the records "
                    + "give each member's port");
        }
        if (recordType == RecordType.A && (port < 1 || port > 65535)) {
            throw ConfigurationException.invalid("port", port, "the members' receiver port, 1-65535, with "
                    + "recordType=A");
        }
        if (!server.isEmpty()) {
            serverAddress(server);
        }
        // the probing settings are checked as the static membership's, with the same names
        StaticMembershipConfig probing = new StaticMembershipConfig(List.of(), frequency, dropTime, connectTimeout,
                probeAttempts);
        if (resolveInterval == null) {
            resolveInterval = probing.frequency().multipliedBy(10);
        }
        if (resolveInterval.toMillis() < 100 || resolveInterval.compareTo(Duration.ofMinutes(10)) > 0) {
            throw ConfigurationException.invalid("resolveInterval", resolveInterval, "use 100 ms - 10 min, e.g. 5 s");
        }
        if (lookupTimeout.toMillis() < 10 || lookupTimeout.compareTo(Duration.ofMinutes(1)) > 0) {
            throw ConfigurationException.invalid("lookupTimeout", lookupTimeout, "use 10 ms - 1 min, e.g. 2 s");
        }
    }

    /** The probing half: no fixed addresses, the lookups supply them. */
    StaticMembershipConfig probing() {
        return new StaticMembershipConfig(List.of(), frequency, dropTime, connectTimeout, probeAttempts);
    }

    /** {@link #server} as an address, port 53 when none is given; null for the system's resolver. */
    StaticAddress serverAddress() {
        return server.isEmpty() ? null : serverAddress(server);
    }

    private static StaticAddress serverAddress(String server) {
        long colons = server.chars().filter(c -> c == ':').count();
        String withPort = server.endsWith("]") ? server + ":53" // [v6]
                : colons > 1 && !server.startsWith("[") ? "[" + server + "]:53" // a bare v6 literal
                : colons == 0 ? server + ":53" : server;
        try {
            return StaticAddress.parse(withPort);
        } catch (ConfigurationException e) {
            throw ConfigurationException.invalid("server", server, "a DNS server as host or host:port, e.g. "
                    + "10.96.0.10 or 127.0.0.1:5353, or empty for the system's resolver");
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Builds a {@link DnsMembershipConfig}; {@link #build()} checks every value.
     *
     * <p>Threading: not thread-safe; use it on one thread.
     */
    public static final class Builder {
        private String name = "";
        private RecordType recordType = RecordType.A;
        private int port;
        private String server = "";
        private Duration resolveInterval;
        private Duration lookupTimeout = Duration.ofSeconds(2);
        private Duration frequency = Duration.ofMillis(500);
        private Duration dropTime = Duration.ofMillis(3000);
        private Duration connectTimeout = Duration.ofMillis(1500);
        private int probeAttempts = 3;

        private Builder() {
        }

        /** The name whose A/AAAA records list the members, each on {@code port}. */
        public Builder addresses(String dnsName, int membersPort) {
            this.name = dnsName;
            this.recordType = RecordType.A;
            this.port = membersPort;
            return this;
        }

        /** The name whose SRV records list the members with their ports. */
        public Builder srv(String dnsName) {
            this.name = dnsName;
            this.recordType = RecordType.SRV;
            this.port = 0;
            return this;
        }

        public Builder server(String value) {
            this.server = value;
            return this;
        }

        public Builder resolveInterval(Duration value) {
            this.resolveInterval = value;
            return this;
        }

        public Builder lookupTimeout(Duration value) {
            this.lookupTimeout = value;
            return this;
        }

        public Builder frequency(Duration value) {
            this.frequency = value;
            return this;
        }

        public Builder dropTime(Duration value) {
            this.dropTime = value;
            return this;
        }

        public Builder connectTimeout(Duration value) {
            this.connectTimeout = value;
            return this;
        }

        public Builder probeAttempts(int value) {
            this.probeAttempts = value;
            return this;
        }

        public DnsMembershipConfig build() {
            return new DnsMembershipConfig(name, recordType, port, server, resolveInterval, lookupTimeout, frequency,
                    dropTime, connectTimeout, probeAttempts);
        }
    }
}
