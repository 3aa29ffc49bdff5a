package io.flotilla.bench;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts received benchmark messages and checks their order per sending stream.
 *
 * <p>Two measures of disorder are kept, both per stream (see {@link ChannelPayload}):
 * <ul>
 *   <li><b>out of order</b>: a message arrives after a message that was sent later than it (its sequence
 *       number is below the highest one already seen in its stream). This is the headline
 *       {@code channel.async.out_of_order} figure: what a replication receiver applying deltas in arrival
 *       order would get wrong.</li>
 *   <li><b>not in sequence</b>: a message is not the direct successor of the message delivered before it in
 *       its stream (counts both sides of every swap and every gap).</li>
 * </ul>
 *
 * <p>Threading: {@link #accept} may be called from many receiver threads at once; each stream has its own
 * lock, so threads delivering different streams do not contend. Getters may be called from any thread.
 */
final class OrderTracker {

    /** Stream ids above this are counted as malformed; benchmarks use one stream per sending thread. */
    static final int MAX_STREAMS = 256;

    private final Stream[] streams = new Stream[MAX_STREAMS];
    private final AtomicLong received = new AtomicLong();
    private final AtomicLong outOfOrder = new AtomicLong();
    private final AtomicLong notInSequence = new AtomicLong();
    private final AtomicLong malformed = new AtomicLong();

    OrderTracker() {
        for (int i = 0; i < streams.length; i++) {
            streams[i] = new Stream();
        }
    }

    /** Records one received payload (the bytes from {@code offset} on follow {@link ChannelPayload}). */
    void accept(byte[] payload, int offset, int length) {
        if (length < ChannelPayload.HEADER_BYTES) {
            malformed.incrementAndGet();
            return;
        }
        int id = ChannelPayload.stream(payload, offset);
        if (id < 0 || id >= MAX_STREAMS) {
            malformed.incrementAndGet();
            return;
        }
        long seq = ChannelPayload.seq(payload, offset);
        Stream s = streams[id];
        boolean late;
        boolean skipped;
        synchronized (s) {
            late = seq < s.highest;
            skipped = seq != s.last + 1;
            s.last = seq;
            if (seq > s.highest) {
                s.highest = seq;
            }
        }
        if (late) {
            outOfOrder.incrementAndGet();
        }
        if (skipped) {
            notInSequence.incrementAndGet();
        }
        received.incrementAndGet();
    }

    long received() {
        return received.get();
    }

    long outOfOrder() {
        return outOfOrder.get();
    }

    long notInSequence() {
        return notInSequence.get();
    }

    long malformed() {
        return malformed.get();
    }

    private static final class Stream {
        long last = -1;
        long highest = -1;
    }
}
