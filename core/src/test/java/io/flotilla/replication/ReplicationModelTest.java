package io.flotilla.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.Member;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Model-based: random request sequences (create, set, remove, access, max inactive, change id, invalidate) on a
 * primary replicate through three real delivery engines on a network that drops, duplicates and reorders frames, and
 * is partitioned long enough for the node to abandon messages ({@code maxRetryAttempts=2}). After a heal every
 * replica equals the primary: the same ids, and per session the same version, metadata and attribute bytes. Each
 * failure names its seed; rerun one by putting it in {@link #seeds()}.
 */
class ReplicationModelTest {

    private static final AtomicLong ABANDONED = new AtomicLong();
    private static final AtomicLong REPAIRS = new AtomicLong();
    private static final AtomicLong FULL_REQUESTS = new AtomicLong();

    /** The faults the test is about did happen: abandoned messages, owner repairs, replica full-session requests. */
    @AfterAll
    static void theFaultsWereExercised() {
        assertTrue(ABANDONED.get() > 0 && REPAIRS.get() > 0 && FULL_REQUESTS.get() > 0, "abandoned=" + ABANDONED
                + " repairs=" + REPAIRS + " fullRequests=" + FULL_REQUESTS);
        System.out.println("ReplicationModelTest: abandoned=" + ABANDONED + " repairs=" + REPAIRS + " fullRequests="
                + FULL_REQUESTS);
    }

    static LongStream seeds() {
        return LongStream.range(0, 60).map(i -> 0xF10A_0000L + i * 104_729L);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    @Timeout(60)
    void everyReplicaEqualsThePrimaryAfterFaults(long seed) {
        try {
            run(seed);
        } catch (AssertionError | RuntimeException e) {
            throw new AssertionError("seed " + seed + ": " + e.getMessage(), e);
        }
    }

    private static void run(long seed) {
        Random rnd = new Random(seed);
        try (EngineHarness h = new EngineHarness(3, seed, EngineHarness.nodeConfig(2))) {
            ReplicationConfig cfg = ReplicationConfig.builder().stateTransferOnStart(false)
                    .accessInterval(Duration.ofMillis(rnd.nextInt(3) * 200L))
                    .maxBufferedPerSession(1 + rnd.nextInt(8)).build();
            for (int i = 0; i < 3; i++) {
                h.start(i, cfg);
            }
            h.cluster.network().drop(0.05).duplicate(0.05).delay(Duration.ZERO, Duration.ofMillis(4));
            ReplicationEngine p = h.engine(0);
            List<String> live = new ArrayList<>();
            int created = 0;
            int steps = 100 + rnd.nextInt(200);
            Member partitioned = null;
            long healAtNanos = 0;
            for (int step = 0; step < steps; step++) {
                if (partitioned == null && rnd.nextInt(40) == 0) {
                    partitioned = h.cluster.member(1 + rnd.nextInt(2));
                    h.cluster.network().partition(h.cluster.member(0), partitioned);
                    healAtNanos = h.cluster.clock().nanoTime() + Duration.ofMillis(500 + rnd.nextInt(4000)).toNanos();
                } else if (partitioned != null && h.cluster.clock().nanoTime() >= healAtNanos) {
                    h.cluster.network().heal();
                    partitioned = null;
                }
                if (live.isEmpty() || rnd.nextInt(10) == 0) {
                    String id = String.format("%032X", seed * 31 + created++);
                    p.create(id, 1800);
                    live.add(id);
                }
                String id = live.get(rnd.nextInt(live.size()));
                PrimarySession s = p.find(id).orElseThrow();
                int ops = 1 + rnd.nextInt(4);
                boolean gone = false;
                for (int k = 0; k < ops && !gone; k++) {
                    int c = rnd.nextInt(100);
                    String name = "a" + rnd.nextInt(6);
                    if (c < 45) {
                        s.setAttribute(name, rnd.nextInt(4) == 0 ? List.of(rnd.nextInt(), "x" + step) : rnd.nextInt(50));
                    } else if (c < 60) {
                        s.removeAttribute(name);
                    } else if (c < 80) {
                        s.access(rnd.nextBoolean());
                    } else if (c < 88) {
                        s.maxInactiveInterval(600 + rnd.nextInt(3) * 600);
                    } else if (c < 94) {
                        String next = String.format("%032X", seed * 31 + created++);
                        s.changeId(next);
                        live.set(live.indexOf(id), next);
                        id = next;
                    } else {
                        s.invalidate();
                        live.remove(id);
                        gone = true;
                    }
                }
                if (!gone) {
                    p.replicate(id);
                }
                h.advance(Duration.ofMillis(rnd.nextInt(30)));
            }
            h.cluster.network().heal();
            h.cluster.network().calm();
            for (String id : live) {
                p.replicate(id); // an access not yet due is sent with nothing else; make the primary current
            }
            String why = converged(h, live);
            for (int i = 0; i < 400 && why != null; i++) {
                h.advance(Duration.ofMillis(100));
                why = converged(h, live);
            }
            assertEquals(null, why, "replicas converge; network " + h.cluster.network());
            var reg0 = h.cluster.node(0).meterRegistry();
            ABANDONED.addAndGet((long) reg0.counter("flotilla.messages.abandoned").count());
            REPAIRS.addAndGet((long) reg0.counter("flotilla.replication.repairs").count());
            for (int r = 1; r < 3; r++) {
                FULL_REQUESTS.addAndGet((long) h.cluster.node(r).meterRegistry()
                        .counter("flotilla.replication.full.requests.sent").count());
            }
            assertTrue(live.size() <= created);
        }
    }

    /** Null when every replica equals the primary; otherwise what differs. */
    private static String converged(EngineHarness h, List<String> live) {
        ReplicationEngine p = h.engine(0);
        Set<String> ids = p.primaryIds();
        if (!ids.equals(Set.copyOf(live))) {
            return "primary ids " + ids.size() + " != model " + live.size();
        }
        for (int r = 1; r < 3; r++) {
            ReplicationEngine e = h.engine(r);
            if (!e.replicaIds().equals(ids)) {
                return "replica " + r + " holds " + e.replicaIds().size() + " sessions, primary " + ids.size();
            }
            for (String id : ids) {
                PrimarySession s = p.find(id).orElseThrow();
                SessionRecord want;
                synchronized (s) {
                    want = s.recorder().snapshot();
                }
                SessionRecord got = e.replica(id).orElse(null);
                if (!want.equals(got)) {
                    return "replica " + r + " has " + got + " " + (got == null ? "" : got.metadata()) + ", primary "
                            + want + " " + want.metadata();
                }
            }
        }
        return null;
    }
}
