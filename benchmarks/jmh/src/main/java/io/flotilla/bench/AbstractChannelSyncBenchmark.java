package io.flotilla.bench;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

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

import io.flotilla.Delivery;

/**
 * Sync channel latency and throughput between two nodes on loopback, in two JVMs.
 *
 * <p>Same two-JVM set-up as {@link AbstractChannelAsyncBenchmark}. Each operation sends one message of
 * {@link #size} bytes and returns when the receiver acknowledged it: {@link Delivery#RECEIVED} (stock
 * {@code USE_ACK}) or {@link Delivery#PROCESSED} (stock {@code USE_ACK | SYNCHRONIZED_ACK}, the ack is sent
 * after the receiver's listener returned).
 * <ul>
 *   <li>{@link #latency1Thread}, {@link #latency8Threads}: sample time (µs/op) with p50/p99, 1 and 8 sending
 *       threads;</li>
 *   <li>{@link #throughput8Threads}: messages per second with 8 sending threads.</li>
 * </ul>
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar 'Stock.*ChannelSync' -p delivery=RECEIVED}
 * (add {@code -p size=100,1024,16384} for every size). Or {@code ./bench.sh quick ChannelSync}.
 *
 * <p>Threading: Scope.Benchmark; each sending thread is its own stream ({@link Stream}).
 */
@State(Scope.Benchmark)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 4, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = { BenchJvm.FORK_HEAP, BenchJvm.IPV4 })
public abstract class AbstractChannelSyncBenchmark {

    /** Message size in bytes, payload header included. */
    @Param({ "1024" })
    public int size;

    /** RECEIVED or PROCESSED. */
    @Param({ "RECEIVED", "PROCESSED" })
    public Delivery delivery;

    private final AtomicInteger streams = new AtomicInteger();
    private ChannelSender sender;
    private ReceiverProcess receiver;

    /** The sender under test; called once per trial. */
    protected abstract ChannelSender newSender();

    @Setup(Level.Trial)
    public final void startNodes() throws Exception {
        if (delivery == Delivery.ASYNC) {
            throw new IllegalArgumentException("the sync benchmark measures RECEIVED and PROCESSED; "
                    + "ASYNC is AbstractChannelAsyncBenchmark's");
        }
        sender = newSender();
        int senderPort = StockTribes.freePort();
        receiver = ReceiverProcess.start(sender.receiverKind(), senderPort, false);
        try {
            sender.connect(receiver.port(), receiver.token(), senderPort);
        } catch (Exception e) {
            receiver.close();
            throw e;
        }
    }

    @TearDown(Level.Trial)
    public final void stopNodes() throws Exception {
        try {
            sender.close();
        } finally {
            receiver.close();
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @Threads(1)
    public void latency1Thread(Stream stream) throws Exception {
        sendOne(stream);
    }

    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @Threads(8)
    public void latency8Threads(Stream stream) throws Exception {
        sendOne(stream);
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @Threads(8)
    public void throughput8Threads(Stream stream) throws Exception {
        sendOne(stream);
    }

    private void sendOne(Stream stream) throws Exception {
        if (stream.id < 0) {
            stream.id = streams.getAndIncrement();
        }
        sender.send(ChannelPayload.create(size, stream.id, stream.seq++), delivery);
    }

    /** A sending thread's stream id and next sequence number. */
    @State(Scope.Thread)
    public static class Stream {
        int id = -1;
        long seq;
    }
}
