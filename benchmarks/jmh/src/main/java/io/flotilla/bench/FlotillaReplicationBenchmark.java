package io.flotilla.bench;

/**
 * Flotilla: replication per request ({@link AbstractReplicationBenchmark}) in a two-node {@code FlotillaCluster},
 * through {@code io.flotilla.tomcat.ReplicationValve} ({@code FlotillaManager.replicate}: one delta to the engine; sync
 * waits for B's {@code PROCESSED}).
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar FlotillaReplicationBenchmark}, or
 * {@code ./bench.sh quick ReplicationBenchmark} for both sides in one run.
 *
 * <p>Threading: as its base class.
 */
public class FlotillaReplicationBenchmark extends AbstractReplicationBenchmark {

    @Override
    protected BenchTomcat.Kind kind() {
        return BenchTomcat.Kind.FLOTILLA;
    }
}
