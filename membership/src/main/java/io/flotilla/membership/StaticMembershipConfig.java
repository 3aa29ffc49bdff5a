package io.flotilla.membership;

import io.flotilla.ConfigurationException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The settings of {@link StaticMembership}: Tomcat's "TCP/IP" setup, a fixed list of members whose liveness comes
 * from the transport, with no multicast at all.
 *
 * <p>Threading: immutable, safe to share.
 *
 * @param members each {@code host:port} (a member's receiver) or {@code memberIdHex@host:port} (only that
 *     incarnation); the local member's own entry may be listed and is skipped, so every node can share one list
 * @param frequency time between two probes of each address (default 500 ms, like the multicast heartbeat)
 * @param dropTime how long the probes of a member may fail before it is removed (default 3000 ms, Tomcat's
 *     {@code dropTime}); larger than {@code frequency}
 * @param connectTimeout how long one probe (connect, handshake, ping) may take (default 1500 ms: above the 1 s after
 *     which Linux retransmits a lost SYN, so one lost packet does not fail a probe; Tomcat's
 *     {@code TcpFailureDetector} uses 1000 ms); probes of one address never overlap, so it may exceed
 *     {@code frequency}
 * @param probeAttempts how many probes in a row must fail, besides {@code dropTime} without an answer, before a
 *     member is removed, 1-10 (default 3; after a suspicion from the transport, the attempts follow each other at
 *     once). At 5% packet loss one probe fails about once in a hundred, three in a row about once in a million
 */
public record StaticMembershipConfig(List<String> members, Duration frequency, Duration dropTime,
        Duration connectTimeout, int probeAttempts) {
    /** The most addresses a static list may hold. */
    public static final int MAX_MEMBERS = 1024;

    public StaticMembershipConfig {
        Objects.requireNonNull(members, "members");
        Objects.requireNonNull(frequency, "frequency");
        Objects.requireNonNull(dropTime, "dropTime");
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        members = List.copyOf(members);
        if (members.size() > MAX_MEMBERS) {
            throw ConfigurationException.invalid("members", members.size() + " entries", "list at most "
                    + MAX_MEMBERS);
        }
        Set<String> seen = new HashSet<>();
        for (String m : members) {
            StaticAddress a = StaticAddress.parse(m);
            if (!seen.add(a.host() + ":" + a.port())) {
                throw ConfigurationException.invalid("members", m, "each host:port once");
            }
        }
        if (frequency.toMillis() < 10 || frequency.compareTo(Duration.ofMinutes(1)) > 0) {
            throw ConfigurationException.invalid("frequency", frequency, "use 10 ms - 1 min, e.g. 500 ms");
        }
        if (dropTime.compareTo(frequency) <= 0 || dropTime.compareTo(Duration.ofHours(1)) > 0) {
            throw ConfigurationException.invalid("dropTime", dropTime,
                    "use more than frequency (" + frequency.toMillis() + " ms) and at most 1 h, e.g. 3000 ms");
        }
        if (connectTimeout.toMillis() < 1 || connectTimeout.compareTo(Duration.ofMinutes(1)) > 0) {
            throw ConfigurationException.invalid("connectTimeout", connectTimeout, "use 1 ms - 1 min, e.g. 1500 ms");
        }
        if (probeAttempts < 1 || probeAttempts > 10) {
            throw ConfigurationException.invalid("probeAttempts", probeAttempts, "use 1-10, e.g. 3");
        }
    }

    List<StaticAddress> addresses() {
        List<StaticAddress> out = new ArrayList<>(members.size());
        for (String m : members) {
            out.add(StaticAddress.parse(m));
        }
        return out;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Builds a {@link StaticMembershipConfig}; {@link #build()} checks every value.
     *
     * <p>Threading: not thread-safe; use it on one thread.
     */
    public static final class Builder {
        private final List<String> members = new ArrayList<>();
        private Duration frequency = Duration.ofMillis(500);
        private Duration dropTime = Duration.ofMillis(3000);
        private Duration connectTimeout = Duration.ofMillis(1500);
        private int probeAttempts = 3;

        private Builder() {
        }

        /** Adds {@code host:port} or {@code memberIdHex@host:port} entries. */
        public Builder member(String... entries) {
            members.addAll(List.of(entries));
            return this;
        }

        public Builder members(List<String> entries) {
            members.addAll(entries);
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

        public StaticMembershipConfig build() {
            return new StaticMembershipConfig(members, frequency, dropTime, connectTimeout, probeAttempts);
        }
    }
}
