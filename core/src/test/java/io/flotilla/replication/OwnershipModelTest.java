package io.flotilla.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.flotilla.Delivery;
import io.flotilla.Member;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Issue 12's randomized model: a few sessions on four members, {@code PROCESSED} writes of increasing counter values
 * routed to the session's owner on the writer's side (or, when that side has no owner, to a member that takes it
 * over), mixed with faults, one at a time: a pause (the member and the others remove each other, then it rejoins
 * with the same identity), a partition into two sides, an owner crash (kill -9, then the member restarts as a new
 * incarnation with state transfer). After every heal, after a bounded settle, and at the end it checks: exactly one
 * owner per session, every member holds the owner's version, no acknowledged write lost (the value kept is the last
 * write acknowledged on the winning side: the older owner's), nothing goes backwards, and every session both sides
 * wrote counted its discarded writes. Each run prints its seed and replays exactly (the cluster's member ids come from
 * the seed too): rerun seed S alone with {@code -Dmodel.firstSeed=S-7919 -Dmodel.seeds=1}.
 */
class OwnershipModelTest {
    private static final int MEMBERS = 4;
    private static final int SESSIONS = 3;
    private static final int STEPS = 300;
    private static final int SETTLE_STEPS = 10_000;
    /** Totals over every seed, printed by the last one. */
    private static final long[] TOTALS = new long[5];

    static Stream<Long> seeds() {
        // -Dmodel.seeds=N runs N seeds (more for a soak), -Dmodel.firstSeed=S starts elsewhere
        long first = Long.getLong("model.firstSeed", 12_000L);
        return Stream.concat(LongStream.rangeClosed(1, Integer.getInteger("model.seeds", 24))
                .mapToObj(i -> first + i * 7919), REGRESSIONS.stream());
    }

    /**
     * Seeds that found a defect in a soak, kept in every run. 6765032: a member restarted right after a heal got its
     * state transfer from a member that had not yet received the owner's last write (skipped while not ready again),
     * and stayed one version behind for good; fixed by the owners' check of the versions transferred. 9251598: a
     * replica whose owner was cut off fetched its full copy from another holder, took that holder for the owner and
     * refused the real owner's deltas after the heal, one version behind for good; fixed in SessionTable.applyFull.
     * 23476441: a member restarted at once got its state transfer while the source had dropped a copy for a moment
     * (a heal's other line of writes, being fetched again) and never held that session; fixed by the owners pushing
     * what a joiner did not list after its transfer (AntiEntropy.onVersions). 24656372: a member that lost a contest
     * answered a repair queued before with GONE, and a holder whose owner had just crashed deleted its copy; fixed
     * by dropping repairs of a handed-over session and by taking GONE from the owner only (SessionTable.gone).
     */
    private static final List<Long> REGRESSIONS = List.of(6_765_032L, 9_251_598L, 23_476_441L, 24_656_372L);

    private final Map<String, Long> base = new HashMap<>();
    /** Per session: the last acknowledged value on each side of the current fault (side index). */
    private final Map<String, Map<Integer, Long>> lastAck = new HashMap<>();
    /** Per session: the last write on each side that was not acknowledged (the owner holds it all the same). */
    private final Map<String, Map<Integer, Long>> unacked = new HashMap<>();
    private final Set<Integer> crashed = new HashSet<>();
    private EngineHarness h;
    private Random rnd;
    private List<Set<Integer>> sides;
    private long counter;
    private long writesChecked;
    private long faults;
    private long discardedSeen;
    /** Discarded writes counted by engines since closed (a crashed member's). */
    private long retiredDiscarded;

    private static final boolean TRACE = Boolean.getBoolean("model.trace");

    private void trace(String what) {
        if (TRACE) {
            System.out.println("  t=" + h.cluster.clock().nanoTime() / 1_000_000 + " " + what);
        }
    }

    private static String id(int s) {
        return String.format("%032X", 0xC0FFEEL + s);
    }

