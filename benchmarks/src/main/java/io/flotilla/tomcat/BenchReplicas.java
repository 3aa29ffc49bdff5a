package io.flotilla.tomcat;

import io.flotilla.replication.ReplicationEngine;
import java.util.Set;
import org.apache.catalina.Manager;

/**
 * Read-only access, for the benchmarks, to what a Flotilla node holds as replicas: the values a backup received and
 * the progress of its state transfer. A backup's {@link FlotillaManager#findSession} would take the session over (or
 * return null while the owner is alive), so the benchmarks read the engine's replicas here instead, in
 * {@code io.flotilla.tomcat} because the engine is package-private to the adapter. It changes nothing.
 *
 * <p>Threading: safe from any thread, as the engine's reads are.
 */
public final class BenchReplicas {
    private BenchReplicas() {
    }

    /** The replicated value of attribute {@code name} of session {@code id} on this backup, or null. */
    public static Object attribute(Manager manager, String id, String name) {
        ReplicationEngine e = engine(manager);
        if (e == null) {
            return null;
        }
        return e.replica(id).map(r -> r.attribute(name, e.codec(), BenchReplicas.class.getClassLoader()))
                .orElse(null);
    }

    /** The ids of the replicas held here (a copy: call it to verify, not in a loop). */
    public static Set<String> replicaIds(Manager manager) {
        ReplicationEngine e = engine(manager);
        return e == null ? Set.of() : e.replicaIds();
    }

    /**
     * Sessions received so far by this node's current state transfer (cheap: a counter); 0 before the manager's
     * engine exists.
     */
    public static long transferred(Manager manager) {
        ReplicationEngine e = engine(manager);
        return e == null ? 0 : e.stateTransfer().received();
    }

    private static ReplicationEngine engine(Manager manager) {
        return manager instanceof FlotillaManager m ? m.engine() : null;
    }
}
