package io.flotilla.spi;

import io.flotilla.ClusterSecret;
import io.flotilla.Member;
import io.flotilla.MembershipEvent;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadFactory;

/**
 * What a {@link MembershipService} gets from the node when it starts.
 *
 * <p>Threading: every method is safe from any thread.
 */
public interface MembershipContext {
    /** This node's member: the service announces it. */
    Member localMember();

    String clusterName();

    Clock clock();

    Scheduler scheduler();

    MeterRegistry meters();

    ThreadFactory threadFactory(String role);

    /**
     * The cluster secret members prove they know, or empty when none is configured (the network is trusted).
     * Implementations written before it existed have none.
     */
    default Optional<ClusterSecret> secret() {
        return Optional.empty();
    }

    /** Verifies over the transport that a receiver is alive (connect, handshake, ping) within {@code timeout}. */
    CompletionStage<Member> probe(InetSocketAddress address, Duration timeout);

    /**
     * Publishes membership events. The service calls it from its one thread that owns the member table, so
     * listeners see events in order; each event's view id must be larger than the previous event's.
     */
    void publish(List<MembershipEvent> events);
}
