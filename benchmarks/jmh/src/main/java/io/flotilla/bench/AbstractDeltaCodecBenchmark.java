package io.flotilla.bench;

import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Encode + decode of one session delta: the CPU a replicated request pays on the sending and the receiving
 * node for its changes, ns/op (add {@code -prof gc} for bytes allocated per op).
 *
 * <p>Each operation encodes the {@link DeltaCase} ({@link #change}: {@code integer}, {@code ten} or
 * {@code graph}) to the bytes the node writes to its socket and decodes them as the receiving node does; see
 * the concrete codec for exactly which steps are included. The trial setup checks that a decode finds every
 * change and prints the bytes on the wire ({@link WireSizes} reports them to the results table).
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar 'Stock.*DeltaCodec' -prof gc}, or
 * {@code ./bench.sh quick DeltaCodec}.
 *
 * <p>Threading: Scope.Thread; every thread has its own codec.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = { BenchJvm.FORK_HEAP, BenchJvm.IPV4 })
public abstract class AbstractDeltaCodecBenchmark {

    /** Which change: integer, ten or graph (see {@link DeltaCase}). */
    @Param({ "integer", "ten", "graph" })
    public String change;

    private DeltaCodec codec;
    private Map<String, Object> attributes;

    /** The codec under test; called once per trial. */
    protected abstract DeltaCodec newCodec();

    @Setup(Level.Trial)
    public final void prepare() throws Exception {
        codec = newCodec();
        attributes = DeltaCase.of(change).attributes();
        byte[] wire = codec.encode(attributes);
        int decoded = codec.decode(wire);
        if (decoded != attributes.size()) {
            throw new IllegalStateException(codec.impl() + " decoded " + decoded + " changes of "
                    + attributes.size());
        }
        System.out.println(codec.impl() + " delta." + change + ": " + wire.length + " bytes on the wire");
    }

    @Benchmark
    public int encodeDecode() throws Exception {
        return codec.decode(codec.encode(attributes));
    }
}
