package io.flotilla.replication;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.replication.SessionOp.Access;
import io.flotilla.replication.SessionOp.ChangeId;
import io.flotilla.replication.SessionOp.Create;
import io.flotilla.replication.SessionOp.Expire;
import io.flotilla.replication.SessionOp.MaxInactive;
import io.flotilla.replication.SessionOp.RemoveAttribute;
import io.flotilla.replication.SessionOp.SetAttribute;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class SessionDeltaTest {
    private static final SessionMetadata META = SessionMetadata.created(1_700_000_000_000L, 1800);

    private static SetAttribute set(String name, int v) {
        return new SetAttribute(name, new byte[] {(byte) v});
    }

    @Test
    void coalescingAFewOperationsWithoutAMapGivesWhatTheMapGives() {
        // The short path (nothing to merge among a few operations) against the map, over random sequences.
        long seed = 0x5E551011L;
        Random random = new Random(seed);
        for (int round = 0; round < 20_000; round++) {
            List<SessionOp> ops = new ArrayList<>();
            int n = random.nextInt(11);
            for (int i = 0; i < n; i++) {
                ops.add(switch (random.nextInt(9)) {
                    case 0 -> set("a", i);
                    case 1 -> set("b", i);
                    case 2 -> set("c" + random.nextInt(8), i);
                    case 3 -> new RemoveAttribute(random.nextBoolean() ? "a" : "b");
                    case 4 -> new Access(i, random.nextBoolean());
                    case 5 -> new MaxInactive(i);
                    case 6 -> new ChangeId("id" + i);
                    case 7 -> random.nextInt(4) == 0 ? new Expire() : set("d", i);
                    default -> random.nextInt(3) == 0 ? new Create(META) : set("e", i);
                });
            }
            String where = "seed " + seed + " round " + round + ": " + ops;
            Object expected;
            try {
                expected = SessionDelta.coalesceByKey(ops);
            } catch (IllegalArgumentException e) {
                expected = e.getClass();
            }
            Object actual;
            try {
                actual = SessionDelta.coalesce(ops);
            } catch (IllegalArgumentException e) {
                actual = e.getClass();
            }
            assertEquals(expected, actual, where);
        }
    }

    @Test
    void setThenRemoveIsRemove() {
        assertEquals(List.of(new RemoveAttribute("a")),
                SessionDelta.coalesce(List.of(set("a", 1), new RemoveAttribute("a"))));
    }

    @Test
    void setTwiceIsTheLastSet() {
        assertEquals(List.of(set("a", 2)), SessionDelta.coalesce(List.of(set("a", 1), set("a", 2))));
    }

    @Test
    void removeThenSetIsSet() {
        assertEquals(List.of(set("a", 3)), SessionDelta.coalesce(List.of(new RemoveAttribute("a"), set("a", 3))));
    }

    @Test
    void namesAreIndependentAndKeepTheOrderOfTheirLastChange() {
        List<SessionOp> ops = SessionDelta.coalesce(List.of(set("a", 1), set("b", 1), new Access(5, false),
                set("a", 2), new Access(6, false), new MaxInactive(60)));
        assertEquals(List.of(set("b", 1), set("a", 2), new Access(6, false), new MaxInactive(60)), ops);
    }

    @Test
    void createStaysFirstAndExpireDiscardsWhatCameBefore() {
        List<SessionOp> ops = SessionDelta.coalesce(List.of(new Create(META), set("a", 1), new Access(5, false)));
        assertEquals(new Create(META), ops.get(0));
        assertEquals(3, ops.size());
        assertEquals(List.of(new Expire()),
                SessionDelta.coalesce(List.of(set("a", 1), new ChangeId("x"), new Expire())));
        assertEquals(List.of(new Create(META), new Expire()),
                SessionDelta.coalesce(List.of(new Create(META), set("a", 1), new Expire())));
        assertThrows(IllegalArgumentException.class, () -> SessionDelta.coalesce(List.of(new Expire(), set("a", 1))));
        assertThrows(IllegalArgumentException.class, () -> SessionDelta.coalesce(List.of(set("a", 1), new Create(META))));
    }

    @Test
    void twoIdChangesBecomeTheLast() {
        assertEquals(List.of(new ChangeId("C")), SessionDelta.coalesce(List.of(new ChangeId("B"), new ChangeId("C"))));
    }

    @Test
    void recorderHandsOutChainedDeltasAndSnapshotsAtTheirBoundaries() {
        SessionRecorder r = SessionRecorder.create("S1", META);
        r.setAttribute("a", new byte[] {1});
        SessionDelta d1 = r.drain().orElseThrow();
        assertEquals(0, d1.baseVersion());
        assertEquals(2, d1.version());
        assertTrue(d1.creates());
        assertTrue(r.drain().isEmpty(), "nothing changed since");
        r.setAttribute("a", new byte[] {2});
        r.removeAttribute("a");
        r.changeId("S2");
        assertEquals(2, r.snapshot().version(), "snapshot stays at the last drain");
        SessionDelta d2 = r.drain().orElseThrow();
        assertEquals("S1", d2.sessionId(), "a delta names the id its base had");
        assertEquals(2, d2.baseVersion());
        assertEquals(5, d2.version());
        assertEquals("S2", r.snapshot().id());
        assertEquals(Set.of(), r.snapshot().attributeNames());
        r.expire();
        assertThrows(IllegalStateException.class, () -> r.setAttribute("b", new byte[0]));
        SessionDelta d3 = r.drain().orElseThrow();
        assertEquals("S2", d3.sessionId());
        assertTrue(d3.expires());
    }

    @Test
    @Timeout(30)
    void concurrentRequestThreadsLoseNoOperation() throws Exception {
        SessionRecorder r = SessionRecorder.create("S", META);
        int threads = 4;
        int perThread = 2_000;
        ExecutorService pool = Executors.newFixedThreadPool(threads + 1);
        CountDownLatch start = new CountDownLatch(1);
        List<SessionDelta> drained = new ArrayList<>();
        try {
            List<Future<?>> writers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                writers.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < perThread; i++) {
                        r.setAttribute("t" + id + "-" + (i % 50), new byte[] {(byte) id, (byte) i});
                        if (i % 7 == 0) {
                            r.removeAttribute("t" + id + "-" + ((i + 1) % 50));
                        }
                    }
                    return null;
                }));
            }
            Future<?> drainer = pool.submit(() -> {
                start.await();
                while (!writers.stream().allMatch(Future::isDone)) {
                    r.drain().ifPresent(drained::add);
                }
                return null;
            });
            start.countDown();
            for (Future<?> w : writers) {
                w.get(20, TimeUnit.SECONDS);
            }
            drainer.get(20, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
        r.drain().ifPresent(drained::add);
        long expectedOps = 1 + threads * (perThread + (perThread + 6) / 7);
        assertEquals(expectedOps, r.version(), "every operation counted once");
        // The deltas chain and, applied in order to nothing, give exactly the primary's state.
        SessionRecord replica = null;
        long at = 0;
        for (SessionDelta d : drained) {
            assertEquals(at, d.baseVersion());
            SessionState s = SessionState.of(d.sessionId(), replica);
            s.apply(d.ops());
            replica = s.toRecord(d.version());
            at = d.version();
        }
        assertEquals(r.snapshot(), replica);
        for (int t = 0; t < threads; t++) {
            // Last write of each name by thread t: i = perThread - 50 + k, unless a later remove hit it.
            byte[] last = replica.attributeBytes("t" + t + "-" + ((perThread - 1) % 50));
            assertArrayEquals(new byte[] {(byte) t, (byte) (perThread - 1)}, last);
        }
    }
}
