package io.flotilla.bench;

/**
 * Stock {@code DeltaManager}: encode + decode of one session delta, as defined by
 * {@link AbstractDeltaCodecBenchmark}, through the Tomcat 10.1.49 path mirrored by {@link StockDeltaCodec}.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar StockDeltaCodecBenchmark -prof gc}.
 *
 * <p>Threading: as its base class.
 */
public class StockDeltaCodecBenchmark extends AbstractDeltaCodecBenchmark {

    @Override
    protected DeltaCodec newCodec() {
        return new StockDeltaCodec();
    }
}
