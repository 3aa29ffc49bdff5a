package io.flotilla.replication;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The progress of the state transfer that fills a joining member with the sessions the cluster already has. The
 * member serves requests all along; sessions that arrive by replication meanwhile are merged by version (a
 * transferred copy never replaces a newer one). When the member it streams from leaves, the transfer starts again
 * from the next oldest member, and the counts start again with it.
 *
 * <p>Threading: safe from any thread; the counts are read without locks and may be a moment behind.
 */
public final class StateTransfer {
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private final AtomicLong received = new AtomicLong();
    private final AtomicLong expected = new AtomicLong(-1);
    private final AtomicLong attempts = new AtomicLong();

    StateTransfer() {
    }

    /** Sessions received in the current attempt. */
    public long received() {
        return received.get();
    }

    /** Sessions the current source said it would send; -1 before its first chunk. */
    public long expected() {
        return expected.get();
    }

    /** Sources asked so far (more than one after a source left mid-transfer). */
    public long attempts() {
        return attempts.get();
    }

    public boolean isDone() {
        return done.isDone();
    }

    /** Completes when every session of the source arrived (or at once when there was no one to ask). */
    public CompletionStage<Void> completion() {
        return done.minimalCompletionStage();
    }

    void restart() {
        attempts.incrementAndGet();
        received.set(0);
        expected.set(-1);
    }

    void expect(long n) {
        expected.set(n);
    }

    long add(long n) {
        return received.addAndGet(n);
    }

    void complete() {
        done.complete(null);
    }

    @Override
    public String toString() {
        return "StateTransfer[received=" + received() + ", expected=" + expected() + ", attempts=" + attempts()
                + ", done=" + isDone() + "]";
    }
}