    private static ReplicationConfig config(boolean transfer) {
        return ReplicationConfig.builder().stateTransferOnStart(transfer).delivery(Delivery.PROCESSED).build();
    }

    @ParameterizedTest
    @MethodSource("seeds")
    void noAcknowledgedWriteIsLostUnderPausesPartitionsRestartsAndCrashes(long seed) {
        System.out.println("OwnershipModelTest seed " + seed);
        rnd = new Random(seed);
        h = new EngineHarness(MEMBERS, seed, EngineHarness.nodeConfig(100));
        try {
            h.cluster.network().delay(Duration.ZERO, Duration.ofMillis(2));
            for (int i = 0; i < MEMBERS; i++) {
                h.start(i, config(false));
            }
            sides = List.of(all());
            for (int s = 0; s < SESSIONS; s++) {
                int m = rnd.nextInt(MEMBERS);
                h.engine(m).create(id(s), 1800);
                assertTrue(write(m, id(s), 0), "the first write of " + id(s));
                base.put(id(s), lastAck.get(id(s)).get(0));
                lastAck.get(id(s)).clear();
            }
            for (int step = 0; step < STEPS; step++) {
                int r = rnd.nextInt(100);
                if (sides.size() == 1 && crashed.isEmpty() && r < 12) {
                    fault();
                } else if ((sides.size() > 1 || !crashed.isEmpty()) && r < 15) {
                    healAndCheck("step " + step);
                } else {
                    writeSomewhere();
                }
            }
            healAndCheck("the end");
            assertTrue(writesChecked > 0, "seed " + seed + ": no acknowledged write was checked");
            synchronized (TOTALS) {
                TOTALS[0]++;
                TOTALS[1] += STEPS;
                TOTALS[2] += faults;
                TOTALS[3] += writesChecked;
                TOTALS[4] += discardedSeen;
                System.out.println("OwnershipModelTest seed " + seed + ": " + faults + " faults, " + writesChecked
                        + " acknowledged writes checked, " + discardedSeen + " discarded by the heal rule (counted);"
                        + " totals over " + TOTALS[0] + " seeds x " + STEPS + " steps: " + TOTALS[2] + " faults, "
                        + TOTALS[3] + " writes checked, " + TOTALS[4] + " discarded, 0 lost");
            }
        } finally {
            h.close();
        }
    }

    private Set<Integer> all() {
        Set<Integer> a = new HashSet<>();
        for (int i = 0; i < MEMBERS; i++) {
            a.add(i);
        }
        return a;
    }

    private int sideOf(int m) {
        for (int i = 0; i < sides.size(); i++) {
            if (sides.get(i).contains(m)) {
                return i;
            }
        }
        throw new AssertionError("member " + m + " on no side");
    }

    // ------------------------------------------------------------------------------------------ faults

    private void fault() {
        healAndCheck("the fault"); // settles what the connected cluster acknowledged: the fault's base values
        faults++;
        int kind = rnd.nextInt(3);
        int m = rnd.nextInt(MEMBERS);
        if (kind == 0) { // a pause past dropTime: m and the others remove each other
            Set<Integer> rest = all();
            rest.remove(m);
            cut(Set.of(m), rest);
            sides = List.of(rest, Set.of(m));
            trace("pause " + m);
        } else if (kind == 1) { // a partition into two sides of two
            List<Integer> order = new ArrayList<>(all());
            Collections.shuffle(order, rnd);
            Set<Integer> a = new HashSet<>(order.subList(0, 2));
            Set<Integer> b = new HashSet<>(order.subList(2, 4));
            cut(a, b);
            sides = List.of(a, b);
            trace("partition " + sides);
        } else { // an owner crashes (kill -9); it comes back as a new incarnation at the heal
            m = ownerOf(id(rnd.nextInt(SESSIONS)), all()).orElse(m);
            crashed.add(m);
            trace("crash " + m);
            Member dead = h.cluster.member(m);
            for (int j = 0; j < MEMBERS; j++) {
                if (j != m) {
                    h.cluster.network().partition(dead, h.cluster.member(j));
                    h.cluster.membership(j).remove(dead, false);
                }
            }
            Set<Integer> rest = all();
            rest.remove(m);
            sides = List.of(rest);
        }
    }

