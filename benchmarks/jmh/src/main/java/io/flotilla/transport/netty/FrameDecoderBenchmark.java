package io.flotilla.transport.netty;

import java.nio.ByteBuffer;
import java.util.Queue;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameCodec;
import io.flotilla.wire.FrameType;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;

/**
 * The receiving I/O thread's framing work alone, without sockets: {@code DATA} frames of {@link #size} payload
 * bytes arrive in reads of {@link #READ_BYTES} bytes (cut anywhere, as a socket read cuts them), each read in a
 * pooled direct buffer as the event loop gets it, and {@link FrameDecoder} turns them into frames. Score: ns per
 * frame. One thread, no other process involved, so it is far steadier on a loaded machine than the two-JVM
 * channel benchmarks, and it isolates the decoder's share of their receive path.
 *
 * <p>It lives in the transport's package because {@link FrameDecoder} is package-private.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar FrameDecoderBenchmark -prof gc}.
 *
 * <p>Threading: Scope.Thread; every thread has its own channel and decoder.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = { "-Xmx1g" })
public class FrameDecoderBenchmark {

    /** Bytes per simulated socket read (the event loop's receive buffer tops out at 64 KiB). */
    static final int READ_BYTES = 64 * 1024;
    /** Frames decoded per operation. */
    static final int FRAMES = 512;

    /** Payload bytes per frame. */
    @Param({ "100", "1024", "16384" })
    public int size;

    private byte[] stream;
    private EmbeddedChannel channel;

    @Setup(Level.Trial)
    public void prepare() {
        ByteBuffer all = ByteBuffer.allocate(FRAMES * (FrameCodec.HEADER_BYTES + size));
        for (int i = 0; i < FRAMES; i++) {
            all.put(FrameCodec.encode(new Frame(FrameType.DATA, 0, 1, 1, i + 1, ByteBuffer.allocate(size))));
        }
        stream = all.array();
        channel = new EmbeddedChannel(new FrameDecoder(16 << 20));
    }

    @TearDown(Level.Trial)
    public void close() {
        channel.finishAndReleaseAll();
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public long decode() {
        Queue<Object> out = channel.inboundMessages();
        long sum = 0;
        for (int off = 0; off < stream.length; off += READ_BYTES) {
            int n = Math.min(READ_BYTES, stream.length - off);
            ByteBuf read = ByteBufAllocator.DEFAULT.directBuffer(n);
            read.writeBytes(stream, off, n);
            channel.writeInbound(read);
            for (Object o = out.poll(); o != null; o = out.poll()) {
                sum += ((Frame) o).messageId();
            }
        }
        if (sum != (long) FRAMES * (FRAMES + 1) / 2) {
            throw new IllegalStateException("decoded frames do not add up: " + sum);
        }
        return sum;
    }
}
