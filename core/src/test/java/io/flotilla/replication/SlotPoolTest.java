package io.flotilla.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class SlotPoolTest {

    @Test
    void anEmptyPoolCreatesAndAFreedObjectIsReused() {
        AtomicInteger created = new AtomicInteger();
        SlotPool<Object> pool = new SlotPool<>(4, () -> {
            created.incrementAndGet();
            return new Object();
        });
        Object a = pool.obtain();
        Object b = pool.obtain();
        assertNotSame(a, b);
        pool.free(a);
        assertSame(a, pool.obtain(), "the freed object comes back");
        assertEquals(2, created.get());
    }

    @Test
    void keepsAtMostItsCapacityRoundedUpToAPowerOfTwo() {
        SlotPool<Object> pool = new SlotPool<>(3, Object::new);
        for (int i = 0; i < 10; i++) {
            pool.free(new Object());
        }
        assertEquals(4, pool.idle());
    }

    @Test
    void neverHandsOneObjectToTwoThreadsAtOnce() throws Exception {
        // 4 threads on a pool of 2 slots: every object counts its holders; a second holder at once is an error.
        final class Held {
            final AtomicBoolean inUse = new AtomicBoolean();
        }
        SlotPool<Held> pool = new SlotPool<>(2, Held::new);
        ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            Thread th = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < 200_000; i++) {
                    Held h = pool.obtain();
                    if (!h.inUse.compareAndSet(false, true)) {
                        errors.add("obtained while held");
                        return;
                    }
                    h.inUse.set(false);
                    pool.free(h);
                }
            });
            th.start();
            threads.add(th);
        }
        go.countDown();
        for (Thread th : threads) {
            th.join(TimeUnit.SECONDS.toMillis(60));
            assertTrue(!th.isAlive(), "finished in time");
        }
        assertTrue(errors.isEmpty(), errors.toString());
        assertTrue(pool.idle() <= 2);
    }
}
