package io.flotilla.internal;

import io.flotilla.Delivery;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Every meter of the delivery engine, declared in one place. Names under {@code flotilla.}, tags of low
 * cardinality (the delivery mode, a reason), never a member id or a session id.
 *
 * <p>Threading: safe from any thread (Micrometer meters are).
 */
final class NodeMeters {
    final Map<Delivery, Counter> sent = new EnumMap<>(Delivery.class);
    final Map<Delivery, Counter> received = new EnumMap<>(Delivery.class);
    final Map<Delivery, Timer> latency = new EnumMap<>(Delivery.class);
    final DistributionSummary sentBytes;
    final DistributionSummary receivedBytes;
    final Counter duplicates;
    final Counter retransmitted;
    final Counter abandoned;
    final Counter timedOut;
    final Counter listenerErrors;
    final Counter unhandled;
    final Counter refused;
    final Counter outsideView;
    final Counter held;
    final Counter skipped;
    final Counter outOfWindow;
    final Counter queueFull;
    final Counter laneSends;
    final Counter laneFailures;

    NodeMeters(MeterRegistry registry, Supplier<Number> queuedMessages, Supplier<Number> receiveBuffered) {
        for (Delivery d : Delivery.values()) {
            String tag = d.name().toLowerCase(Locale.ROOT);
            sent.put(d, Counter.builder("flotilla.messages.sent").tag("delivery", tag)
                    .description("messages sent, one per target member").register(registry));
            received.put(d, Counter.builder("flotilla.messages.received").tag("delivery", tag)
                    .description("messages delivered to listeners").register(registry));
            // Count, total and max only: percentiles and histograms are the application's to configure on its
            // registry (a MeterFilter), as Micrometer's libraries leave them; client-side ones cost every node a
            // ring of histograms per timer, allocated at start and written on every record.
            latency.put(d, Timer.builder("flotilla.send.latency").tag("delivery", tag)
                    .description("from send to the guarantee being met, per target member").register(registry));
        }
        sentBytes = DistributionSummary.builder("flotilla.messages.sent.bytes").baseUnit("bytes")
                .description("payload sizes sent").register(registry);
        receivedBytes = DistributionSummary.builder("flotilla.messages.received.bytes").baseUnit("bytes")
                .description("payload sizes received").register(registry);
        duplicates = counter(registry, "flotilla.messages.duplicates", "received twice and dropped");
        retransmitted = counter(registry, "flotilla.messages.retransmitted", "sent again after a loss or timeout");
        abandoned = counter(registry, "flotilla.messages.abandoned",
                "given up after maxRetryAttempts or because the member left");
        timedOut = counter(registry, "flotilla.messages.timeouts", "sends whose guarantee was not met in timeout");
        listenerErrors = counter(registry, "flotilla.listener.errors", "message listeners that threw");
        unhandled = counter(registry, "flotilla.messages.unhandled", "messages that no listener took (none for the topic, or all declined)");
        refused = counter(registry, "flotilla.messages.refused", "messages a listener refused for a reason its sender handles");
        outsideView = counter(registry, "flotilla.messages.outside.view", "frames dropped unacknowledged because "
                + "their sender is not in the view and too many such senders are tracked or it holds too much");
        held = counter(registry, "flotilla.messages.held",
                "messages from a sender not (yet) in the view, held unacknowledged until it joins");
        skipped = counter(registry, "flotilla.messages.skipped",
                "sequence numbers the sender gave up on, skipped by the receiver");
        outOfWindow = counter(registry, "flotilla.messages.out_of_window",
                "messages too far ahead of the receive window, dropped for retransmission");
        queueFull = counter(registry, "flotilla.send.queue_full", "sends refused because a send queue stayed full");
        laneSends = counter(registry, "flotilla.lanes.sent", "synchronous messages written on a lane, whose answer "
                + "the waiting thread reads itself");
        laneFailures = counter(registry, "flotilla.lanes.failed", "lanes that broke or were given up before their "
                + "answer (the message went over the pooled connections)");
        Gauge.builder("flotilla.send.queue.depth", queuedMessages).description("unacknowledged messages, all members")
                .register(registry);
        Gauge.builder("flotilla.receive.buffered.bytes", receiveBuffered)
                .description("received payload bytes not yet delivered to listeners").register(registry);
    }

    private static Counter counter(MeterRegistry registry, String name, String description) {
        return Counter.builder(name).description(description).register(registry);
    }
}
