package io.flotilla.bench;

/**
 * Flotilla: async channel throughput, as defined by {@link AbstractChannelAsyncBenchmark}, between two Flotilla
 * nodes ({@link FlotillaSender}, {@link FlotillaReceiver}) over Netty on 127.0.0.1.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar FlotillaChannelAsyncBenchmark -p size=1024}, or
 * {@code ./bench.sh quick ChannelAsync} for both sides in one run.
 *
 * <p>Threading: as its base class.
 */
public class FlotillaChannelAsyncBenchmark extends AbstractChannelAsyncBenchmark {

    @Override
    protected ChannelSender newSender() {
        return new FlotillaSender();
    }
}
