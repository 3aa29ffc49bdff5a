package io.flotilla.replication;

import io.flotilla.ConfigurationException;
import io.flotilla.Delivery;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;

/**
 * The settings of a {@link ReplicationEngine}: immutable, each field checked once when built. Every default is
 * explained on its builder method.
 *
 * <p>Threading: immutable, safe to share.
 *
 * @param replicationTopic the node topic deltas, full-session requests and ownership announcements travel on
 * @param stateTransferTopic the node topic state transfer travels on (kept apart so a big transfer and the
 *     per-request deltas have separate listeners)
 * @param delivery what {@link ReplicationEngine#replicate} waits for
 * @param placement which members hold a copy of each session
 * @param codec the attribute codec's allowlist and caps
 * @param classLoader the class loader attribute values are decoded with on a replica that takes a session over
 *     (the webapp's)
 * @param mutationDetection whether attributes changed in place are found at replicate time
 * @param onUnserializable what a value that cannot be encoded does
 * @param accessInterval least time between two access-only deltas of one session
 * @param gapTimeout how long a replica waits for a missing delta before it asks the owner for the full session
 * @param departureWait how long a {@code RECEIVED}/{@code PROCESSED} replication whose target stopped answering
 *     waits for that target to leave the view (then it does not count) before the replication fails
 * @param maxBufferedPerSession early deltas a replica keeps per session while a gap is open
 * @param maxBufferedTotal early deltas a replica keeps in all
 * @param maxTombstones expired or renamed ids a replica remembers to refuse their late deltas
 * @param tickInterval how often gaps, repairs and the state transfer's liveness are checked
 * @param expiryInterval how often sessions are checked for expiry
 * @param stateTransferOnStart whether a starting engine asks the oldest other member for all sessions
 * @param stateTransferChunkBytes the most session bytes in one state-transfer message
 * @param stateTransferWindow state-transfer messages in flight to one joiner before the sender waits
 * @param stateTransferTimeout how long a joiner waits for the next chunk before it asks another member
 * @param stateTransferLogEvery sessions between two progress lines of a state transfer
 * @param meterRegistry where the {@code flotilla.replication.*} meters go; null for the node's registry
 * @param namespace which replication stream of the node this engine is: engines with different namespaces share a
 *     node and its topics without seeing each other's messages (a servlet container runs one engine per web
 *     application); empty for the plain stream. Also a {@code namespace} tag on the engine's meters.
 */
