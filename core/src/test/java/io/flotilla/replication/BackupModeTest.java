package io.flotilla.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.View;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
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
import java.util.function.Predicate;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code BACKUP} mode ({@link Placement#backups}) on 16 members: placement stability (a join or a leave moves about
 * {@code backups / N} of the copies), O(backups) messages per write, and no acknowledged write lost while members
 * join, leave gracefully and crash, requests move sessions to any member (with a copy or without) and logins rename
 * them (one rename, or a login page's and the login's in a row), with the copies moved to where placement says after
 * each change and none left elsewhere, under a former id included.
 */
class BackupModeTest {
    private static final int MEMBERS = 16;
    private static final int SESSIONS = 48;
    private static final int STEPS = 240;
    private static final int SETTLE_STEPS = 20_000;

    // ------------------------------------------------------------------------------------------ placement alone

    private static Member member(int i, Random ids) {
        return new Member(MemberId.random(ids), "n" + i, "10.0.0." + (i + 1), 4000, "", new byte[0], i);
    }

    private static View view(List<Member> members) {
        return new View(1, members);
    }

    @Test
    void aJoinOrALeaveMovesAboutBackupsOverNOfTheCopies() {
        Random ids = new Random(42);
        List<Member> members = new ArrayList<>();
        for (int i = 0; i < MEMBERS; i++) {
            members.add(member(i, ids));
        }
        Member joiner = member(MEMBERS, ids);
        List<Member> grown = new ArrayList<>(members);
        grown.add(joiner);
        List<Member> shrunk = new ArrayList<>(members);
        Member leaver = shrunk.remove(7);
        for (int backups = 1; backups <= 2; backups++) {
            Placement p = Placement.backups(backups);
            int sessions = 20_000;
            int movedOnJoin = 0;
            int movedOnLeave = 0;
            Map<MemberId, Integer> load = new HashMap<>();
            for (int s = 0; s < sessions; s++) {
                String id = String.format("%032X", 0x5EED0000L + s * 7919L);
                Member primary = members.get(s % MEMBERS);
                List<Member> before = p.holders(id, primary, view(members));
                assertEquals(backups, before.size());
                assertTrue(before.stream().noneMatch(m -> m.equals(primary)), "the primary is not its own backup");
                before.forEach(m -> load.merge(m.id(), 1, Integer::sum));
                if (!new HashSet<>(p.holders(id, primary, view(grown))).equals(new HashSet<>(before))) {
                    movedOnJoin++;
                }
                if (!primary.equals(leaver) // its sessions are taken over, which is another matter
                        && !new HashSet<>(p.holders(id, primary, view(shrunk))).equals(new HashSet<>(before))) {
                    movedOnLeave++;
                }
            }
            double join = (double) movedOnJoin / sessions;
            double leave = (double) movedOnLeave / (sessions - sessions / MEMBERS);
            double ideal = (double) backups / MEMBERS;
            System.out.printf("BackupModeTest placement: backups=%d, %d members, %d sessions: a join moved %.2f%%, a "
                    + "leave %.2f%% of the sessions' copies (backups/N = %.2f%%); backup copies per member %d..%d%n",
                    backups, MEMBERS, sessions, 100 * join, 100 * leave, 100 * ideal,
                    load.values().stream().mapToInt(Integer::intValue).min().orElse(0),
                    load.values().stream().mapToInt(Integer::intValue).max().orElse(0));
            assertTrue(join <= 1.25 * ideal, "a join moved " + join + " of the copies, more than about " + ideal);
            assertTrue(leave <= 1.25 * ideal, "a leave moved " + leave + " of the copies, more than about " + ideal);
            double mean = (double) sessions * backups / MEMBERS;
            for (int n : load.values()) {
                assertTrue(n > 0.75 * mean && n < 1.25 * mean, "backup copies per member " + load.values()
                        + " are not spread within 25% of " + mean);
            }
        }
    }

    @Test
    void placementIsTheSameOnEveryMemberWhateverTheViewOrder() {
        Random ids = new Random(7);
        List<Member> members = new ArrayList<>();
        for (int i = 0; i < MEMBERS; i++) {
            members.add(member(i, ids));
        }
        List<Member> shuffled = new ArrayList<>(members);
        Collections.shuffle(shuffled, new Random(8));
        Placement p = Placement.backups(3);
        for (int s = 0; s < 1000; s++) {
            String id = "S" + s;
            assertEquals(p.holders(id, members.get(3), view(members)),
                    p.holders(id, members.get(3), view(shuffled)), id);
        }
    }

    // ------------------------------------------------------------------------------------------ engines

    /**
     * A hand-off whose grant never arrives (the former owner crashes after telling the others, before granting): the
     * former owner's backup, which the new owner's placement does not name, still holds the session, so a take-over
     * finds the last acknowledged write. It dropped its copy on the release before, and the session was lost.
     */
    @Test
    void aFormerOwnersBackupKeepsItsCopyUntilTheNewOwnerHasPlacedItsOwn() {
        int members = MEMBERS;
        startMembers(23);
        try {
            h.cluster.network().delay(Duration.ofMillis(1), Duration.ofMillis(1)); // one step per hop
            String id = createAndWrite(0, id(0));
            View view = liveView();
            int backup = indexOf(Placement.backups(1).holders(id, h.cluster.member(0), view).get(0));
            int asker = -1;
            for (int c = 1; c < members && asker < 0; c++) {
                Member cm = h.cluster.member(c);
                if (c != backup && !Placement.backups(1).holders(id, cm, view).contains(h.cluster.member(backup))) {
                    asker = c;
                }
            }
            assertTrue(asker > 0, "a member whose placement does not name the backup");
            int c = asker;
            h.engine(c).moveHere(id);
            assertTrue(h.runUntil(() -> h.engine(0).find(id).isEmpty(), 1000), "the owner released the session");
            h.cluster.network().partition(h.cluster.member(0), h.cluster.member(c)); // the grant never arrives
            h.runUntil(() -> false, 20); // the release reaches the others
            crash(0);
            int taker = 1;
            while (taker == backup || taker == c) {
                taker++;
            }
            Optional<PrimarySession> p = h.takeOver(taker, id);
            assertTrue(p.isPresent(), "a member still holds the session");
            assertEquals(acked.get(id), p.get().getAttribute("n"), "at its last acknowledged write");
        } finally {
            h.close();
        }
    }

    /**
     * A new holder that does not take its copy (here: every frame to it arrives after the timeout) fails the push:
     * counted and logged on the owner, and the copy it was to replace stays where it was. It was quiet.
     */
    @Test
    void aPushANewHolderDoesNotTakeIsCountedAndTheOldCopyStays() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        ReplicationConfig config = config();
        h = new EngineHarness(3, 31, EngineHarness.nodeConfig(100));
        try {
            h.start(0, ReplicationConfig.builder().placement(Placement.backups(1)).delivery(Delivery.PROCESSED)
                    .meterRegistry(registry).build());
            h.start(2, config);
            Member m1 = h.cluster.member(1);
            Member m2 = h.cluster.member(2);
            View all = new View(1, List.of(h.cluster.member(0), m1, m2));
            String id = null;
            for (int s = 1; id == null && s < 10_000; s++) { // its holder moves from member 2 to 1 once 1 listens
                String candidate = String.format("%032X", 0xB0B0000L + s);
                if (Placement.backups(1).holders(candidate, h.cluster.member(0), all).equals(List.of(m1))) {
                    id = candidate;
                }
            }
            assertTrue(id != null, "an id placed so");
            createAndWrite(0, id);
            String sid = id;
            assertTrue(h.engine(2).replica(sid).isPresent(), "member 2 holds it while member 1 does not listen");
            h.cluster.network().delay(h.cluster.member(0), m1, Duration.ofSeconds(60)); // past the 5 s timeout
            h.startUnsettled(1, config, null, () -> { });
            assertTrue(h.runUntil(() -> registry.get("flotilla.replication.push.failed").counter().count() == 1,
                    20_000), "the failed push was counted");
            assertTrue(h.engine(2).replica(sid).isPresent(), "the copy it was to replace stays");
        } finally {
            h.close();
        }
    }

    /**
     * A hand-off waits for the holders of the former owner and of the new one only, whatever the view's size: every
     * other member hears of it unwaited. It waited for every member, so one slow member slowed every move.
     */
    @Test
    void aHandOffWaitsForTheHoldersOfBothOwnersOnlyNotForEveryMember() {
        startMembers(37);
        try {
            String id = createAndWrite(0, id(0));
            View view = liveView();
            int asker = 1;
            Set<Member> involved = new HashSet<>(Placement.backups(1).holders(id, h.cluster.member(0), view));
            involved.addAll(Placement.backups(1).holders(id, h.cluster.member(asker), view));
            involved.add(h.cluster.member(0));
            involved.add(h.cluster.member(asker));
            int bystander = 2;
            while (involved.contains(h.cluster.member(bystander))) {
                bystander++;
            }
            h.cluster.network().partition(h.cluster.member(0), h.cluster.member(bystander)); // it would answer late
            CompletableFuture<Optional<PrimarySession>> move = h.engine(asker).moveHere(id).toCompletableFuture();
            assertTrue(h.runUntil(move::isDone, 200), "the move did not wait for member " + bystander);
            assertEquals(acked.get(id), move.join().orElseThrow().getAttribute("n"));
        } finally {
            h.close();
        }
    }

    /**
     * A rename to an id placement gives other holders (a new id, as session fixation protection makes at a login)
     * sends the write to a member new to the session, which lacks the version it starts from. It acknowledged the
     * write it had only buffered, so the owner's crash lost it; it now gets the whole session with the write, which
     * counts once it holds it. The former id's holder drops its copy then.
     */
    @Test
    void aWriteToAHolderNewToTheSessionCountsOnceItHoldsTheSession() {
        startMembers(29);
        try {
            // On member 1: once the write with the rename is acknowledged, the copy is on the new id's holder only.
            String moved = createAndRenameToOtherHolders(1, id(1));
            int former = indexOf(Placement.backups(1).holders(id(1), h.cluster.member(1), liveView()).get(0));
            int next = indexOf(Placement.backups(1).holders(moved, h.cluster.member(1), liveView()).get(0));
            assertTrue(h.runUntil(() -> h.engine(former).replica(moved).isEmpty()
                    && h.engine(former).replica(id(1)).isEmpty() && h.engine(next).replica(moved).isPresent(),
                    SETTLE_STEPS), "the copy moved from the former id's holder to the new id's");
            // On member 0: the write after the rename reaches the new holder only, and the owner crashes at once.
            String renamed = createAndRenameToOtherHolders(0, id(0));
            Member was = Placement.backups(1).holders(id(0), h.cluster.member(0), liveView()).get(0);
            assertTrue(write(0, renamed), "the next write went to the holder of the new id");
            crash(0);
            int taker = 1;
            while (h.cluster.member(taker).equals(was)) {
                taker++;
            }
            Optional<PrimarySession> p = h.takeOver(taker, renamed);
            assertTrue(p.isPresent(), "a holder took the session over");
            assertEquals(acked.get(renamed), p.get().getAttribute("n"), "at its last acknowledged write");
        } finally {
            h.close();
        }
    }

    /** A harness of {@link #MEMBERS} members under {@link #config()}, all started. */
    private void startMembers(long seed) {
        startMembers(seed, config());
    }

    private void startMembers(long seed, ReplicationConfig config) {
        h = new EngineHarness(MEMBERS, seed, EngineHarness.nodeConfig(100));
        for (int i = 0; i < MEMBERS; i++) {
            h.start(i, config);
        }
    }

    /** Creates {@code id} on member {@code m} and writes it (acknowledged); returns {@code id}. */
    private String createAndWrite(int m, String id) {
        h.engine(m).create(id, 1800);
        assertTrue(write(m, id));
        return id;
    }

    /**
     * Creates {@code id} on member {@code m} and writes it, then renames it to an id placement gives another backup
     * (as session fixation protection does at a login) and writes again: returns the new id.
     */
    private String createAndRenameToOtherHolders(int m, String id) {
        createAndWrite(m, id);
        Member was = backupOf(m, id);
        String renamed = idBackedUp(m, 0, b -> !b.equals(was));
        h.engine(m).find(id).orElseThrow().changeId(renamed);
        assertTrue(write(m, renamed), "the write with the rename went to the holders of both ids");
        return renamed;
    }

    /** The one backup placement gives {@code id} owned by member {@code m}. */
    private Member backupOf(int m, String id) {
        return Placement.backups(1).holders(id, h.cluster.member(m), liveView()).get(0);
    }

    /** A new id whose backup, owned by member {@code m}, is one {@code wanted} accepts; {@code salt} varies it. */
    private String idBackedUp(int m, int salt, Predicate<Member> wanted) {
        for (int s = 1; ; s++) {
            String candidate = String.format("%032X", 0xF1CA0000L + salt * 100_000L + m * 1000L + s);
            if (wanted.test(backupOf(m, candidate))) {
                return candidate;
            }
        }
    }

    /**
     * Two renames in a row, as a login page's and then the login's, the second the moment the first write is
     * acknowledged: the copy under the first new id, on the member that held the session before, was dropped after
     * the acknowledgement under the id the session had by then, so the second rename's copy went (no copy at all:
     * the owner's death lost the login), or the first one stayed. Found by {@code FormLoginFailoverIT}.
     */
    @Test
    void aRenameRightAfterAnAcknowledgedRenameLeavesOneCopyUnderTheNewestId() {
        startMembers(41);
        try {
            int m = 2;
            String id = createAndWrite(m, id(m));
            Member was = backupOf(m, id);
            String renamed = idBackedUp(m, 1, b -> !b.equals(was));
            String again = idBackedUp(m, 2, was::equals);
            PrimarySession s = h.engine(m).find(id).orElseThrow();
            s.changeId(renamed);
            s.setAttribute("n", ++counter);
            long last = ++counter;
            CompletableFuture<Void> second = h.engine(m).replicate(renamed).toCompletableFuture().thenCompose(v -> {
                s.changeId(again); // the next request, at once
                s.setAttribute("n", last);
                return h.engine(m).replicate(again);
            });
            assertTrue(h.runUntil(second::isDone, 20_000) && !second.isCompletedExceptionally(), "both writes acknowledged");
            Member backup = backupOf(m, again);
            assertTrue(h.runUntil(() -> copiesOf(id, renamed, again).equals(List.of(indexOf(backup) + ":" + again)),
                    SETTLE_STEPS), () -> "one copy, under " + again + " on its backup m" + indexOf(backup) + ": "
                    + copiesOf(id, renamed, again));
            crash(m);
            Optional<PrimarySession> p = h.takeOver(indexOf(backup), again);
            assertEquals(last, p.orElseThrow().getAttribute("n"), "the backup took over the last acknowledged write");
        } finally {
            h.close();
        }
    }

    /**
     * In {@code ASYNC} mode nothing waits for the holders, so no holder refuses a delta it cannot apply: the new id's
     * backup buffered the rename's delta for want of the session, asked for the former id after the gap timeout and
     * was told it is gone, while the former backup kept its copy for good. The owner now sends the new backup the whole
     * session with the delta, and the former one drops its copy once the new one received it.
     */
    @Test
    void inAsyncModeARenameMovesTheCopyToTheNewIdsBackup() {
        startMembers(43, ReplicationConfig.builder().placement(Placement.backups(1)).delivery(Delivery.ASYNC).build());
        try {
            int m = 3;
            String id = createAndWrite(m, id(m));
            Member was = backupOf(m, id);
            assertTrue(h.runUntil(() -> h.engine(indexOf(was)).replica(id).isPresent(), SETTLE_STEPS));
            String renamed = idBackedUp(m, 1, b -> !b.equals(was));
            PrimarySession s = h.engine(m).find(id).orElseThrow();
            s.changeId(renamed);
            assertTrue(write(m, renamed));
            int backup = indexOf(backupOf(m, renamed));
            long version = s.version();
            assertTrue(h.runUntil(() -> copiesOf(id, renamed).equals(List.of(backup + ":" + renamed))
                    && h.engine(backup).replica(renamed).orElseThrow().version() == version, SETTLE_STEPS),
                    () -> "one copy, under " + renamed + " on its backup m" + backup + " at version " + version + ": "
                            + copiesOf(id, renamed));
        } finally {
            h.close();
        }
    }

    /** The copies of any of {@code ids} held on any live member, as "member:id". */
    private List<String> copiesOf(String... ids) {
        List<String> out = new ArrayList<>();
        for (int i : live()) {
            for (String id : ids) {
                if (h.engine(i).replica(id).isPresent()) {
                    out.add(i + ":" + id);
                }
            }
        }
        return out;
    }

    /**
     * A session that follows its user from member to member takes each member's route suffix, so it comes back to
     * ids it had before; members that kept a copy or an owner under such an id (placement named them then) would
     * refuse its owner's deltas. Before every member forgot what it held under a renamed-to id, a write failed here.
     * Every member, a holder or not, resolves each former id to the current one.
     */
    @Test
    void aSessionThatTakesBackAnEarlierIdIsRefusedByNoMember() {
        h = new EngineHarness(6, 17, EngineHarness.nodeConfig(100));
        try {
            for (int i = 0; i < 6; i++) {
                h.start(i, config());
            }
            String base = String.format("%032X", 0xF00DL);
            h.engine(0).create(base + ".n0", 1800);
            assertTrue(write(0, base + ".n0"));
            int at = 0;
            Random order = new Random(17);
            for (int hop = 0; hop < 40; hop++) {
                int next = order.nextInt(6);
                if (next == at) {
                    continue;
                }
                String id = base + ".n" + at;
                CompletableFuture<Optional<PrimarySession>> move = h.engine(next).moveHere(id).toCompletableFuture();
                assertTrue(h.runUntil(move::isDone, 20_000) && move.join().isPresent(), "hop " + hop + " to " + next);
                String renamed = base + ".n" + next;
                move.join().get().changeId(renamed); // as the jvmRoute valve does
                assertTrue(write(next, renamed), "hop " + hop + ": the write on member " + next + " under "
                        + renamed + " was acknowledged by its holders");
                at = next;
            }
            String id = base + ".n" + at;
            // Every member, holder or not, learned each rename: a request with any former id finds the session.
            for (int i = 0; i < 6; i++) {
                for (int j = 0; j < 6; j++) {
                    assertEquals(id, h.engine(i).currentId(base + ".n" + j), "member " + i + " resolves .n" + j);
                }
            }
            assertTrue(h.runUntil(() -> {
                int copies = 0;
                for (int i = 0; i < 6; i++) {
                    for (int j = 0; j < 6; j++) {
                        copies += h.engine(i).replica(base + ".n" + j).isPresent() ? 1 : 0;
                    }
                }
                return copies == 1;
            }, SETTLE_STEPS), () -> "one backup copy in all, under the current id " + id + ": " + copies(base, 6));
        } finally {
            h.close();
        }
    }

    static Stream<Long> seeds() {
        long first = Long.getLong("backup.firstSeed", 31_000L);
        return LongStream.rangeClosed(1, Integer.getInteger("backup.seeds", 4)).mapToObj(i -> first + i * 7919);
    }

    private EngineHarness h;
    private Random rnd;
    private final Set<Integer> down = new HashSet<>();
    private final Map<String, Long> acked = new HashMap<>();
    private long counter;
    private long writesChecked;
    private long moves;
    /** The id each session has now (renames give new ones), and every id a session had before. */
    private final String[] current = new String[SESSIONS];
    private final List<String> formerIds = new ArrayList<>();
    private long renames;
    /** What {@link #placed} found out of place last. */
    private String unsettled = "";

    private static String id(int s) {
        return String.format("%032X", 0xBACC0000L + s);
    }

    private static ReplicationConfig config() {
        return ReplicationConfig.builder().placement(Placement.backups(1)).delivery(Delivery.PROCESSED)
                .stateTransferOnStart(true).build();
    }

    @ParameterizedTest
    @MethodSource("seeds")
    void noAcknowledgedWriteIsLostAsMembersJoinLeaveAndCrash(long seed) {
        System.out.println("BackupModeTest seed " + seed);
        rnd = new Random(seed);
        h = new EngineHarness(MEMBERS, seed, EngineHarness.nodeConfig(100));
        int faults = 0;
        try {
            for (int i = 0; i < MEMBERS; i++) {
                h.start(i, config());
            }
            for (int s = 0; s < SESSIONS; s++) {
                int m = rnd.nextInt(MEMBERS);
                current[s] = id(s);
                h.engine(m).create(id(s), 1800);
                assertTrue(write(m, id(s)), "the first write of " + id(s));
            }
            settleAndCheck("the creates");
            messagesPerWriteAreBackups();
            for (int step = 0; step < STEPS; step++) {
                int r = rnd.nextInt(100);
                if (r < 8 && down.size() < 3) {
                    faults++;
                    int m = live().get(rnd.nextInt(live().size()));
                    if (rnd.nextBoolean()) {
                        crash(m);
                    } else {
                        leave(m);
                    }
                    settleAndCheck("step " + step);
                } else if (r < 14 && !down.isEmpty()) {
                    int m = List.copyOf(down).get(rnd.nextInt(down.size()));
                    rejoin(m);
                    settleAndCheck("step " + step);
                } else {
                    writeSomewhere();
                }
            }
            for (int m : List.copyOf(down)) {
                rejoin(m);
            }
            settleAndCheck("the end");
            System.out.println("BackupModeTest seed " + seed + ": " + faults + " crashes and leaves, " + moves
                    + " moves to a member without a copy or with one, " + renames + " renames, " + writesChecked
                    + " acknowledged writes checked, 0 lost, no copy left where placement does not name it");
        } finally {
            h.close();
        }
    }

    private String copies(String base, int members) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < members; i++) {
            for (int j = 0; j < members; j++) {
                String id = base + ".n" + j;
                if (h.engine(i).replica(id).isPresent()) {
                    b.append(" m").append(i).append(" holds .n").append(j).append(" v")
                            .append(h.engine(i).replica(id).get().version());
                }
                if (h.engine(i).find(id).isPresent()) {
                    b.append(" m").append(i).append(" owns .n").append(j);
                }
            }
        }
        return b.toString();
    }

    private List<Integer> live() {
        List<Integer> l = new ArrayList<>();
        for (int i = 0; i < MEMBERS; i++) {
            if (!down.contains(i)) {
                l.add(i);
            }
        }
        return l;
    }

    /**
     * kill -9: cut off, removed by the others (not gracefully), and its engine stopped while cut off, so it sends
     * nothing more (an engine left running would go on acting on its own view, and members restarted later, which
     * are not cut off from it, would hear it).
     */
    private void crash(int m) {
        down.add(m);
        Member dead = h.cluster.member(m);
        for (int j = 0; j < MEMBERS; j++) {
            if (j != m) {
                h.cluster.network().partition(dead, h.cluster.member(j));
                h.cluster.membership(j).remove(dead, false);
            }
        }
        h.engine(m).close();
    }

    /** A graceful stop: the engine closes (UNREADY), then the member leaves every view. */
    private void leave(int m) {
        down.add(m);
        h.engine(m).close();
        for (int j = 0; j < MEMBERS; j++) {
            if (j != m) {
                h.cluster.membership(j).remove(h.cluster.member(m), true);
            }
        }
    }

    /** Back as a new incarnation, with an empty engine: the owners push it what placement gives it. */
    private void rejoin(int m) {
        down.remove(m);
        h.engine(m).close();
        h.cluster.restart(m);
        h.start(m, config());
    }

    private void writeSomewhere() {
        int slot = rnd.nextInt(SESSIONS);
        String id = current[slot];
        Optional<Integer> owner = ownerOf(id);
        int writer;
        if (owner.isPresent() && rnd.nextInt(4) == 0) { // any-node access: a request on another member moves it
            writer = live().get(rnd.nextInt(live().size()));
            CompletableFuture<Optional<PrimarySession>> move = h.engine(writer).moveHere(id).toCompletableFuture();
            assertTrue(h.runUntil(move::isDone, 20_000), "the move of " + id + " to member " + writer + " ended");
            assertTrue(move.join().isPresent(), "member " + writer + " got " + id + " from its owner " + owner.get());
            moves++;
        } else if (owner.isPresent()) {
            writer = owner.get();
        } else {
            writer = live().get(rnd.nextInt(live().size()));
            assertTrue(h.takeOver(writer, id).isPresent(), "a backup of " + id + " survived, so member " + writer
                    + " takes it over");
        }
        long n = (Long) h.engine(writer).find(id).orElseThrow().getAttribute("n");
        assertEquals(acked.get(id), n, "member " + writer + " serves " + id + " at the last acknowledged value");
        int r = rnd.nextInt(12);
        if (r == 0) {
            write(writer, rename(slot, writer));
        } else if (r == 1) {
            renameTwice(slot, writer);
        } else {
            write(writer, id);
        }
    }

    /** Renames the session in {@code slot}, owned by member {@code m}, to a new id (as a login does); returns it. */
    private String rename(int slot, int m) {
        String from = current[slot];
        String to = String.format("%032X", 0xBEEF00000L + formerIds.size());
        h.engine(m).find(from).orElseThrow().changeId(to);
        formerIds.add(from);
        current[slot] = to;
        acked.put(to, acked.remove(from));
        renames++;
        return to;
    }

    /**
     * A login page's rename and write, then the login's rename and write the moment the first is acknowledged (from
     * its completion): the former holder's drop of the first must not take the second's copy.
     */
    private void renameTwice(int slot, int m) {
        PrimarySession s = h.engine(m).find(current[slot]).orElseThrow();
        String first = rename(slot, m);
        long v1 = ++counter;
        long v2 = ++counter;
        s.setAttribute("n", v1);
        boolean[] firstAcked = new boolean[1];
        CompletableFuture<Void> both = h.engine(m).replicate(first).toCompletableFuture().thenCompose(v -> {
            firstAcked[0] = true;
            String second = rename(slot, m);
            s.setAttribute("n", v2);
            return h.engine(m).replicate(second);
        });
        assertTrue(h.runUntil(both::isDone, 20_000), "the two renamed writes on member " + m + " ended");
        if (firstAcked[0]) {
            acked.put(current[slot], both.isCompletedExceptionally() ? v1 : v2);
        }
    }

    private boolean write(int m, String id) {
        PrimarySession s = h.engine(m).find(id).orElseThrow();
        long v = ++counter;
        s.setAttribute("n", v);
        CompletableFuture<Void> f = h.engine(m).replicate(id).toCompletableFuture();
        assertTrue(h.runUntil(f::isDone, 20_000), "write " + v + " on member " + m + " ended");
        if (f.isCompletedExceptionally()) {
            return false;
        }
        acked.put(id, v);
        writesChecked++;
        return true;
    }

    private Optional<Integer> ownerOf(String id) {
        for (int i : live()) {
            if (h.engine(i).find(id).isPresent()) {
                return Optional.of(i);
            }
        }
        return Optional.empty();
    }

    private void messagesPerWriteAreBackups() {
        long before = deltasReceived();
        int writes = 20;
        for (int w = 0; w < writes; w++) {
            String id = current[w % SESSIONS];
            assertTrue(write(ownerOf(id).orElseThrow(), id));
        }
        assertEquals(writes, deltasReceived() - before, "one delta per write with one backup, among " + MEMBERS
                + " members");
    }

    private long deltasReceived() {
        long n = 0;
        for (int i : live()) {
            n += h.engine(i).stats().deltasReceived();
        }
        return n;
    }

    /**
     * Every session has one owner (an ownerless one, whose owner crashed, is taken over first: a backup survived),
     * which serves the last acknowledged value, and each holder placement names holds the owner's version.
     */
    private void settleAndCheck(String when) {
        if (!h.runUntil(() -> placed(true), SETTLE_STEPS)) {
            fail("not settled after " + when + " (" + unsettled + "): " + describe());
        }
        for (int s = 0; s < SESSIONS; s++) {
            String id = current[s];
            if (ownerOf(id).isEmpty()) {
                int taker = live().get(rnd.nextInt(live().size()));
                assertTrue(h.takeOver(taker, id).isPresent(), "no member holds " + id + " after " + when);
            }
        }
        if (!h.runUntil(() -> placed(false), SETTLE_STEPS)) {
            fail("copies not where placement says after " + when + " (" + unsettled + "): " + describe());
        }
        for (int s = 0; s < SESSIONS; s++) {
            String id = current[s];
            int owner = ownerOf(id).orElseThrow();
            assertEquals(acked.get(id), h.engine(owner).find(id).orElseThrow().getAttribute("n"),
                    "session " + id + " after " + when + " on its owner " + owner);
        }
    }

    /** One live owner per session (or none, when {@code ownerless}), and each placed holder at its version. */
    private boolean placed(boolean ownerless) {
        for (int s = 0; s < SESSIONS; s++) {
            String id = current[s];
            List<Integer> owners = new ArrayList<>();
            for (int i : live()) {
                if (h.engine(i).find(id).isPresent()) {
                    owners.add(i);
                }
            }
            if (owners.size() > 1 || owners.isEmpty() && !ownerless) {
                unsettled = id + " has owners " + owners;
                return false;
            }
            if (owners.isEmpty()) {
                continue;
            }
            int owner = owners.get(0);
            long version = h.engine(owner).find(id).orElseThrow().version();
            View targets = liveView();
            Set<Integer> holders = new HashSet<>();
            for (Member m : Placement.backups(1).holders(id, h.cluster.member(owner), targets)) {
                int i = indexOf(m);
                holders.add(i);
                if (h.engine(i).replica(id).map(r -> r.version() != version).orElse(true)) {
                    unsettled = id + " owned by m" + owner + " at " + version + " is not held by m" + i;
                    return false;
                }
            }
            for (int i : live()) {
                if (i != owner && !holders.contains(i) && h.engine(i).replica(id).isPresent()) {
                    unsettled = id + " owned by m" + owner + " is still held by m" + i + ", which placement does "
                            + "not name";
                    return false;
                }
            }
        }
        for (String former : formerIds) {
            for (int i : live()) {
                if (h.engine(i).replica(former).isPresent()) {
                    unsettled = "m" + i + " still holds a copy under the former id " + former;
                    return false;
                }
            }
        }
        return true;
    }

    private View liveView() {
        List<Member> members = new ArrayList<>();
        for (int i : live()) {
            members.add(h.cluster.member(i));
        }
        return new View(0, members);
    }

    private int indexOf(Member m) {
        for (int i = 0; i < MEMBERS; i++) {
            if (h.cluster.member(i).id().equals(m.id())) {
                return i;
            }
        }
        throw new AssertionError(m + " is no member");
    }

    private String describe() {
        StringBuilder b = new StringBuilder();
        for (int s = 0; s < SESSIONS; s++) {
            b.append(current[s], 26, 32).append(':');
            for (int i = 0; i < MEMBERS; i++) {
                ReplicationEngine e = h.engine(i);
                String st = e.find(current[s]).map(p -> "P" + p.version())
                        .orElse(e.replica(current[s]).map(r -> "r" + r.version()).orElse(null));
                if (st != null) {
                    b.append(" m").append(i).append(down.contains(i) ? "(down)" : "").append('=').append(st);
                }
            }
            b.append("; ");
        }
        return b.toString();
    }
}
