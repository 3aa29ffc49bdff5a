package io.flotilla.replication;

import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.Set;

/**
 * Hands the replica store's changes to the {@link ReplicaListener}, in the order the store applied them. The store
 * queues each change while it holds its lock (so the queue's order is the apply order); every engine entry point
 * calls {@link #deliver()} after it released its locks, which runs the listener for whatever is queued.
 *
 * <p>Threading: one lock ({@code dispatch}) lets one thread at a time run the listener; a thread that finds another
 * delivering waits for it, so when {@link #deliver()} returns, every change queued before the call was told. The
 * queue has its own short lock, taken inside the store's. A listener that makes the engine deliver again (on its
 * own thread) returns at once: the outer loop tells the rest.
 */
final class ReplicaEvents {
    private static final System.Logger LOG = System.getLogger(ReplicaEvents.class.getName());

    private final ReplicaListener listener;
    private final AttributeCodec codec;
    private final ClassLoader loader;
    private final Runnable onError;
    private final ArrayDeque<ReplicaChange> queue = new ArrayDeque<>();
    private final Object dispatch = new Object();
    private boolean delivering;

    /** {@code listener} null: nothing is queued, so an engine without one builds no change at all. */
    ReplicaEvents(ReplicaListener listener, AttributeCodec codec, ClassLoader loader, Runnable onError) {
        this.listener = listener;
        this.codec = codec;
        this.loader = loader;
        this.onError = onError;
    }

    boolean enabled() {
        return listener != null;
    }

    /** Queues a change; the caller holds the store's lock. */
    void add(ReplicaCause cause, String id, String previousId, SessionRecord before, SessionRecord after,
            Set<String> changedNames) {
        if (listener == null) {
            return;
        }
        ReplicaChange c = new ReplicaChange(cause, id, previousId, before, after, changedNames, codec, loader);
        synchronized (queue) {
            queue.add(c);
        }
    }

    /** Tells the listener every queued change; call it holding no engine lock. */
    void deliver() {
        if (listener == null) {
            return;
        }
        synchronized (dispatch) {
            if (delivering) {
                return; // the listener itself made the engine deliver: the loop below goes on with the rest
            }
            delivering = true;
            try {
                while (true) {
                    ReplicaChange c;
                    synchronized (queue) {
                        c = queue.poll();
                    }
                    if (c == null) {
                        return;
                    }
                    try {
                        listener.onChange(c);
                    } catch (RuntimeException e) {
                        onError.run();
                        LOG.log(Level.WARNING, "replica listener failed on " + c, e);
                    }
                }
            } finally {
                delivering = false;
            }
        }
    }
}
