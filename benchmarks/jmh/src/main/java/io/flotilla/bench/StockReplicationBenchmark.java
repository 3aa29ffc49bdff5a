package io.flotilla.bench;

/**
 * Stock Tomcat: replication per request ({@link AbstractReplicationBenchmark}) in a two-node {@code SimpleTcpCluster}
 * with {@code DeltaManager}, through {@code org.apache.catalina.ha.tcp.ReplicationValve}
 * ({@code DeltaManager.requestCompleted(id)} + {@code SimpleTcpCluster.send(msg)}).
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar StockReplicationBenchmark}, or
 * {@code ./bench.sh quick ReplicationBenchmark} for both sides in one run.
 *
 * <p>Threading: as its base class.
 */
public class StockReplicationBenchmark extends AbstractReplicationBenchmark {

    @Override
    protected BenchTomcat.Kind kind() {
        return BenchTomcat.Kind.STOCK;
    }
}