    private void cut(Set<Integer> a, Set<Integer> b) {
        for (int x : a) {
            for (int y : b) {
                h.cluster.network().partition(h.cluster.member(x), h.cluster.member(y));
                h.cluster.membership(x).remove(h.cluster.member(y), false);
                h.cluster.membership(y).remove(h.cluster.member(x), false);
            }
        }
    }

    // ------------------------------------------------------------------------------------------ writes

    private void writeSomewhere() {
        List<Integer> live = new ArrayList<>(all());
        live.removeAll(crashed);
        int m = live.get(rnd.nextInt(live.size()));
        String id = id(rnd.nextInt(SESSIONS));
        int side = sideOf(m);
        Optional<Integer> owner = ownerOf(id, sides.get(side));
        int writer;
        if (owner.isPresent()) {
            writer = owner.get();
        } else {
            try {
                trace("take over " + id.substring(26) + " on " + m);
                if (h.takeOver(m, id).isEmpty()) {
                    return;
                }
            } catch (TakeOverException e) {
                trace("refused: " + e.getMessage());
                return; // refused, never an empty or stale session: nothing acknowledged
            }
            writer = m;
        }
        Object before = h.engine(writer).find(id).orElseThrow().getAttribute("n");
        long expected = lastAck.get(id).getOrDefault(side, base.get(id));
        assertTrue(before != null && (Long) before >= expected, "member " + writer + " serves " + id + " at "
                + before + " but " + expected + " was acknowledged on its side " + sides.get(side));
        write(writer, id, side);
    }

    /** One PROCESSED write of the next counter value; recorded when acknowledged. */
    private boolean write(int m, String id, int side) {
        PrimarySession s = h.engine(m).find(id).orElseThrow();
        long v = ++counter;
        s.setAttribute("n", v);
        CompletableFuture<Void> f = h.engine(m).replicate(id).toCompletableFuture();
        assertTrue(h.runUntil(f::isDone, 20_000), "write " + v + " on member " + m + " ended");
        trace("write " + id.substring(26) + "=" + v + " on " + m + (f.isCompletedExceptionally() ? " FAILED" : ""));
        if (f.isCompletedExceptionally()) {
            unacked.computeIfAbsent(id, k -> new HashMap<>()).put(side, v);
            return false;
        }
        lastAck.computeIfAbsent(id, k -> new HashMap<>()).put(side, v);
        writesChecked++;
        return true;
    }

    private Optional<Integer> ownerOf(String id, Set<Integer> among) {
        for (int i : among) {
            if (!crashed.contains(i) && h.engine(i).find(id).isPresent()) {
                return Optional.of(i);
            }
        }
        return Optional.empty();
    }

    // ------------------------------------------------------------------------------------------ heal and check

