package io.flotilla.bench;

/**
 * Stock Tribes: sync channel latency and throughput, as defined by {@link AbstractChannelSyncBenchmark},
 * over Tomcat's default channel stack built by {@link StockTribes}.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar StockChannelSyncBenchmark -p delivery=RECEIVED}.
 *
 * <p>Threading: as its base class.
 */
public class StockChannelSyncBenchmark extends AbstractChannelSyncBenchmark {

    @Override
    protected ChannelSender newSender() {
        return new StockTribesSender();
    }
}
