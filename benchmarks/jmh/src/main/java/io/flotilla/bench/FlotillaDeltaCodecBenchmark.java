package io.flotilla.bench;

/**
 * Flotilla: encode + decode of one session delta, as defined by {@link AbstractDeltaCodecBenchmark}, through
 * the path described in {@link FlotillaDeltaCodec}.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar FlotillaDeltaCodecBenchmark -prof gc}, or
 * {@code ./bench.sh quick DeltaCodec} for both sides in one run.
 *
 * <p>Threading: as its base class.
 */
public class FlotillaDeltaCodecBenchmark extends AbstractDeltaCodecBenchmark {

    @Override
    protected DeltaCodec newCodec() {
        return new FlotillaDeltaCodec();
    }
}
