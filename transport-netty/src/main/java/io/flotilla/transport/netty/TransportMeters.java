package io.flotilla.transport.netty;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Every meter of the Netty transport, declared in one place. Hot-path counters are incremented once per batch
 * (one drain, one read burst), not once per frame.
 *
 * <p>Threading: safe from any thread.
 */
final class TransportMeters {
    static final String REFUSED = "flotilla.transport.refused";

    private final MeterRegistry registry;
    final Counter framesSent;
    final Counter bytesSent;
    final Counter framesSentDirect;
    final Counter framesReceived;
    final Counter bytesReceived;
    final Counter connectFailures;
    final Counter sendDropped;
    final Counter lanesAccepted;
    final AtomicInteger openConnections = new AtomicInteger();
    private final ConcurrentMap<String, Counter> refused = new ConcurrentHashMap<>();

    TransportMeters(MeterRegistry registry) {
        this.registry = registry;
        framesSent = Counter.builder("flotilla.transport.frames.sent")
                .description("Frames written to connections").register(registry);
        bytesSent = Counter.builder("flotilla.transport.bytes.sent").baseUnit("bytes")
                .description("Frame bytes written to connections, headers included").register(registry);
        framesSentDirect = Counter.builder("flotilla.transport.frames.sent.direct")
                .description("Frames the sending thread wrote to the socket itself (a synchronous send on an idle "
                        + "connection), part of frames.sent").register(registry);
        framesReceived = Counter.builder("flotilla.transport.frames.received")
                .description("Frames read from connections").register(registry);
        bytesReceived = Counter.builder("flotilla.transport.bytes.received").baseUnit("bytes")
                .description("Frame bytes read from connections, headers included").register(registry);
        connectFailures = Counter.builder("flotilla.transport.connect.failures")
                .description("Outbound connections that failed to connect or to complete their handshake")
                .register(registry);
        sendDropped = Counter.builder("flotilla.transport.send.dropped")
                .description("Frames dropped because a connection's send queue was full").register(registry);
        lanesAccepted = Counter.builder("flotilla.transport.lanes.accepted")
                .description("Lanes other members opened to this one (a sending thread's own connection for its "
                        + "synchronous messages)").register(registry);
        Gauge.builder("flotilla.transport.connections", openConnections, AtomicInteger::get)
                .description("Open connections, inbound and outbound, handshaken or not").register(registry);
    }

    /** The refusal counter for {@code reason}, a low-cardinality tag such as {@code bad_magic}. */
    Counter refused(String reason) {
        return refused.computeIfAbsent(reason, r -> Counter.builder(REFUSED).tag("reason", r)
                .description("Connections closed because of bad input or limits, by reason").register(registry));
    }
}
