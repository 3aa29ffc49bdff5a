package io.flotilla.replication;

import io.flotilla.NodeConfig;
import io.flotilla.testing.InMemoryCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.BooleanSupplier;

/**
 * An {@link InMemoryCluster} with a replication engine per node, all on the cluster's manual clock.
 *
 * <p>Threading: drive from the test thread only.
 */
final class EngineHarness implements AutoCloseable {
    static final Duration STEP = Duration.ofMillis(1);

    final InMemoryCluster cluster;
    final List<ReplicationEngine> engines = new ArrayList<>();
    final List<List<String>> expired = new ArrayList<>();

    EngineHarness(int size, long seed, NodeConfig nodeConfig) {
        this(new InMemoryCluster(size, seed, nodeConfig));
    }

    EngineHarness(InMemoryCluster cluster) {
        this.cluster = cluster;
        int size = cluster.size();
        for (int i = 0; i < size; i++) {
            engines.add(null);
            expired.add(new ArrayList<>());
        }
    }

    static NodeConfig nodeConfig(int maxRetryAttempts) {
        return NodeConfig.builder().clusterName("r").timeout(Duration.ofSeconds(5)).maxRetryAttempts(maxRetryAttempts)
                .build();
    }

    ReplicationEngine start(int i, ReplicationConfig config) {
        return start(i, config, null);
    }

    /** Starts engine {@code i}; {@code listener} (may be null) hears its replica changes. */
    ReplicationEngine start(int i, ReplicationConfig config, ReplicaListener listener) {
        return start(i, config, listener, () -> { });
    }

    /**
     * Starts engine {@code i}, running {@code meanwhile} after its construction and before it subscribes to its node
     * (a view change in that window).
     */
    ReplicationEngine start(int i, ReplicationConfig config, ReplicaListener listener, Runnable meanwhile) {
        ReplicationEngine e = startUnsettled(i, config, listener, meanwhile);
        // A member is a replication target once its engine announced it listens: let the announcements cross.
        runUntil(this::allListening, 1000);
        return e;
    }

    /** As {@link #start}, without waiting for the members to count each other listening. */
    ReplicationEngine startUnsettled(int i, ReplicationConfig config, ReplicaListener listener, Runnable meanwhile) {
        List<String> sink = expired.get(i);
        ReplicationEngine.Builder b = ReplicationEngine.builder(cluster.node(i)).config(config).clock(cluster.clock())
                .scheduler(cluster.clock()).onExpired(sink::add);
        if (listener != null) {
            b.replicaListener(listener);
        }
        ReplicationEngine e = b.build();
        meanwhile.run();
        e.start();
        engines.set(i, e);
        return e;
    }

    /** Every running engine counts every other running engine in its view as listening. */
    boolean allListening() {
        for (int i = 0; i < engines.size(); i++) {
            ReplicationEngine a = engines.get(i);
            if (a == null) {
                continue;
            }
            for (int j = 0; j < engines.size(); j++) {
                ReplicationEngine b = engines.get(j);
                if (j != i && b != null && cluster.node(i).view().contains(cluster.member(j).id())
                        && !a.listens(cluster.member(j).id())) {
                    return false;
                }
            }
        }
        return true;
    }

    ReplicationEngine engine(int i) {
        return engines.get(i);
    }

    /**
     * Takes {@code id} over on engine {@code i} ({@link ReplicationEngine#takeOver}), running the cluster until
     * the round ends; its failure is thrown.
     */
    Optional<PrimarySession> takeOver(int i, String id) {
        CompletableFuture<Optional<PrimarySession>> f = engine(i).takeOver(id).toCompletableFuture();
        if (!runUntil(f::isDone, 20_000)) {
            throw new AssertionError("take-over of " + id + " on member " + i + " did not end");
        }
        try {
            return f.join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    boolean runUntil(BooleanSupplier done, int maxSteps) {
        return cluster.runUntil(done, STEP, maxSteps);
    }

    void advance(Duration d) {
        cluster.clock().advance(d);
    }

    @Override
    public void close() {
        for (ReplicationEngine e : engines) {
            if (e != null) {
                e.close();
            }
        }
        cluster.close();
    }
}
