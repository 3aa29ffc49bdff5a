package io.flotilla.transport.netty;

import io.flotilla.ConfigurationException;
import java.time.Duration;
import java.util.Objects;

/**
 * The settings of a {@link NettyTransport}, with the attribute names Tomcat's {@code Receiver} and {@code Sender}
 * elements use. Every value is checked once, when the record is built; the message names the attribute, the value
 * and what is allowed.
 *
 * <p>Threading: immutable, safe to share. The {@link Builder} is not thread-safe.
 *
 * @param address where the receiver listens: an IP literal, a host name, or {@code auto}
 * @param port the first port the receiver tries; 0 lets the system pick a free one
 * @param autoBind how many ports after {@code port} are tried when it is taken
 * @param poolSize connections kept open per member
 * @param connectTimeout how long a connect may take before it fails
 * @param handshakeTimeout how long a connection may take to complete its handshake before it is closed
 * @param ioThreads the event-loop threads that do all socket I/O and framing
 * @param maxConnectionsPerAddress inbound connections allowed at once from one remote IP address
 * @param nativeTransport use Linux epoll when it is available (default false). With NIO, the default, a thread
 *     that sends a frame a sender waits for (a {@code RECEIVED} or {@code PROCESSED} message, its result) writes it
 *     to the socket itself when the connection is idle, which makes a synchronous round trip about a quarter
 *     shorter; Netty's epoll channels cannot be written that way safely, and their asynchronous throughput was the
 *     same on loopback
 * @param selectorTimeout Tomcat's {@code selectorTimeout}; accepted for compatibility, has no effect
 * @param sendQueueFrames frames that may wait on one connection for the event loop (and, while it connects, for
 *     its handshake); more are dropped and counted
 * @param writeBufferLowWaterMark bytes below which a connection that stopped writing becomes writable again
 * @param writeBufferHighWaterMark bytes written but not yet on the socket above which a connection stops taking
 *     frames from its queue
 * @param idleTimeout how long a handshaken connection may receive no whole frame before it is closed (a frame
 *     trickled byte by byte counts as nothing, so every frame must arrive within it); the connecting side sends a
 *     keepalive {@code PING} after a third of it, so a live peer never hits it
 * @param tls mutual TLS on every connection, or null for plain TCP
 * @param lanes lanes kept per member for synchronous sends (0, the default: none; see {@link Builder#lanes})
 * @param ioSpin how long an event loop polls its sockets before it blocks (see {@link Builder#ioSpin})
 */
