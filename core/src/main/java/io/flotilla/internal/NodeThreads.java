package io.flotilla.internal;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The one source of threads for a node: named daemon threads {@code flotilla-<cluster>-<role>-<n>}.
 *
 * <p>Threading: safe from any thread.
 */
public final class NodeThreads {
    private final String cluster;
    private final ConcurrentHashMap<String, AtomicInteger> counters = new ConcurrentHashMap<>();

    public NodeThreads(String cluster) {
        this.cluster = cluster;
    }

    /** A factory for threads of {@code role}, numbered from 1 per role. */
    public ThreadFactory factory(String role) {
        AtomicInteger n = counters.computeIfAbsent(role, r -> new AtomicInteger());
        return r -> {
            Thread t = new Thread(r, "flotilla-" + cluster + "-" + role + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
