package io.flotilla.bench;

/**
 * Flotilla: sync channel latency and throughput ({@link io.flotilla.Delivery#RECEIVED},
 * {@link io.flotilla.Delivery#PROCESSED}), as defined by {@link AbstractChannelSyncBenchmark}, between two
 * Flotilla nodes over Netty on 127.0.0.1.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar FlotillaChannelSyncBenchmark}, or
 * {@code ./bench.sh quick ChannelSync} for both sides in one run.
 *
 * <p>Threading: as its base class.
 */
public class FlotillaChannelSyncBenchmark extends AbstractChannelSyncBenchmark {

    @Override
    protected ChannelSender newSender() {
        return new FlotillaSender();
    }
}
