package io.flotilla.bench;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The raw loopback round trip, the floor the synchronous channel is measured against (issue 16's aim: a
 * {@code RECEIVED} or {@code PROCESSED} message's p50 at most 1.3x this, in the same run): {@link #size} bytes written
 * on a plain blocking TCP socket ({@code TCP_NODELAY}) to a receiver JVM that writes them straight back
 * ({@link RawEchoReceiver}, started by {@link ReceiverProcess} as the channel benchmarks' receivers are), and read back
 * whole. No framing, no acknowledgement protocol, no cluster: what the kernel's loopback and one thread on each side
 * cost.
 *
 * <p>Run: {@code java -jar benchmarks/jmh/target/benchmarks.jar RawRoundTrip}.
 *
 * <p>Threading: Scope.Benchmark, one benchmark thread (one socket).
 */
@State(Scope.Benchmark)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 4, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = { BenchJvm.FORK_HEAP, BenchJvm.IPV4 })
public class RawRoundTripBenchmark {
    /** Bytes per round trip, as the channel benchmarks' message size. */
    @Param({ "1024" })
    public int size;

    private ReceiverProcess receiver;
    private Socket socket;
    private InputStream in;
    private OutputStream out;
    private byte[] message;
    private byte[] answer;

    @Setup(Level.Trial)
    public void connect() throws IOException {
        message = new byte[size];
        answer = new byte[size];
        receiver = ReceiverProcess.start("raw", 0, false);
        try {
            socket = new Socket(BenchJvm.LOOPBACK, receiver.port());
            socket.setTcpNoDelay(true);
            in = socket.getInputStream();
            out = socket.getOutputStream();
        } catch (IOException e) {
            receiver.close();
            throw e;
        }
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
        try {
            socket.close();
        } finally {
            receiver.close();
        }
    }

    /** One round trip: write {@link #size} bytes, read them back. */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @Threads(1)
    public byte[] latency() throws IOException {
        out.write(message);
        for (int read = 0; read < size; ) {
            int n = in.read(answer, read, size - read);
            if (n < 0) {
                throw new EOFException("the echo receiver closed after " + read + " of " + size + " bytes");
            }
            read += n;
        }
        return answer;
    }
}