public record NettyTransportConfig(
        String address,
        int port,
        int autoBind,
        int poolSize,
        Duration connectTimeout,
        Duration handshakeTimeout,
        int ioThreads,
        int maxConnectionsPerAddress,
        boolean nativeTransport,
        Duration selectorTimeout,
        int sendQueueFrames,
        int writeBufferLowWaterMark,
        int writeBufferHighWaterMark,
        Duration idleTimeout,
        TransportTls tls,
        int lanes,
        Duration ioSpin) {

    /** The longest {@link #ioSpin}: longer than any round trip the spin could catch, it only burns a core. */
    public static final Duration MAX_IO_SPIN = Duration.ofMillis(1);

    /** The value of {@link #address()} that picks the first non-loopback IPv4 address of an up interface. */
    public static final String AUTO = "auto";

    public NettyTransportConfig {
        if (address == null || address.isBlank()) {
            throw ConfigurationException.invalid("address", address, "an IP address, a host name or \"auto\"");
        }
        if (port < 0 || port > 65535) {
            throw ConfigurationException.invalid("port", port, "0-65535 (0 picks a free port)");
        }
        if (autoBind < 0 || autoBind > 65535) {
            throw ConfigurationException.invalid("autoBind", autoBind, "0-65535");
        }
        if (port != 0 && port + autoBind > 65535) {
            throw ConfigurationException.invalid("autoBind", autoBind,
                    "port + autoBind must stay within 65535 (port=" + port + ")");
        }
        if (poolSize < 1 || poolSize > 64) {
            throw ConfigurationException.invalid("poolSize", poolSize, "1-64");
        }
        checkPositive("connectTimeout", connectTimeout, Duration.ofMinutes(10));
        checkPositive("handshakeTimeout", handshakeTimeout, Duration.ofMinutes(10));
        checkPositive("idleTimeout", idleTimeout, Duration.ofHours(1));
        if (idleTimeout.compareTo(Duration.ofMillis(30)) < 0) {
            throw ConfigurationException.invalid("idleTimeout", idleTimeout, "at least 30 ms (keepalives go every third)");
        }
        if (ioThreads < 1 || ioThreads > 1024) {
            throw ConfigurationException.invalid("ioThreads", ioThreads, "1-1024");
        }
        if (maxConnectionsPerAddress < 1 || maxConnectionsPerAddress > 65535) {
            throw ConfigurationException.invalid("maxConnectionsPerAddress", maxConnectionsPerAddress, "1-65535");
        }
        Objects.requireNonNull(selectorTimeout, "selectorTimeout");
        if (selectorTimeout.isNegative()) {
            throw ConfigurationException.invalid("selectorTimeout", selectorTimeout, "zero or more");
        }
        if (sendQueueFrames < 16 || sendQueueFrames > (1 << 24)) {
            throw ConfigurationException.invalid("sendQueueFrames", sendQueueFrames, "16-16777216");
        }
        if (writeBufferLowWaterMark < 1) {
            throw ConfigurationException.invalid("writeBufferLowWaterMark", writeBufferLowWaterMark, "1 or more");
        }
        if (writeBufferHighWaterMark < writeBufferLowWaterMark) {
            throw ConfigurationException.invalid("writeBufferHighWaterMark", writeBufferHighWaterMark,
                    "at least writeBufferLowWaterMark (" + writeBufferLowWaterMark + ")");
        }
        if (lanes < 0 || lanes > 64) {
            throw ConfigurationException.invalid("lanes", lanes, "0-64 (0: no lanes)");
        }
        if (ioSpin == null || ioSpin.isNegative() || ioSpin.compareTo(MAX_IO_SPIN) > 0) {
            throw ConfigurationException.invalid("ioSpin", ioSpin, "a duration from 0 to " + MAX_IO_SPIN.toNanos() / 1000
                    + " us (0: block at once)");
        }
        if (lanes + poolSize + 1 > maxConnectionsPerAddress) {
            throw ConfigurationException.invalid("lanes", lanes, "at most maxConnectionsPerAddress - poolSize - 1 ("
                    + (maxConnectionsPerAddress - poolSize - 1) + "): every member opens poolSize connections, its "
                    + "lanes and the odd probe to this one; raise maxConnectionsPerAddress on every member");
        }
    }

    private static void checkPositive(String attribute, Duration d, Duration max) {
        if (d == null || d.isNegative() || d.isZero() || d.compareTo(max) > 0) {
            throw ConfigurationException.invalid(attribute, d, "more than 0 and at most " + max);
        }
    }

    /** A builder with every default set. */
    public static Builder builder() {
        return new Builder();
    }

    /** The defaults: {@code builder().build()}. */
    public static NettyTransportConfig defaults() {
        return builder().build();
    }

    /**
     * Builds a {@link NettyTransportConfig}. Nothing is checked until {@link #build()}.
     *
     * <p>Threading: not thread-safe; use from one thread.
     */
    public static final class Builder {
        private String address = AUTO;
        private int port = 4000;
        private int autoBind = 100;
        private int poolSize = 2;
        private Duration connectTimeout = Duration.ofSeconds(1);
        private Duration handshakeTimeout = Duration.ofSeconds(5);
        private int ioThreads = Runtime.getRuntime().availableProcessors();
        private int maxConnectionsPerAddress = 64;
        private boolean nativeTransport = false;
        private Duration selectorTimeout = Duration.ofMillis(5000);
        private int sendQueueFrames = 65_536;
        private int writeBufferLowWaterMark = 1 << 20;
        private int writeBufferHighWaterMark = 4 << 20;
        private Duration idleTimeout = Duration.ofSeconds(60);
        private int lanes;
        private Duration ioSpin = Duration.ofNanos(50_000);
        private TransportTls tls;

        private Builder() {
        }

        /**
         * Default {@code auto}: the first non-loopback IPv4 address of an interface that is up, or 127.0.0.1
         * when there is none (Tomcat's {@code auto}). Tests and single-host demos use {@code 127.0.0.1}.
         */
        public Builder address(String v) {
            address = v;
            return this;
        }

        /** Default 4000, Tomcat's receiver port. 0 lets the system pick a free port. */
        public Builder port(int v) {
            port = v;
            return this;
        }

        /** Default 100 (Tomcat's): when {@code port} is taken, ports up to {@code port + autoBind} are tried. */
        public Builder autoBind(int v) {
            autoBind = v;
            return this;
        }

        /**
         * Default 2: connections per member. One sending thread always uses the same connection (its frames stay
         * in order); different threads spread over the pool and write in parallel.
         */
        public Builder poolSize(int v) {
            poolSize = v;
            return this;
        }

        /** Default 1 s: ample on a LAN; a longer wait only delays the report that a member cannot be reached. */
        public Builder connectTimeout(Duration v) {
            connectTimeout = v;
            return this;
        }

        /**
         * Default 5 s: a connection that has not completed its handshake by then is closed and counted, so idle
         * or stalled sockets cannot pile up on the receiver.
         */
        public Builder handshakeTimeout(Duration v) {
            handshakeTimeout = v;
            return this;
        }

        /**
         * Default: the number of processors. Event loops only frame and copy bytes; more threads than cores
         * only add context switches.
         */
        public Builder ioThreads(int v) {
            ioThreads = v;
            return this;
        }

        /**
         * Default 64: inbound connections at once from one IP address. A cluster member needs
         * {@code poolSize} plus the odd probe; the cap stops one host from exhausting the receiver.
         */
        public Builder maxConnectionsPerAddress(int v) {
            maxConnectionsPerAddress = v;
            return this;
        }

        /** Default true: epoll where {@code Epoll.isAvailable()} (Linux), NIO otherwise or when false. */
        public Builder nativeTransport(boolean v) {
            nativeTransport = v;
            return this;
        }

        /**
         * Default 5000 ms (Tomcat's). Accepted so existing configurations keep working; it has no effect: Netty's
         * event loops wake up on I/O and on scheduled tasks, not on a selector timeout.
         */
        public Builder selectorTimeout(Duration v) {
            selectorTimeout = v;
            return this;
        }

        /**
         * Default 65,536 frames (the node's default {@code maxQueuedMessages}): frames waiting on one connection
         * for its event loop or its handshake. The engine bounds what it queues itself; this cap only guards
         * memory when a connection stops draining. Frames over it are dropped and counted, and the engine sends
         * them again.
         */
        public Builder sendQueueFrames(int v) {
            sendQueueFrames = v;
            return this;
        }

        /** Default 1 MiB: a connection that stopped taking frames resumes when its unsent bytes fall below. */
        public Builder writeBufferLowWaterMark(int v) {
            writeBufferLowWaterMark = v;
            return this;
        }

        /**
         * Default 4 MiB: when a connection has this many bytes written but not yet taken by the socket, it stops
         * taking frames from its queue until it falls below the low water mark. Large enough to keep a 10 GbE
         * link busy between flushes, small enough to bound memory per connection.
         */
        public Builder writeBufferHighWaterMark(int v) {
            writeBufferHighWaterMark = v;
            return this;
        }

        /**
         * Default 60 s: a handshaken connection that receives no whole frame for this long is closed and counted
         * ({@code idle_timeout}, or {@code truncated} in the middle of a frame), so a peer cannot hold sockets and
         * buffers open by going silent or by trickling a frame a byte at a time. The connecting side sends a keepalive {@code PING} on a connection idle for
         * a third of it (one 22-byte frame per 20 s), so live members never reach it; a connection paused by
         * back-pressure is not idle.
         */
        public Builder idleTimeout(Duration v) {
            idleTimeout = v;
            return this;
        }

        /**
         * Default null: plain TCP. With {@link TransportTls#pkcs12} or {@link TransportTls#pem}, every connection
         * (probes too) runs mutual TLS 1.3 and a peer whose certificate the truststore does not trust is refused
         * before it sends a byte of Flotilla's protocol. It adds to a cluster secret, it does not replace it for
         * heartbeats.
         */
        public Builder tls(TransportTls v) {
            tls = v;
            return this;
        }

        /**
         * Default 0: no lanes. With N, a thread that sends a {@code RECEIVED} or {@code PROCESSED} message to one
         * member and waits for it ({@code get()}/{@code join()} on the stage) writes it on a lane, a connection of
         * its own for the exchange, and reads the answer itself: one thread woken on this side per round trip, as
         * with stock's pooled sender, instead of the I/O thread and then the waiting thread (a {@code RECEIVED}
         * message only while no other thread waits: several are acknowledged together on the pooled connections,
         * which costs less). Messages up to 16 KiB. Up to N lanes per
         * member, opened on demand by the sending thread (bounded by connectTimeout and handshakeTimeout), kept
         * while in use and closed after a third of idleTimeout unused; the member's peer must know lanes (an older
         * one is used the pooled way). Not with TLS. A caller that does not block on the stage should use {@code
         * sendQueued}: a lane's answer is otherwise read by a lane thread, as late as the node's next timer tick
         * when the caller neither waits nor attaches a dependent.
         */
        public Builder lanes(int v) {
            lanes = v;
            return this;
        }

        /**
         * Default 50 us: after it has handled its sockets and tasks, an event loop keeps polling them (a
         * non-blocking select, yielding the CPU between polls) for this long before it blocks in the selector. A
         * frame that arrives meanwhile is read without the loop being woken, which on virtual machines whose idle
         * CPUs are halted costs tens of microseconds per wake-up (1 thread synchronous round trip p50 0.38-0.42x
         * at 50 us on a 2-core VM). The spin adapts: after 8 spins in a row found nothing, the loop blocks
         * at once for its next 64 waits. 0 blocks at once (the polls count against a CPU quota); at most 1 ms.
         */
        public Builder ioSpin(Duration v) {
            ioSpin = v;
            return this;
        }

        /** @throws ConfigurationException naming the first attribute that is out of range */
        public NettyTransportConfig build() {
            return new NettyTransportConfig(address, port, autoBind, poolSize, connectTimeout, handshakeTimeout,
                    ioThreads, maxConnectionsPerAddress, nativeTransport, selectorTimeout, sendQueueFrames,
                    writeBufferLowWaterMark, writeBufferHighWaterMark, idleTimeout, tls, lanes, ioSpin);
        }
    }
}
