package io.flotilla;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.flotilla.spi.Transport;
import io.flotilla.spi.TransportContext;
import io.flotilla.testing.Await;
import io.flotilla.testing.FixedMembership;
import io.flotilla.wire.Frame;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class NodeBuilderTest {
    /** A transport that binds with {@code bind} and counts its binds and closes. */
    private static final class FakeTransport implements Transport {
        final AtomicInteger binds = new AtomicInteger();
        final AtomicInteger closes = new AtomicInteger();
        private final Supplier<InetSocketAddress> bind;

        FakeTransport(Supplier<InetSocketAddress> bind) {
            this.bind = bind;
        }

        @Override
        public InetSocketAddress bind() {
            binds.incrementAndGet();
            return bind.get();
        }

        @Override
        public void start(TransportContext context) {
        }

        @Override
        public void send(Member member, Frame frame) {
        }

        @Override
        public CompletionStage<Member> probe(InetSocketAddress address, Duration timeout) {
            return CompletableFuture.failedFuture(new FlotillaException("no probes here"));
        }

        @Override
        public void disconnect(Member member) {
        }

        @Override
        public void close() {
            closes.incrementAndGet();
        }
    }

    private static Node.Builder builder(String cluster, FakeTransport transport, FixedMembership membership) {
        return Node.builder().config(NodeConfig.builder().clusterName(cluster).build())
                .transport(() -> transport).membership(() -> membership);
    }

    @Test
    @Timeout(30)
    void aNodeThatCannotBindFailsItsStartWithTheTransportsErrorAndReleasesWhatItOpened() {
        FlotillaException refused = new FlotillaException("cannot bind the receiver: free a port");
        FakeTransport transport = new FakeTransport(() -> {
            throw refused;
        });
        FixedMembership membership = new FixedMembership();
        FlotillaException e = assertThrows(FlotillaException.class,
                () -> builder("unbound", transport, membership).start());
        assertSame(refused, e);
        assertEquals(1, transport.binds.get());
        assertEquals(1, transport.closes.get(), "the transport is closed");
        Await.await("the node's threads end", Duration.ofSeconds(10), () -> Thread.getAllStackTraces().keySet()
                .stream().noneMatch(t -> t.isAlive() && t.getName().startsWith("flotilla-unbound-")));
    }
}
