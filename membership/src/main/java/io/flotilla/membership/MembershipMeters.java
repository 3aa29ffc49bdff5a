package io.flotilla.membership;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
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
 * <p>The counters of suspicions, removals, probes and (multicast) datagrams sent are registered, at zero, when the
 * service starts: a registration costs about a millisecond the first time, which a failure detection or a leave would
 * otherwise pay on its way to the view (and a dashboard sees every series from the start).
 *
 * <p>Threading: safe from any thread.
 */
final class MembershipMeters {
    private final MeterRegistry registry;
    private final Tags tags;
    final Counter views;
    final Counter datagramsReceived;
    final Counter commandsDropped;
    private final Map<String, Counter> suspicions;
    private final Map<String, Counter> removals;
    private final Map<String, Counter> probes;
    private final Map<String, Counter> sent;

    MembershipMeters(MeterRegistry registry, String cluster, String kind) {
        this.registry = registry;
        this.tags = Tags.of("cluster", cluster, "kind", kind);
        this.views = registry.counter("flotilla.membership.views", tags);
        this.datagramsReceived = registry.counter("flotilla.membership.datagrams.received", tags);
        this.commandsDropped = registry.counter("flotilla.membership.commands.dropped", tags);
        this.suspicions = declare("flotilla.membership.suspicions", "cause", "silence", "transport", "unlisted");
        this.removals = declare("flotilla.membership.removals", "cause", "leave", "failed", "replaced");
        this.probes = declare("flotilla.membership.probes", "result", "alive", "failed", "timeout", "mismatch",
                "inconclusive");
        this.sent = !kind.equals("multicast") ? Map.of() : declare("flotilla.membership.datagrams.sent", "type",
                Arrays.stream(Datagram.Type.values()).map(MembershipMeters::typeTag).toArray(String[]::new));
    }

    /** Registers the counter of each of {@code values}; see the class comment. */
    private Map<String, Counter> declare(String name, String tag, String... values) {
        Map<String, Counter> counters = new HashMap<>();
        for (String v : values) {
            counters.put(v, registry.counter(name, tags.and(tag, v)));
        }
        return Map.copyOf(counters);
    }

    /** The declared counter of {@code value}, or one registered now for a value outside the declared set. */
    private Counter counter(Map<String, Counter> declared, String name, String tag, String value) {
        Counter c = declared.get(value);
        return c != null ? c : registry.counter(name, tags.and(tag, value));
    }

    private static String typeTag(Datagram.Type type) {
        return type.name().toLowerCase(Locale.ROOT);
    }

    void members(IntSupplier size) {
        Gauge.builder("flotilla.membership.members", size, s -> s.getAsInt()).tags(tags).strongReference(true)
                .register(registry);
    }

    void suspicion(String cause) {
        counter(suspicions, "flotilla.membership.suspicions", "cause", cause).increment();
    }

    void removal(String cause) {
        counter(removals, "flotilla.membership.removals", "cause", cause).increment();
    }

    void localPause() {
        registry.counter("flotilla.membership.local.pauses", tags).increment();
    }

    void probe(String result) {
        counter(probes, "flotilla.membership.probes", "result", result).increment();
    }

    void lookup(String result) {
        registry.counter("flotilla.membership.lookups", tags.and("result", result)).increment();
    }

    void sent(Datagram.Type type) {
        counter(sent, "flotilla.membership.datagrams.sent", "type", typeTag(type)).increment();
    }

    void refused(String reason) {
        registry.counter("flotilla.membership.datagrams.refused", tags.and("reason", reason)).increment();
    }

    void ignored(String reason) {
        registry.counter("flotilla.membership.datagrams.ignored", tags.and("reason", reason)).increment();
    }
}
