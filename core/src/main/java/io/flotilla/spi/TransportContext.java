package io.flotilla.spi;

import io.flotilla.ClusterSecret;
import io.flotilla.Member;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Optional;
import java.util.concurrent.ThreadFactory;

/**
 * What a {@link Transport} gets from the node when it starts.
 *
 * <p>Threading: immutable; every method is safe from any thread.
 */
public interface TransportContext {
    /** Connections whose handshake names another cluster are refused. */
    String clusterName();

    /** This node's member; the transport sends it in every handshake. */
    Member localMember();

    /** Where inbound frames and connection events go. */
    InboundHandler inbound();

    Clock clock();

    /** Meters go here; names under {@code flotilla.}. */
    MeterRegistry meters();

    /** Named daemon threads for {@code role}: {@code flotilla-<cluster>-<role>-<n>}. */
    ThreadFactory threadFactory(String role);

    /**
     * The cluster secret members prove they know, or empty when none is configured (the network is trusted).
     * Implementations written before it existed have none.
     */
    default Optional<ClusterSecret> secret() {
        return Optional.empty();
    }

    /** Frames larger than this many bytes (header included) are refused before any allocation. */
    int maxFrameBytes();
}
