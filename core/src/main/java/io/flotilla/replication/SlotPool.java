package io.flotilla.replication;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;

/**
 * A bounded pool of reusable objects: free ones wait in the slots of an array, and each {@link #obtain} or
 * {@link #free} is one atomic swap on one slot, with no lock and no allocation. Each thread starts looking at a slot
 * chosen by its id, so threads on different cores seldom touch one slot; an empty pool creates, a full one drops.
 *
 * <p>Why not Kryo's own {@code Pool}: its thread-safe form is a {@code LinkedBlockingQueue}, a lock on each side and a
 * node allocated per free, which was a tenth of an async replication's CPU on the request thread (profile in
 * {@code benchmarks/results/issue16-codec.txt}).
 *
 * <p>Threading: safe from any thread; an object obtained belongs to its caller alone until it frees it.
 */
final class SlotPool<T> {
    private final AtomicReferenceArray<T> slots;
    private final int mask;
    private final Supplier<T> create;

    /** At most {@code capacity} (rounded up to a power of two) free objects kept; {@code create} makes the others. */
    SlotPool(int capacity, Supplier<T> create) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity " + capacity + " < 1");
        }
        int size = Integer.highestOneBit(capacity - 1) << 1;
        this.slots = new AtomicReferenceArray<>(Math.max(1, size));
        this.mask = slots.length() - 1;
        this.create = Objects.requireNonNull(create, "create");
    }

    /** A free object, or a new one when none is. */
    T obtain() {
        int start = start();
        for (int i = 0; i <= mask; i++) {
            int k = (start + i) & mask;
            T t = slots.get(k);
            if (t != null && slots.compareAndSet(k, t, null)) {
                return t;
            }
        }
        return create.get();
    }

    /** Returns {@code t} for reuse; dropped when every slot holds one already. */
    void free(T t) {
        Objects.requireNonNull(t, "t");
        int start = start();
        for (int i = 0; i <= mask; i++) {
            int k = (start + i) & mask;
            if (slots.get(k) == null && slots.compareAndSet(k, null, t)) {
                return;
            }
        }
    }

    /** How many objects wait in the pool (for tests; racy under concurrent use). */
    int idle() {
        int n = 0;
        for (int i = 0; i <= mask; i++) {
            if (slots.get(i) != null) {
                n++;
            }
        }
        return n;
    }

    private int start() {
        long id = Thread.currentThread().getId();
        return (int) (id ^ id >>> 16) * 0x9E3779B9 >>> 16;
    }
}
