package io.flotilla.testing;

import io.flotilla.Member;
import io.flotilla.spi.Transport;
import io.flotilla.spi.TransportContext;
import io.flotilla.wire.Frame;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * A transport with no network: it hands the node's {@link TransportContext} (and so its inbound handler) to the test,
 * counts binds and closes, and drops what the node sends. Probes fail.
 */
public final class CapturingTransport implements Transport {
    public volatile TransportContext context;
    public final AtomicInteger binds = new AtomicInteger();
    public final AtomicInteger closes = new AtomicInteger();
    private final Supplier<InetSocketAddress> bind;

    /** Bound to 127.0.0.1:4000. */
    public CapturingTransport() {
        this(() -> new InetSocketAddress("127.0.0.1", 4000));
    }

    /** Bound by {@code bind}, which may throw as a transport that cannot bind does. */
    public CapturingTransport(Supplier<InetSocketAddress> bind) {
        this.bind = bind;
    }

    @Override
    public InetSocketAddress bind() {
        binds.incrementAndGet();
        return bind.get();
    }

    @Override
    public void start(TransportContext ctx) {
        context = ctx;
    }

    @Override
    public void send(Member member, Frame frame) {
        // Acks go nowhere: tests look at what the node keeps, not at what it answers.
    }

    @Override
    public CompletionStage<Member> probe(InetSocketAddress address, Duration timeout) {
        return CompletableFuture.failedFuture(new IllegalStateException("no probes here"));
    }

    @Override
    public void disconnect(Member member) {
        // Nothing is connected.
    }

    @Override
    public void close() {
        closes.incrementAndGet();
    }
}
