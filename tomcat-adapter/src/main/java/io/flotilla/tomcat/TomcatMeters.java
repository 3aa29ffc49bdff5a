package io.flotilla.tomcat;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;

/**
 * Every meter of the Tomcat adapter, declared in one place, under {@code flotilla.tomcat.}: per web application
 * (tag {@code context}) the requests whose changes were handed to the engine, the synchronous replications that
 * failed, the time requests waited for them, the values refused, the values a replica's listeners could not get, the sessions owned; per cluster the members of the
 * view and the farm deployer's WARs deployed, undeployed and refused. The engine's and the node's own figures are theirs (the engine's read through {@code
 * ReplicationEngine.stats()}); nothing here counts an event they count.
 *
 * <p>Threading: safe from any thread (Micrometer meters).
 */
final class TomcatMeters {
    private final Counter replications;
    private final Counter failures;
    private final Counter refused;
    private final Counter undecodableForListeners;
    private final Timer waits;

    /** The meters of the web application {@code context}; {@code sessions} counts its Tomcat sessions. */
    TomcatMeters(MeterRegistry r, String context, IntSupplier sessions) {
        replications = Counter.builder("flotilla.tomcat.replications").tag("context", context)
                .description("requests whose session changes were handed to the engine").register(r);
        failures = Counter.builder("flotilla.tomcat.replication.failures").tag("context", context)
                .description("synchronous replications that failed or timed out").register(r);
        refused = Counter.builder("flotilla.tomcat.attributes.refused").tag("context", context)
                .description("setAttribute calls refused because the value cannot be replicated").register(r);
        undecodableForListeners = Counter.builder("flotilla.tomcat.replica.listener.undecodable").tag("context", context)
                .description("replicated values a replica's session listeners could not get (not decodable here)")
                .register(r);
        waits = Timer.builder("flotilla.tomcat.replication.wait").tag("context", context)
                .publishPercentiles(0.5, 0.99).description("time requests waited for RECEIVED/PROCESSED replication")
                .register(r);
        Gauge.builder("flotilla.tomcat.sessions", sessions, IntSupplier::getAsInt).tag("context", context)
                .description("Tomcat sessions owned here").register(r);
    }

    /** The cluster's own meter: the members of its view, this one included. */
    static void members(MeterRegistry r, IntSupplier members) {
        Gauge.builder("flotilla.tomcat.members", members, IntSupplier::getAsInt)
                .description("members in the view, this one included").register(r);
    }

    /** The farm deployer's meters: WARs deployed and undeployed here, farm messages and streams refused. */
    record FarmMeters(Counter deployed, Counter undeployed, Counter refused) {
    }

    static FarmMeters farm(MeterRegistry r) {
        return new FarmMeters(
                Counter.builder("flotilla.tomcat.farm.deployed").description("farm WARs deployed or redeployed here")
                        .register(r),
                Counter.builder("flotilla.tomcat.farm.undeployed").description("farm WARs undeployed here")
                        .register(r),
                Counter.builder("flotilla.tomcat.farm.refused")
                        .description("farm messages and WAR streams refused (name, size, order, hash)").register(r));
    }

    void replicated() {
        replications.increment();
    }

    /** A request waited {@code nanos} for its replication, which succeeded or not. */
    void waited(long nanos, boolean ok) {
        waits.record(nanos, TimeUnit.NANOSECONDS);
        if (!ok) {
            failures.increment();
        }
    }

    /** A replication nobody waited for failed (the end of an async request). */
    void failed() {
        failures.increment();
    }

    void refused() {
        refused.increment();
    }

    void undecodableForListeners() {
        undecodableForListeners.increment();
    }

    double undecodableForListenersCount() {
        return undecodableForListeners.count();
    }

    double replications() {
        return replications.count();
    }

    double failures() {
        return failures.count();
    }

    double refusedCount() {
        return refused.count();
    }

    /** The wait's {@code percentile} (0.5 or 0.99) in milliseconds; 0 before any wait. */
    double waitPercentileMillis(double percentile) {
        for (var v : waits.takeSnapshot().percentileValues()) {
            if (v.percentile() == percentile) {
                return v.value(TimeUnit.MILLISECONDS);
            }
        }
        return 0;
    }
}
