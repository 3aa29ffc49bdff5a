package io.flotilla.membership;

import io.flotilla.ConfigurationException;
import io.flotilla.wire.MemberCodec;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Objects;

/**
 * The settings of {@link MulticastMembership}, with the names and defaults of Tomcat's {@code McastService}.
 * The domain and payload are the local member's own ({@link io.flotilla.Member#domain()},
 * {@link io.flotilla.Member#payload()}); the cluster name is the node's.
 *
 * <p>Threading: immutable, safe to share.
 *
 * @param address the IPv4 multicast group (default 228.0.0.4, Tomcat's)
 * @param port the UDP port of the group (default 45564, Tomcat's)
 * @param frequency time between two heartbeats (default 500 ms, Tomcat's)
 * @param dropTime silence after which a member is suspected and verified over TCP (default 3000 ms, Tomcat's);
 *     larger than {@code frequency}
 * @param ttl multicast time-to-live, 0-255 (default 1: the local link; use 0 to keep datagrams on the host)
 * @param bind the network interface to join and send on, as an interface name ({@code lo}, {@code eth0}) or one
 *     of its addresses; empty (the default) picks the interface of the local member's host address
 * @param localLoopbackDisabled true to stop this host's other members from receiving the heartbeats (default
 *     false, Tomcat's): leave it false when several members share a host
 * @param maxDatagramBytes the largest datagram sent or accepted (default 2048: a member of the largest size fits);
 *     512-65507
 * @param connectTimeout how long one TCP verification (connect, handshake, ping) of a suspect may take (default
 *     1500 ms; a newcomer's may take up to {@code dropTime}). Linux retransmits a lost SYN after 1 s (its initial
 *     retransmission timeout), so a timeout of 1 s or less fails the probe on one lost packet; 1.5 s leaves room for
 *     that retransmission and the handshake's round trips. Tomcat's {@code TcpFailureDetector} uses 1000 ms
 * @param probeAttempts how many verifications in a row must fail before a suspect whose heartbeats still arrive
 *     is removed, 1-10 (default 3). Each is a fresh connection, so it restarts the kernel's retransmission at 1 s
 *     instead of waiting for its doubled retry; at 5% packet loss one probe fails about once in a hundred, three in a
 *     row about once in a million. A member whose address refuses the connection fails them all within milliseconds.
 *     One failure suffices for a suspect that was also silent for {@code dropTime} (a hung or cut-off member: UDP and
 *     TCP agree), and an answer from another incarnation at the address removes the suspect at once
 * @param failureDetection the fixed {@code dropTime} rule (default) or phi accrual
 */
