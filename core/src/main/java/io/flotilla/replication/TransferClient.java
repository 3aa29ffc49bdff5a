package io.flotilla.replication;

import io.flotilla.Member;
import io.flotilla.spi.Clock;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The joining side of state transfer: asks the oldest other member for every session, takes the chunks into the
 * {@link SessionTable} (a transferred copy never replaces a newer replica, nor a session owned here), and starts
 * again from the next oldest member when its source leaves or falls silent for {@code stateTransferTimeout}. A
 * source that sent no chunk 2 s after the request is asked again for the same transfer (it may not have been
 * listening; if it was, it ignores the repeat), so a slow first chunk never restarts the stream. Progress is the
 * {@link StateTransfer} it exposes.
 *
 * <p>Threading: safe from any thread. One lock ({@code lock}) guards the transfer's state (id, source, times);
 * chunks are decoded and applied outside it. Chunks arrive on the node's delivery threads, the liveness check on
 * the scheduler's thread, membership events on the membership listener's thread.
 */
final class TransferClient {
    private static final System.Logger LOG = System.getLogger(TransferClient.class.getName());
    /** How long a joiner waits for the first chunk before asking again (then {@code stateTransferTimeout} applies). */
    private static final long FIRST_ANSWER_WAIT = TimeUnit.SECONDS.toNanos(2);

    private final Outbox out;
    private final ReplicationConfig config;
    private final Clock clock;
    private final SessionCodec sessionCodec;
    private final SessionTable table;
    private final ReplicationMeters meters;
    private final Runnable transferred;

    private final Object lock = new Object();
    private volatile StateTransfer transfer = new StateTransfer();
    // the start found no other member: the first member to join is asked once (a member started at the same moment)
    private boolean startedAlone;
    // random start: an engine started again on the same node (a web application reloaded) must not repeat an id
    // its predecessor asked the same source for (the source ignores a repeated id)
    private long transferId = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE / 2);
    private Member source;
    private long lastNanos;
    private long askedNanos;
    private long startNanos;
    private long nextLog;

    /** {@code transferred} runs once a transfer completed (outside the lock). */
    TransferClient(Outbox out, ReplicationConfig config, Clock clock, SessionCodec sessionCodec, SessionTable table,
            ReplicationMeters meters, Runnable transferred) {
        this.transferred = transferred;
        this.out = out;
        this.config = config;
        this.clock = clock;
        this.sessionCodec = sessionCodec;
        this.table = table;
        this.meters = meters;
    }

    StateTransfer transfer() {
        return transfer;
    }

    /** At the engine's start: asks the oldest other member, or completes at once (configured off, or alone). */
    void start(boolean enabled) {
        if (!enabled) {
            transfer.complete();
            return;
        }
        synchronized (lock) {
            startLocked("start");
        }
    }

    private void startLocked(String why) {
        if (transfer.isDone()) {
            return;
        }
        List<Member> others = out.view().othersThan(out.self().id());
        transferId++;
        lastNanos = clock.nanoTime();
        askedNanos = lastNanos;
        if (others.isEmpty()) {
            source = null;
            startedAlone = true;
            LOG.log(Level.INFO, "state transfer: no other member in the view; starting empty");
            transfer.complete();
            return;
        }
        source = others.get(0); // oldest first
        transfer.restart();
        startNanos = clock.nanoTime();
        nextLog = config.stateTransferLogEvery();
        LOG.log(Level.INFO, "state transfer (" + why + "): asking " + source.describe() + " for all sessions");
        out.sendQuietly(List.of(source), config.stateTransferTopic(), ReplicationMessages.transferRequest(transferId));
    }

    void onChunk(Member from, ReplicationMessages.Chunk chunk) {
        synchronized (lock) {
            if (transfer.isDone() || chunk.transferId() != transferId || source == null || !source.equals(from)) {
                meters.drop(ReplicationMeters.EngineDrop.STALE_TRANSFER);
                return;
            }
            lastNanos = clock.nanoTime();
            transfer.expect(chunk.expected());
        }
        for (ReplicationMessages.Entry e : chunk.entries()) {
            table.applyTransferred(sessionCodec.decodeRecord(e.record()), e.owner());
        }
        meters.transferSessionsReceived.increment(chunk.entries().size());
        long got = transfer.add(chunk.entries().size());
        synchronized (lock) {
            long expected = Math.max(1, chunk.expected());
            boolean quarter = (got * 4 / expected) > ((got - chunk.entries().size()) * 4 / expected);
            if (got >= nextLog || quarter) {
                nextLog = got + config.stateTransferLogEvery();
                LOG.log(Level.INFO, "state transfer from " + from.describe() + ": " + got + "/" + chunk.expected()
                        + " sessions (" + (got * 100 / expected) + " %)");
            }
        }
    }

    void onDone(Member from, long tid, int total) {
        synchronized (lock) {
            if (transfer.isDone() || tid != transferId || !from.equals(source)) {
                meters.drop(ReplicationMeters.EngineDrop.STALE_TRANSFER);
                return;
            }
            transfer.expect(total);
            long ms = TimeUnit.NANOSECONDS.toMillis(clock.nanoTime() - startNanos);
            LOG.log(Level.INFO, "state transfer from " + from.describe() + " done: " + transfer.received()
                    + " sessions in " + ms + " ms");
            transfer.complete();
        }
        transferred.run();
    }

    /** The liveness check: a silent source is asked again (soon when it never answered). */
    void tick() {
        synchronized (lock) {
            long silent = clock.nanoTime() - lastNanos;
            if (!transfer.isDone() && silent >= config.stateTransferTimeout().toNanos()) {
                LOG.log(Level.WARNING, "state transfer from " + describe(source) + " silent for "
                        + config.stateTransferTimeout().toMillis() + " ms; asking again");
                startLocked("silence");
            } else if (!transfer.isDone() && transfer.expected() < 0 && source != null
                    && clock.nanoTime() - askedNanos >= FIRST_ANSWER_WAIT) {
                // Not a chunk yet: the source's application may not have been listening when the request came
                // (members starting together; its node drops such messages), so ask again soon. The same transfer:
                // a source already streaming it (a slow first chunk) ignores the repeat instead of starting over.
                LOG.log(Level.INFO, "state transfer: no answer from " + describe(source) + " yet; asking again");
                askedNanos = clock.nanoTime();
                out.sendQuietly(List.of(source), config.stateTransferTopic(),
                        ReplicationMessages.transferRequest(transferId));
            }
        }
    }

    void joined() {
        synchronized (lock) {
            if (startedAlone) {
                // Members that start together may each find the other missing; without this, what the other
                // created before the views met would reach this member only when it next changed.
                startedAlone = false;
                transfer = new StateTransfer();
                startLocked("the first member joined after an empty start");
            }
        }
    }

    void left(Member member) {
        synchronized (lock) {
            if (!transfer.isDone() && member.equals(source)) {
                LOG.log(Level.WARNING, "state transfer source " + member.describe() + " left after "
                        + transfer.received() + " sessions; asking the next oldest member");
                startLocked("source left");
            }
        }
    }

    private static String describe(Member m) {
        return m == null ? "nobody" : m.describe();
    }
}
