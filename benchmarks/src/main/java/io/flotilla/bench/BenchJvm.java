package io.flotilla.bench;

/**
 * JVM options shared by every JMH fork and every receiver JVM a benchmark starts.
 *
 * <p>The machine is shared (2 cores), so heaps stay small. Stock Tribes needs
 * {@code -Djava.net.preferIPv4Stack=true} on this machine to use 127.0.0.1; Flotilla gets the same flag
 * so both sides run under identical conditions.
 *
 * <p>Threading: constants only.
 */
final class BenchJvm {

    /** Maximum heap of a JMH fork (the sending side). */
    static final String FORK_HEAP = "-Xmx1g";

    /** Maximum heap of a receiver JVM. */
    static final String RECEIVER_HEAP = "-Xmx512m";

    /** Tribes binds 127.0.0.1 only with the IPv4 stack preferred. */
    static final String IPV4 = "-Djava.net.preferIPv4Stack=true";

    /** The only address any benchmark binds or connects to. */
    static final String LOOPBACK = "127.0.0.1";

    private BenchJvm() {
    }
}