public record MulticastMembershipConfig(InetAddress address, int port, Duration frequency, Duration dropTime,
        int ttl, String bind, boolean localLoopbackDisabled, int maxDatagramBytes, Duration connectTimeout,
        int probeAttempts, FailureDetection failureDetection) {

    /** Fixed part of a datagram: magic, version, type, cluster name (length + at most 255 bytes), sequence. */
    static final int HEADER_MAX_BYTES = 4 + 1 + 1 + 1 + 255 + 8;

    public MulticastMembershipConfig {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(frequency, "frequency");
        Objects.requireNonNull(dropTime, "dropTime");
        Objects.requireNonNull(bind, "bind");
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(failureDetection, "failureDetection");
        if (!(address instanceof Inet4Address) || !address.isMulticastAddress()) {
            throw ConfigurationException.invalid("address", address.getHostAddress(),
                    "use an IPv4 multicast group (224.0.0.0-239.255.255.255), e.g. 228.0.0.4");
        }
        if (port < 1 || port > 65535) {
            throw ConfigurationException.invalid("port", port, "use 1-65535, e.g. 45564");
        }
        if (frequency.toMillis() < 10 || frequency.compareTo(Duration.ofMinutes(1)) > 0) {
            throw ConfigurationException.invalid("frequency", frequency, "use 10 ms - 1 min, e.g. 500 ms");
        }
        if (dropTime.compareTo(frequency) <= 0 || dropTime.compareTo(Duration.ofHours(1)) > 0) {
            throw ConfigurationException.invalid("dropTime", dropTime,
                    "use more than frequency (" + frequency.toMillis() + " ms) and at most 1 h, e.g. 3000 ms");
        }
        if (ttl < 0 || ttl > 255) {
            throw ConfigurationException.invalid("ttl", ttl, "use 0-255 (0: this host only, 1: the local link)");
        }
        if (maxDatagramBytes < 512 || maxDatagramBytes > 65507) {
            throw ConfigurationException.invalid("maxDatagramBytes", maxDatagramBytes, "use 512-65507, e.g. 2048");
        }
        if (connectTimeout.toMillis() < 1 || connectTimeout.compareTo(Duration.ofMinutes(1)) > 0) {
            throw ConfigurationException.invalid("connectTimeout", connectTimeout, "use 1 ms - 1 min, e.g. 1500 ms");
        }
        if (probeAttempts < 1 || probeAttempts > 10) {
            throw ConfigurationException.invalid("probeAttempts", probeAttempts, "use 1-10, e.g. 3");
        }
    }

    /** A builder holding the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** Whether a datagram carrying the largest possible member fits in {@link #maxDatagramBytes()}. */
    boolean fitsLargestMember() {
        return HEADER_MAX_BYTES + MemberCodec.MAX_BYTES <= maxDatagramBytes;
    }

    /**
     * Builds a {@link MulticastMembershipConfig}; {@link #build()} checks every value.
     *
     * <p>Threading: not thread-safe; use it on one thread.
     */
    public static final class Builder {
        private InetAddress address = defaultGroup();
        private int port = 45564;
        private Duration frequency = Duration.ofMillis(500);
        private Duration dropTime = Duration.ofMillis(3000);
        private int ttl = 1;
        private String bind = "";
        private boolean localLoopbackDisabled;
        private int maxDatagramBytes = 2048;
        private Duration connectTimeout = Duration.ofMillis(1500);
        private int probeAttempts = 3;
        private FailureDetection failureDetection = FailureDetection.dropTime();

        private Builder() {
        }

        private static InetAddress defaultGroup() {
            try {
                return InetAddress.getByAddress(new byte[] {(byte) 228, 0, 0, 4});
            } catch (UnknownHostException e) {
                throw new AssertionError("a 4-byte address is always valid", e);
            }
        }

        public Builder address(InetAddress value) {
            this.address = value;
            return this;
        }

        /** The group as an IP literal, e.g. {@code 228.0.0.4}; host names are refused (no DNS lookup here). */
        public Builder address(String literal) {
            Objects.requireNonNull(literal, "address");
            if (!literal.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
                throw ConfigurationException.invalid("address", literal, "use an IPv4 literal, e.g. 228.0.0.4");
            }
            try {
                this.address = InetAddress.getByName(literal);
            } catch (UnknownHostException e) {
                throw ConfigurationException.invalid("address", literal, "use an IPv4 literal, e.g. 228.0.0.4");
            }
            return this;
        }

        public Builder port(int value) {
            this.port = value;
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

        public Builder ttl(int value) {
            this.ttl = value;
            return this;
        }

        public Builder bind(String value) {
            this.bind = value;
            return this;
        }

        public Builder localLoopbackDisabled(boolean value) {
            this.localLoopbackDisabled = value;
            return this;
        }

        public Builder maxDatagramBytes(int value) {
            this.maxDatagramBytes = value;
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

        public Builder failureDetection(FailureDetection value) {
            this.failureDetection = value;
            return this;
        }

        public MulticastMembershipConfig build() {
            return new MulticastMembershipConfig(address, port, frequency, dropTime, ttl, bind,
                    localLoopbackDisabled, maxDatagramBytes, connectTimeout, probeAttempts, failureDetection);
        }
    }
}