public record ReplicationConfig(
        int replicationTopic,
        int stateTransferTopic,
        Delivery delivery,
        Placement placement,
        CodecConfig codec,
        ClassLoader classLoader,
        MutationDetection mutationDetection,
        OnUnserializable onUnserializable,
        Duration accessInterval,
        Duration gapTimeout,
        Duration departureWait,
        int maxBufferedPerSession,
        int maxBufferedTotal,
        int maxTombstones,
        Duration tickInterval,
        Duration expiryInterval,
        boolean stateTransferOnStart,
        int stateTransferChunkBytes,
        int stateTransferWindow,
        Duration stateTransferTimeout,
        int stateTransferLogEvery,
        MeterRegistry meterRegistry,
        String namespace) {

    /** Whether attributes changed without a new {@code setAttribute} are replicated. */
    public enum MutationDetection {
        /** Only attributes set (or removed) during the request replicate. Tomcat's behaviour. */
        OFF,
        /**
         * Attributes whose class is not a known immutable type (String, boxed primitives, BigDecimal, BigInteger,
         * java.time, UUID, enums) are re-encoded at replicate time and replicate when their bytes' hash changed.
         */
        MUTABLE_TYPES,
        /** Every attribute is re-encoded and compared at replicate time. */
        ALWAYS
    }

    /** What a value that the allowlist refuses or Kryo cannot encode does. */
    public enum OnUnserializable {
        /** {@code setAttribute} throws the {@link AttributeCodecException} (it names the attribute, class and fix). */
        FAIL,
        /**
         * The value is kept on the primary but not replicated (replicas drop any older value of that name); a WARN
         * (rate-limited) and the counter {@code flotilla.replication.attributes.skipped} record it.
         */
        SKIP
    }

    public ReplicationConfig {
        checkTopic("replicationTopic", replicationTopic);
        checkTopic("stateTransferTopic", stateTransferTopic);
        if (replicationTopic == stateTransferTopic) {
            throw ConfigurationException.invalid("stateTransferTopic", stateTransferTopic,
                    "a topic other than replicationTopic (" + replicationTopic + ")");
        }
        require("delivery", delivery);
        require("placement", placement);
        require("codec", codec);
        require("classLoader", classLoader);
        require("mutationDetection", mutationDetection);
        require("onUnserializable", onUnserializable);
        if (accessInterval == null || accessInterval.isNegative()) {
            throw ConfigurationException.invalid("accessInterval", accessInterval, "zero (every access) or more");
        }
        checkPositive("gapTimeout", gapTimeout);
        checkPositive("departureWait", departureWait);
        if (maxBufferedPerSession < 1 || maxBufferedPerSession > 1024) {
            throw ConfigurationException.invalid("maxBufferedPerSession", maxBufferedPerSession, "1-1024");
        }
        if (maxBufferedTotal < maxBufferedPerSession) {
            throw ConfigurationException.invalid("maxBufferedTotal", maxBufferedTotal,
                    "at least maxBufferedPerSession (" + maxBufferedPerSession + ")");
        }
        if (maxTombstones < 0 || maxTombstones > 10_000_000) {
            throw ConfigurationException.invalid("maxTombstones", maxTombstones, "0-10000000");
        }
        checkPositive("tickInterval", tickInterval);
        checkPositive("expiryInterval", expiryInterval);
        if (stateTransferChunkBytes < 4096 || stateTransferChunkBytes > (8 << 20)) {
            throw ConfigurationException.invalid("stateTransferChunkBytes", stateTransferChunkBytes,
                    "4096-8388608, well under the node's maxFrameBytes");
        }
        if (stateTransferWindow < 1 || stateTransferWindow > 64) {
            throw ConfigurationException.invalid("stateTransferWindow", stateTransferWindow, "1-64");
        }
        checkPositive("stateTransferTimeout", stateTransferTimeout);
        if (stateTransferLogEvery < 1) {
            throw ConfigurationException.invalid("stateTransferLogEvery", stateTransferLogEvery, "1 or more");
        }
        if (namespace == null || namespace.getBytes(StandardCharsets.UTF_8).length > 255) {
            throw ConfigurationException.invalid("namespace", namespace, "a text of at most 255 UTF-8 bytes");
        }
    }

    private static void checkTopic(String name, int topic) {
        if (topic < 0 || topic > 255) {
            throw ConfigurationException.invalid(name, topic, "0-255");
        }
    }

    private static void require(String name, Object value) {
        if (value == null) {
            throw ConfigurationException.invalid(name, null, "a value (see ReplicationConfig.Builder)");
        }
    }

    private static void checkPositive(String name, Duration d) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw ConfigurationException.invalid(name, d, "a positive duration");
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The defaults, for tests and for applications that need nothing else. */
    public static ReplicationConfig defaults() {
        return builder().build();
    }

    /**
     * Builds a {@link ReplicationConfig}; {@link #build()} checks every field.
     *
     * <p>Threading: not thread-safe; use from one thread.
     */
    public static final class Builder {
        private int replicationTopic = 240;
        private int stateTransferTopic = 241;
        private Delivery delivery = Delivery.ASYNC;
        private Placement placement = Placement.ALL;
        private CodecConfig codec = CodecConfig.defaults();
        private ClassLoader classLoader = ReplicationConfig.class.getClassLoader();
        private MutationDetection mutationDetection = MutationDetection.OFF;
        private OnUnserializable onUnserializable = OnUnserializable.FAIL;
        private Duration accessInterval = Duration.ofSeconds(60);
        private Duration gapTimeout = Duration.ofSeconds(2);
        private Duration departureWait = Duration.ofSeconds(3);
        private int maxBufferedPerSession = 16;
        private int maxBufferedTotal = 100_000;
        private int maxTombstones = 100_000;
        private Duration tickInterval = Duration.ofMillis(500);
        private Duration expiryInterval = Duration.ofSeconds(10);
        private boolean stateTransferOnStart = true;
        private int stateTransferChunkBytes = 256 << 10;
        private int stateTransferWindow = 4;
        private Duration stateTransferTimeout = Duration.ofSeconds(60);
        private int stateTransferLogEvery = 10_000;
        private MeterRegistry meterRegistry;
        private String namespace = "";

        private Builder() {
        }

        /** Default 240: Flotilla's own topics sit at the top of the range, applications start at 0. */
        public Builder replicationTopic(int v) {
            replicationTopic = v;
            return this;
        }

        /** Default 241. */
        public Builder stateTransferTopic(int v) {
            stateTransferTopic = v;
            return this;
        }

        /**
         * Default {@link Delivery#ASYNC}, like Tomcat's default {@code channelSendOptions} 8: the request does not
         * wait for the network. Unlike Tomcat's async mode, one session's deltas still arrive in order and a lost
         * one is repaired with a full session, so ASYNC only gives up telling the caller when a replica has it.
         * Use {@link Delivery#fromTomcatSendOptions} to map Tomcat's values.
         */
        public Builder delivery(Delivery v) {
            delivery = Objects.requireNonNull(v, "delivery");
            return this;
        }

        /** Default {@link Placement#ALL} (every member holds every session, like {@code DeltaManager}). */
        public Builder placement(Placement v) {
            placement = v;
            return this;
        }

        /** Default {@link CodecConfig#defaults()}: JDK value types and collections only. */
        public Builder codec(CodecConfig v) {
            codec = v;
            return this;
        }

        /** Default: Flotilla's own class loader. A servlet container passes the webapp's. */
        public Builder classLoader(ClassLoader v) {
            classLoader = v;
            return this;
        }

        /**
         * Default {@link MutationDetection#OFF}, Tomcat's contract (call {@code setAttribute} again after changing a
         * value): detection re-encodes attributes on every request, a cost that grows with the session.
         */
        public Builder mutationDetection(MutationDetection v) {
            mutationDetection = v;
            return this;
        }

        /** Default {@link OnUnserializable#FAIL}: the application learns at once, not at failover. */
        public Builder onUnserializable(OnUnserializable v) {
            onUnserializable = v;
            return this;
        }

        /**
         * Default 60 s: replicas learn of read-only requests at most once a minute per session (an access is
         * always carried free in a delta that has real changes). Replicas use the last access only to expire a
         * session whose owner is gone, at twice its max inactive interval, so a minute late is harmless.
         */
        public Builder accessInterval(Duration v) {
            accessInterval = v;
            return this;
        }

        /** Default 2 s: longer than the delivery engine needs to retransmit a lost frame a few times. */
        public Builder gapTimeout(Duration v) {
            gapTimeout = v;
            return this;
        }

        /**
         * Default 3 s (Tomcat's sender {@code timeout}): a member that crashed is suspected within milliseconds of
         * its connection breaking and removed once a probe fails, well within this; a member that stays in the view
         * (alive but not answering) still fails the replication.
         */
        public Builder departureWait(Duration v) {
            departureWait = v;
            return this;
        }

        /** Default 16 early deltas per session; more and the replica asks for the full session at once. */
        public Builder maxBufferedPerSession(int v) {
            maxBufferedPerSession = v;
            return this;
        }

        /** Default 100,000 early deltas in all (a bound on memory a faulty sender can take). */
        public Builder maxBufferedTotal(int v) {
            maxBufferedTotal = v;
            return this;
        }

        /** Default 100,000 remembered ids of expired or renamed sessions. */
        public Builder maxTombstones(int v) {
            maxTombstones = v;
            return this;
        }

        /** Default 500 ms: gap checks and repairs are cheap when there is nothing to do. */
        public Builder tickInterval(Duration v) {
            tickInterval = v;
            return this;
        }

        /** Default 10 s: Tomcat checks expiry every 60 s by default; this is finer and still cheap. */
        public Builder expiryInterval(Duration v) {
            expiryInterval = v;
            return this;
        }

        /** Default true: a starting engine asks the oldest other member of its view for every session. */
        public Builder stateTransferOnStart(boolean v) {
            stateTransferOnStart = v;
            return this;
        }

        /** Default 256 KiB: big enough to amortise a message, far below the node's 16 MiB maxFrameBytes. */
        public Builder stateTransferChunkBytes(int v) {
            stateTransferChunkBytes = v;
            return this;
        }

        /** Default 4 chunks (1 MiB) in flight: keeps the pipe full without flooding the joiner. */
        public Builder stateTransferWindow(int v) {
            stateTransferWindow = v;
            return this;
        }

        /** Default 60 s (Tomcat's {@code stateTransferTimeout}), here the longest silence, not the whole transfer. */
        public Builder stateTransferTimeout(Duration v) {
            stateTransferTimeout = v;
            return this;
        }

        /** Default every 10,000 sessions (and at 25 %, 50 %, 75 %). */
        public Builder stateTransferLogEvery(int v) {
            stateTransferLogEvery = v;
            return this;
        }

        /** Default null: the node's registry when it has one, else a private one (never a global one). */
        public Builder meterRegistry(MeterRegistry v) {
            meterRegistry = v;
            return this;
        }

        /**
         * Default empty: the node's plain replication stream. Engines on one node with different namespaces (one
         * per web application) share its topics; each sees only the messages of its own namespace, on every member.
         */
        public Builder namespace(String v) {
            namespace = v;
            return this;
        }

        public ReplicationConfig build() {
            return new ReplicationConfig(replicationTopic, stateTransferTopic, delivery, placement, codec, classLoader,
                    mutationDetection, onUnserializable, accessInterval, gapTimeout, departureWait, maxBufferedPerSession,
                    maxBufferedTotal, maxTombstones, tickInterval, expiryInterval, stateTransferOnStart,
                    stateTransferChunkBytes, stateTransferWindow, stateTransferTimeout, stateTransferLogEvery,
                    meterRegistry, namespace);
        }
    }
}
