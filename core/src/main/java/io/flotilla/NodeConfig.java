package io.flotilla;

import io.micrometer.core.instrument.MeterRegistry;
import io.flotilla.wire.FrameCodec;
import java.time.Duration;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The settings of a {@link Node}, immutable and checked once: the compact constructor refuses a bad value with a
 * {@link ConfigurationException} that names the attribute, the value and what is allowed. Build one with
 * {@link #builder()}; every default is explained on the builder's setter.
 *
 * <p>Threading: immutable, safe to share.
 *
 * @param clusterName nodes of different clusters refuse each other's connections
 * @param memberName a human-readable name for logs; empty means {@code host:port}
 * @param domain members of different domains ignore each other; empty for none
 * @param memberPayload small opaque bytes published with the local member
 * @param timeout how long a {@link Delivery#RECEIVED} or {@link Delivery#PROCESSED} send waits for each target,
 *     and how long a send waits for room in a full queue
 * @param maxRetryAttempts how many times a message is sent again after a connection failure before it fails
 * @param maxQueuedMessages per target member: messages sent and not yet acknowledged
 * @param maxQueuedBytes per target member: payload bytes sent and not yet acknowledged
 * @param maxFrameBytes the largest frame accepted or sent, header included
 * @param maxReceiveBufferBytes per sending member: payload bytes received and not yet delivered to listeners
 *     before reading from it pauses (back-pressure)
 * @param deliveryThreads threads that run message listeners
 * @param waitSpin how long a thread waiting for a {@link Delivery#RECEIVED} or {@link Delivery#PROCESSED} send
 *     spins before it parks, while it is the only thread of its JVM waiting (a parked thread is woken by another, a
 *     context switch on each round trip); {@link Duration#ZERO} never spins
 * @param meterRegistry where the node's meters go; null for a private registry (never a global one)
 * @param secret the cluster secret every member must prove it knows (heartbeat tags, connection handshakes); null
 *     for none, in which case the node trusts its network (see {@code docs/security.md})
 */
public record NodeConfig(
        String clusterName,
        String memberName,
        String domain,
        byte[] memberPayload,
        Duration timeout,
        int maxRetryAttempts,
        int maxQueuedMessages,
        long maxQueuedBytes,
        int maxFrameBytes,
        long maxReceiveBufferBytes,
        int deliveryThreads,
        Duration waitSpin,
        MeterRegistry meterRegistry,
        ClusterSecret secret) {

    /** The longest {@link #waitSpin}: longer than a round trip on any network, the spin only burns a core. */
    public static final Duration MAX_WAIT_SPIN = Duration.ofMillis(1);
    private static final Pattern CLUSTER_NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    public NodeConfig {
        if (clusterName == null || !CLUSTER_NAME.matcher(clusterName).matches()) {
            throw ConfigurationException.invalid("clusterName", clusterName,
                    "use 1-64 characters of letters, digits, '.', '_' or '-'");
        }
        Objects.requireNonNull(memberName, "memberName");
        if (memberName.length() > Member.MAX_TEXT_BYTES) {
            throw ConfigurationException.invalid("memberName", memberName, "at most 255 characters");
        }
        Objects.requireNonNull(domain, "domain");
        if (domain.length() > Member.MAX_TEXT_BYTES) {
            throw ConfigurationException.invalid("domain", domain, "at most 255 characters");
        }
        memberPayload = memberPayload == null ? new byte[0] : memberPayload.clone();
        if (memberPayload.length > Member.MAX_PAYLOAD_BYTES) {
            throw ConfigurationException.invalid("memberPayload", memberPayload.length + " bytes",
                    "at most " + Member.MAX_PAYLOAD_BYTES + " bytes");
        }
        if (timeout == null || timeout.isNegative() || timeout.isZero() || timeout.compareTo(Duration.ofHours(1)) > 0) {
            throw ConfigurationException.invalid("timeout", timeout, "a duration above 0 and at most 1 hour");
        }
        if (maxRetryAttempts < 0 || maxRetryAttempts > 100) {
            throw ConfigurationException.invalid("maxRetryAttempts", maxRetryAttempts, "0-100");
        }
        if (maxQueuedMessages < 1 || maxQueuedMessages > (1 << 30)) {
            throw ConfigurationException.invalid("maxQueuedMessages", maxQueuedMessages, "1-" + (1 << 30));
        }
        if (maxFrameBytes < FrameCodec.MIN_MAX_FRAME_BYTES || maxFrameBytes > (1 << 30)) {
            throw ConfigurationException.invalid("maxFrameBytes", maxFrameBytes,
                    FrameCodec.MIN_MAX_FRAME_BYTES + "-" + (1 << 30));
        }
        if (maxQueuedBytes < maxFrameBytes) {
            throw ConfigurationException.invalid("maxQueuedBytes", maxQueuedBytes,
                    "at least maxFrameBytes (" + maxFrameBytes + ") so the largest message fits");
        }
        if (maxReceiveBufferBytes < maxFrameBytes) {
            throw ConfigurationException.invalid("maxReceiveBufferBytes", maxReceiveBufferBytes,
                    "at least maxFrameBytes (" + maxFrameBytes + ") so the largest message fits");
        }
        if (deliveryThreads < 1 || deliveryThreads > 256) {
            throw ConfigurationException.invalid("deliveryThreads", deliveryThreads, "1-256");
        }
        if (waitSpin == null || waitSpin.isNegative() || waitSpin.compareTo(MAX_WAIT_SPIN) > 0) {
            throw ConfigurationException.invalid("waitSpin", waitSpin, "a duration from 0 to " + MAX_WAIT_SPIN.toNanos()
                    / 1000 + " microseconds");
        }
    }

    @Override
    public byte[] memberPayload() {
        return memberPayload.clone();
    }

    /** A builder with every default set. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from this config's values. */
    public Builder toBuilder() {
        return new Builder().clusterName(clusterName).memberName(memberName).domain(domain)
                .memberPayload(memberPayload).timeout(timeout).maxRetryAttempts(maxRetryAttempts)
                .maxQueuedMessages(maxQueuedMessages).maxQueuedBytes(maxQueuedBytes).maxFrameBytes(maxFrameBytes)
                .maxReceiveBufferBytes(maxReceiveBufferBytes).deliveryThreads(deliveryThreads)
                .waitSpin(waitSpin).meterRegistry(meterRegistry).secret(secret);
    }

    /**
     * Builds a {@link NodeConfig}. Nothing is checked until {@link #build()}.
     *
     * <p>Threading: not thread-safe; use from one thread.
     */
    public static final class Builder {
        private String clusterName = "flotilla";
        private String memberName = "";
        private String domain = "";
        private byte[] memberPayload = new byte[0];
        private Duration timeout = Duration.ofSeconds(3);
        private int maxRetryAttempts = 1;
        private int maxQueuedMessages = 65_536;
        private long maxQueuedBytes = 64L << 20;
        private int maxFrameBytes = 16 << 20;
        private long maxReceiveBufferBytes = 64L << 20;
        private int deliveryThreads = Math.max(2, Runtime.getRuntime().availableProcessors());
        private Duration waitSpin = Duration.ofNanos(20_000);
        private MeterRegistry meterRegistry;
        private ClusterSecret secret;

        private Builder() {
        }

        /** Default {@code flotilla}. Nodes only talk to nodes of the same cluster name. */
        public Builder clusterName(String v) {
            clusterName = v;
            return this;
        }

        /** Default empty: the node is named after its receiver's {@code host:port}. */
        public Builder memberName(String v) {
            memberName = v;
            return this;
        }

        /** Default empty (no domain), as Tomcat's {@code domain}. */
        public Builder domain(String v) {
            domain = v;
            return this;
        }

        /** Default empty. At most {@link Member#MAX_PAYLOAD_BYTES}. */
        public Builder memberPayload(byte[] v) {
            memberPayload = v;
            return this;
        }

        /** Default 3 s, Tomcat's sender {@code timeout}. */
        public Builder timeout(Duration v) {
            timeout = v;
            return this;
        }

        /** Default 1, Tomcat's {@code maxRetryAttempts}. */
        public Builder maxRetryAttempts(int v) {
            maxRetryAttempts = v;
            return this;
        }

        /** Default 65,536 unacknowledged messages per target: ample for pipelining, bounded memory. */
        public Builder maxQueuedMessages(int v) {
            maxQueuedMessages = v;
            return this;
        }

        /** Default 64 MiB of unacknowledged payload per target. */
        public Builder maxQueuedBytes(long v) {
            maxQueuedBytes = v;
            return this;
        }

        /** Default 16 MiB: room for large sessions; state transfer sends bounded chunks well below it. */
        public Builder maxFrameBytes(int v) {
            maxFrameBytes = v;
            return this;
        }

        /** Default 64 MiB of received, undelivered payload per sender before reading pauses. */
        public Builder maxReceiveBufferBytes(long v) {
            maxReceiveBufferBytes = v;
            return this;
        }

        /** Default: the number of cores, at least 2. */
        public Builder deliveryThreads(int v) {
            deliveryThreads = v;
            return this;
        }

        /**
         * Default 20 microseconds: about a loopback round trip, so a lone waiting thread usually sees its answer
         * without being parked and woken (measured: 1-thread {@code PROCESSED} p50 0.65x). It spins only while it is
         * the only thread of its JVM waiting for a send, and stops spinning for a while after an answer took longer,
         * so a busy node does not spin. {@link Duration#ZERO} never spins (a machine whose cores are all busy with
         * other work). At most {@link #MAX_WAIT_SPIN}.
         */
        public Builder waitSpin(Duration v) {
            waitSpin = v;
            return this;
        }

        /** Default null: a private {@code SimpleMeterRegistry}. */
        public Builder meterRegistry(MeterRegistry v) {
            meterRegistry = v;
            return this;
        }

        /**
         * Default null: no secret, the node trusts every host that can reach its ports and its multicast group, and
         * says so in a WARN line at start. Set one with {@link ClusterSecret#fromFile},
         * {@link ClusterSecret#fromEnvironment} or {@link ClusterSecret#fromString}; every member needs the same.
         */
        public Builder secret(ClusterSecret v) {
            secret = v;
            return this;
        }

        /** @throws ConfigurationException naming the first bad attribute */
        public NodeConfig build() {
            return new NodeConfig(clusterName, memberName, domain, memberPayload, timeout, maxRetryAttempts,
                    maxQueuedMessages, maxQueuedBytes, maxFrameBytes, maxReceiveBufferBytes, deliveryThreads,
                    waitSpin, meterRegistry, secret);
        }
    }
}
