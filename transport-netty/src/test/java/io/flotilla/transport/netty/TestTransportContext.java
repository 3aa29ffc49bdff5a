package io.flotilla.transport.netty;

import io.flotilla.ClusterSecret;
import io.flotilla.Member;
import io.flotilla.spi.Clock;
import io.flotilla.spi.InboundHandler;
import io.flotilla.spi.TransportContext;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Optional;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/** A {@link TransportContext} for tests: system clock, the given registry, named daemon threads. */
record TestTransportContext(String clusterName, Member localMember, InboundHandler inbound, MeterRegistry meters,
        int maxFrameBytes, ClusterSecret clusterSecret) implements TransportContext {

    @Override
    public Optional<ClusterSecret> secret() {
        return Optional.ofNullable(clusterSecret);
    }

    @Override
    public Clock clock() {
        return Clock.system();
    }

    @Override
    public ThreadFactory threadFactory(String role) {
        AtomicInteger n = new AtomicInteger();
        String prefix = "flotilla-" + clusterName + "-" + role + "-";
        return r -> {
            Thread t = new Thread(r, prefix + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