    private void healAndCheck(String when) {
        trace("heal " + when + " " + describe());
        long discardedBefore = discarded();
        h.cluster.network().heal();
        for (int x = 0; x < MEMBERS; x++) {
            for (int y = 0; y < MEMBERS; y++) {
                if (x != y && !crashed.contains(x) && !crashed.contains(y) && sideOf(x) != sideOf(y)) {
                    h.cluster.membership(x).join(h.cluster.member(y));
                }
            }
        }
        for (int m : crashed) {
            retiredDiscarded += h.engine(m).stats().writesDiscarded();
            h.engine(m).close();
            h.cluster.restart(m);
            h.start(m, config(true));
        }
        List<Set<Integer>> faultSides = sides;
        crashed.clear();
        sides = List.of(all());
        boolean settled = h.runUntil(() -> settled(true), SETTLE_STEPS);
        // A session whose owner crashed and that nobody asked for since has no owner: its next request takes it over.
        for (int s = 0; s < SESSIONS && settled; s++) {
            if (ownerOf(id(s), all()).isEmpty()) {
                assertTrue(h.takeOver(rnd.nextInt(MEMBERS), id(s)).isPresent(), "no member holds " + id(s));
            }
        }
        settled = settled && h.runUntil(() -> settled(false), SETTLE_STEPS);
        if (!settled) {
            fail("not settled " + SETTLE_STEPS + " ms after the heal at " + when + ": " + describe());
        }
        long discardedNow = discarded() - discardedBefore;
        int conflicts = 0;
        for (int s = 0; s < SESSIONS; s++) {
            String id = id(s);
            int owner = ownerOf(id, all()).orElseThrow();
            long kept = (Long) h.engine(owner).find(id).orElseThrow().getAttribute("n");
            Map<Integer, Long> acks = lastAck.get(id);
            int ownerSide = faultSides.size() == 1 ? 0 : indexOf(faultSides, owner);
            long expected = acks.getOrDefault(ownerSide, base.get(id));
            long newest = acks.values().stream().mapToLong(Long::longValue).max().orElse(base.get(id));
            Long failed = unacked.getOrDefault(id, Map.of()).get(ownerSide);
            if (failed != null && kept == failed && failed > expected) {
                expected = failed; // the owner's last write was not acknowledged, but it is the owner's value
            }
            assertEquals(expected, kept, "session " + id + " after the heal at " + when + ": owner " + owner
                    + ", acknowledged per side " + acks + " (sides " + faultSides + "), base " + base.get(id));
            assertTrue(kept >= base.get(id), "session " + id + " went backwards");
            if (kept != newest) {
                conflicts++;
            }
            base.put(id, kept);
            acks.clear();
            unacked.remove(id);
        }
        assertTrue(discardedNow >= conflicts, conflicts + " session(s) kept an older side's value but only "
                + discardedNow + " discarded write(s) were counted");
        discardedSeen += discardedNow;
    }

    private static int indexOf(List<Set<Integer>> sides, int m) {
        for (int i = 0; i < sides.size(); i++) {
            if (sides.get(i).contains(m)) {
                return i;
            }
        }
        return -1;
    }

    private long discarded() {
        long n = retiredDiscarded;
        for (int i = 0; i < MEMBERS; i++) {
            n += h.engine(i).stats().writesDiscarded();
        }
        return n;
    }

    /** One owner per session (or none, when {@code ownerless}), and every other member holds its version. */
    private boolean settled(boolean ownerless) {
        for (int s = 0; s < SESSIONS; s++) {
            String id = id(s);
            List<Integer> owners = new ArrayList<>();
            for (int i = 0; i < MEMBERS; i++) {
                if (h.engine(i).find(id).isPresent()) {
                    owners.add(i);
                }
            }
            if (owners.size() > 1 || owners.isEmpty() && !ownerless) {
                return false;
            }
            int owner = owners.isEmpty() ? -1 : owners.get(0);
            long version = owner >= 0 ? h.engine(owner).find(id).orElseThrow().version()
                    : h.engine(0).replica(id).map(SessionRecord::version).orElse(-1L);
            for (int i = 0; i < MEMBERS; i++) {
                if (i != owner
                        && h.engine(i).replica(id).map(r -> r.version() != version).orElse(true)) {
                    return false;
                }
            }
        }
        return true;
    }

    private String describe() {
        StringBuilder b = new StringBuilder();
        for (int s = 0; s < SESSIONS; s++) {
            b.append(id(s), 26, 32).append(':');
            for (int i = 0; i < MEMBERS; i++) {
                ReplicationEngine e = h.engine(i);
                b.append(" m").append(i).append(e.find(id(s)).map(p -> "=P" + p.version())
                        .orElse(e.replica(id(s)).map(r -> "=r" + r.version()).orElse("=-")));
            }
            b.append("; ");
        }
        return b.toString();
    }
}
