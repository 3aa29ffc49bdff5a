package io.flotilla.membership;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.Locale;
import java.util.function.IntSupplier;

/**
 * Every meter of the membership module, declared in one place. Tags are low-cardinality: the cluster, the kind of
 * membership ({@code multicast}, {@code static}, {@code dns}) and a short cause or reason.
 *
 * <ul>
 *   <li>{@code flotilla.membership.members}: gauge, members in the current view (the local one included);
 *   <li>{@code flotilla.membership.views}: views published;
 *   <li>{@code flotilla.membership.suspicions} [cause = silence | transport | unlisted]: members suspected
 *       ({@code unlisted}: its address left the DNS answer);
 *   <li>{@code flotilla.membership.removals} [cause = leave | failed | replaced]: members removed;
 *   <li>{@code flotilla.membership.probes} [result = alive | failed | timeout | mismatch | inconclusive]: TCP
 *       verifications ({@code inconclusive}: failed while this process was paused, repeated);
 *   <li>{@code flotilla.membership.local.pauses}: times this process was found not to have run for more than
 *       about 1.5 heartbeat (or probe) periods ({@link LocalPause});
 *   <li>{@code flotilla.membership.datagrams.sent} [type]: datagrams sent;
 *   <li>{@code flotilla.membership.datagrams.received}: datagrams read from the socket;
 *   <li>{@code flotilla.membership.datagrams.refused} [reason]: datagrams that failed to parse or to
 *       authenticate ({@code unauthenticated}, {@code bad_mac}, {@code secret_mismatch} with a cluster secret);
 *   <li>{@code flotilla.membership.datagrams.ignored} [reason = other_cluster | other_domain | self | stale |
 *       replayed | out_of_window | left | overloaded | table_full]: well-formed datagrams not acted upon
 *       ({@code out_of_window}: without a cluster secret, a sequence number far from the sender's last one);
 *   <li>{@code flotilla.membership.commands.dropped}: commands the loop's full queue refused;
 *   <li>{@code flotilla.membership.lookups} [result = ok | empty | failed]: lookups of {@link DnsMembership} and
 *       {@link KubernetesMembership}
 *       ({@code empty}: the name lists nobody; {@code failed}: no answer, the members stay as they are).
 * </ul>
 *
 * <p>Threading: safe from any thread.
 */
final class MembershipMeters {
    private final MeterRegistry registry;
    private final Tags tags;
    final Counter views;
    final Counter datagramsReceived;
    final Counter commandsDropped;

    MembershipMeters(MeterRegistry registry, String cluster, String kind) {
        this.registry = registry;
        this.tags = Tags.of("cluster", cluster, "kind", kind);
        this.views = registry.counter("flotilla.membership.views", tags);
        this.datagramsReceived = registry.counter("flotilla.membership.datagrams.received", tags);
        this.commandsDropped = registry.counter("flotilla.membership.commands.dropped", tags);
    }

    void members(IntSupplier size) {
        Gauge.builder("flotilla.membership.members", size, s -> s.getAsInt()).tags(tags).strongReference(true)
                .register(registry);
    }

    void suspicion(String cause) {
        registry.counter("flotilla.membership.suspicions", tags.and("cause", cause)).increment();
    }

    void removal(String cause) {
        registry.counter("flotilla.membership.removals", tags.and("cause", cause)).increment();
    }

    void localPause() {
        registry.counter("flotilla.membership.local.pauses", tags).increment();
    }

    void probe(String result) {
        registry.counter("flotilla.membership.probes", tags.and("result", result)).increment();
    }

    void lookup(String result) {
        registry.counter("flotilla.membership.lookups", tags.and("result", result)).increment();
    }

    void sent(Datagram.Type type) {
        registry.counter("flotilla.membership.datagrams.sent", tags.and("type", type.name().toLowerCase(
                Locale.ROOT))).increment();
    }

    void refused(String reason) {
        registry.counter("flotilla.membership.datagrams.refused", tags.and("reason", reason)).increment();
    }

    void ignored(String reason) {
        registry.counter("flotilla.membership.datagrams.ignored", tags.and("reason", reason)).increment();
    }
}
