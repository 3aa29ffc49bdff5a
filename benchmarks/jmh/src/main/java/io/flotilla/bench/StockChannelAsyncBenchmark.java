package io.flotilla.bench;

/**
 * Stock Tribes: async channel throughput, as defined by {@link AbstractChannelAsyncBenchmark}, over Tomcat's
 * default channel stack built by {@link StockTribes}.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar StockChannelAsyncBenchmark -p size=1024}.
 *
 * <p>Threading: as its base class.
 */
public class StockChannelAsyncBenchmark extends AbstractChannelAsyncBenchmark {

    @Override
    protected ChannelSender newSender() {
        return new StockTribesSender();
    }
}
