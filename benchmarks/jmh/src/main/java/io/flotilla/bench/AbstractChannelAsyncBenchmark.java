package io.flotilla.bench;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.openjdk.jmh.annotations.AuxCounters;
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
 * Async channel throughput between two nodes on loopback, in two JVMs: messages per second delivered, and
 * how many arrived out of order.
 *
 * <p>The JMH fork is the sending node; {@link #startNodes} starts the receiving node in a child JVM
 * ({@link ReceiverProcess}) and connects the {@link ChannelSender} of the concrete class to it. Each
 * operation sends one {@link Delivery#ASYNC} message of {@link #size} bytes carrying its sending thread's
 * stream id and sequence number ({@link ChannelPayload}).
 *
 * <p><b>What ops/s means.</b> An async send returns once the message is queued, so an unbounded sender would
 * measure its queue, not the network. The benchmark keeps at most {@link #IN_FLIGHT_BYTES} of messages sent
 * but not yet reported received (the receiver reports its count every 250 µs); a send beyond that waits.
 * The score is therefore the delivery rate, within one window per iteration. Each iteration ends by waiting
 * (bounded) until the receiver has everything, then reads its exact counts.
 *
 * <p><b>Secondary results</b> (JMH aux counters, summed over the measurement iterations): {@code sent},
 * {@code received}, {@code outOfOrder} (arrived after a message sent later in the same stream; the
 * {@code channel.async.out_of_order} row is {@code 100 * outOfOrder / received}) and {@code notInSequence}
 * (not the direct successor of the previous delivery; see {@link OrderTracker}).
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar 'Stock.*ChannelAsync' -p size=1024} (add
 * {@code -prof gc} for the sender's allocation). Or {@code ./bench.sh quick ChannelAsync}.
 *
 * <p>Threading: Scope.Benchmark; the default is one sending thread ({@code -t} gives more, each its own
 * stream).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 4, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = { BenchJvm.FORK_HEAP, BenchJvm.IPV4 })
@Threads(1)
public abstract class AbstractChannelAsyncBenchmark {

    /** Bound on the payload bytes sent but not yet reported received. */
    static final long IN_FLIGHT_BYTES = 4L << 20;
    /** Never fewer messages than this in flight, whatever the size. */
    static final long MIN_IN_FLIGHT_MESSAGES = 64;
    private static final Duration STALL_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(30);

    /** Message size in bytes, payload header included. */
    @Param({ "100", "1024", "16384" })
    public int size;

    private final AtomicLong sent = new AtomicLong();
    private final AtomicInteger streams = new AtomicInteger();
    private ChannelSender sender;
    private ReceiverProcess receiver;
    private long window;
    /** Totals at the last {@link #collect}: sent, received, outOfOrder, notInSequence. Guarded by this. */
    private final long[] collected = new long[4];

    /** The sender under test; called once per trial. */
    protected abstract ChannelSender newSender();

    @Setup(Level.Trial)
    public final void startNodes() throws Exception {
        sender = newSender();
        int senderPort = StockTribes.freePort();
        receiver = ReceiverProcess.start(sender.receiverKind(), senderPort, true);
        window = Math.max(MIN_IN_FLIGHT_MESSAGES, IN_FLIGHT_BYTES / size);
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
    public void send(Stream stream) throws Exception {
        if (stream.owner == null) {
            stream.owner = this;
            stream.id = streams.getAndIncrement();
        }
        long n = sent.incrementAndGet();
        if (n - receiver.progress() > window && !receiver.awaitProgress(n - window, STALL_TIMEOUT)) {
            throw new IllegalStateException("receiver stalled: " + receiver.progress() + " of " + n
                    + " messages delivered after " + STALL_TIMEOUT);
        }
        sender.send(ChannelPayload.create(size, stream.id, stream.seq++), Delivery.ASYNC);
    }

    /**
     * Waits (bounded) for the receiver to get everything sent, and returns the counts since the previous
     * call: sent, received, outOfOrder, notInSequence. With several threads, the first to ask gets the
     * iteration's counts and the others zeros.
     */
    synchronized long[] collect() {
        long target = sent.get();
        if (!receiver.awaitProgress(target, DRAIN_TIMEOUT)) {
            System.err.println("receiver has " + receiver.progress() + " of " + target + " messages after "
                    + DRAIN_TIMEOUT + "; counting the rest as not received");
        }
        long[] stats = receiver.stats();
        long[] now = { target, stats[0], stats[1], stats[2] };
        long[] delta = new long[now.length];
        for (int i = 0; i < now.length; i++) {
            delta[i] = now[i] - collected[i];
            collected[i] = now[i];
        }
        return delta;
    }

    /** A sending thread's stream, and its share of the delivery counts (reported as JMH aux counters). */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Stream {
        /** Messages sent in the iteration. */
        public long sent;
        /** Messages the receiver got in the iteration. */
        public long received;
        /** Messages that arrived after a message sent later in the same stream. */
        public long outOfOrder;
        /** Messages that were not the direct successor of the previous delivery in their stream. */
        public long notInSequence;

        AbstractChannelAsyncBenchmark owner;
        int id;
        long seq;

        @TearDown(Level.Iteration)
        public void collectCounts() {
            long[] d = owner == null ? new long[4] : owner.collect();
            sent = d[0];
            received = d[1];
            outOfOrder = d[2];
            notInSequence = d[3];
        }
    }
}
