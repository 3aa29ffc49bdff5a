package io.flotilla.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.RemoteProcessingException;
import io.flotilla.View;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/**
 * Issue 12's numbered ownership cases on the fault-injecting in-memory network: each asserts that no write acknowledged
 * in {@code PROCESSED} mode is lost and that holders agree after a heal.
 */
class OwnershipTest {
    private static final String ID = "0123456789ABCDEF0123456789ABCDEF";
    private static final int STEPS = 20_000;

    private static ReplicationConfig processed() {
        return ReplicationConfig.builder().stateTransferOnStart(false).delivery(Delivery.PROCESSED).build();
    }

    private static EngineHarness cluster(int size, long seed) {
        return cluster(size, seed, 100);
    }

    /** {@code maxRetryAttempts} 1: a message to a member whose link is cut is abandoned at once. */
    private static EngineHarness cluster(int size, long seed, int maxRetryAttempts) {
        System.out.println("OwnershipTest seed " + seed);
        EngineHarness h = new EngineHarness(size, seed, EngineHarness.nodeConfig(maxRetryAttempts));
        for (int i = 0; i < size; i++) {
            h.start(i, processed());
        }
        return h;
    }

    /** Writes n = value on member i's primary and waits for the acknowledgement; fails if it is not acknowledged. */
    private static void ackedWrite(EngineHarness h, int i, String id, int value) {
        PrimarySession s = h.engine(i).find(id).orElseThrow(() -> new AssertionError("member " + i + " owns no " + id));
        s.setAttribute("n", value);
        CompletableFuture<Void> f = h.engine(i).replicate(id).toCompletableFuture();
        assertTrue(h.runUntil(f::isDone, STEPS), "write " + value + " on member " + i + " finished");
        assertFalse(f.isCompletedExceptionally(), "write " + value + " on member " + i + " acknowledged: " + f);
    }

    private static Object n(EngineHarness h, int i, String id) {
        return h.engine(i).replica(id).orElseThrow().attribute("n", h.engine(i).codec(), OwnershipTest.class.getClassLoader());
    }

    /**
     * A full copy sent {@code PROCESSED} (the write it carries counts once it is held, as for a holder new to the
     * session) that the holder refuses because another live member owns the session fails its sender, as such a delta
     * does. It was dropped and answered as processed: the write counted a copy the holder did not keep.
     */
    @Test
    void aProcessedFullCopyFromAMemberThatDoesNotOwnTheSessionFailsItsSender() {
        EngineHarness h = cluster(3, 61);
        try {
            h.engine(0).create(ID, 1800);
            ackedWrite(h, 0, ID, 1);
            SessionRecord stale = h.engine(2).replica(ID).orElseThrow();
            ByteBuffer full = ReplicationMessages.wrap(ReplicationMessages.FULL,
                    new SessionCodec(CodecConfig.defaults()).encodeRecord(SessionRecord.owning(ID, stale.version() + 1,
                            stale.metadata(), stale.attributesUnsafe())));
            CompletableFuture<Void> f = h.cluster.node(1).send(h.cluster.member(2), processed().replicationTopic(),
                    full, Delivery.PROCESSED).toCompletableFuture();
            assertTrue(h.runUntil(f::isDone, STEPS));
            CompletionException e = assertThrows(CompletionException.class, f::join);
            assertTrue(e.getCause() instanceof RemoteProcessingException r
                    && r.remoteError().contains("refused") && r.remoteError().contains("owns it"), e.getCause().toString());
            assertEquals(stale.version(), h.engine(2).replica(ID).orElseThrow().version(), "the copy was not taken");
        } finally {
            h.close();
        }
    }

    /**
     * A new holder that refuses a session's full copy (here: it owns a session of that id itself, not known to the
     * owner) does not count as holding it: the holder placement no longer names keeps its copy of the acknowledged
     * write. The rebalancer sent the copy {@code RECEIVED}, took the refused copy for held and had the old holder drop
     * its own: the owner's was then the only copy of that write.
     */
    @Test
    void aHolderThatRefusesTheMovedCopyLeavesTheFormerHoldersCopyInPlace() {
        EngineHarness h = new EngineHarness(3, 62, EngineHarness.nodeConfig(100));
        try {
            ownerBeforeTheNewcomer(h);
            h.engine(2).create(ID, 1800); // member 2 owns a session of that id too
            heal(h, 0, 2);
            // member 0's rebalancer pushes its copy to member 2, which refuses it
            formerHolderKeeps(h, ID);
        } finally {
            h.close();
        }
    }

    /**
     * In {@code ASYNC} mode a rename to an id placement gives another holder sends that holder the whole session, and
     * the former holder drops its copy once the new one holds it; a new holder that refuses it (it owns a session of
     * that id itself) leaves the former holder's copy in place. Sent {@code RECEIVED}, the refused copy counted as
     * held and the session was left on its owner alone.
     */
    @Test
    void inAsyncModeARenameWhoseNewHolderRefusesTheSessionLeavesTheFormerHoldersCopy() {
        String renamed = "FEDCBA9876543210FEDCBA9876543210";
        EngineHarness h = new EngineHarness(3, 63, EngineHarness.nodeConfig(100));
        try {
            Member b = h.cluster.member(1);
            Member c = h.cluster.member(2);
            Placement byId = (id, self, view) -> List.of(id.equals(renamed) ? c : b);
            startThree(h, Delivery.ASYNC, byId);
            PrimarySession s = h.engine(0).create(ID, 1800);
            s.setAttribute("n", 1);
            h.engine(0).replicate(ID);
            assertTrue(h.runUntil(() -> h.engine(1).replica(ID).isPresent(), STEPS), "member 1 holds the session");
            h.engine(2).create(renamed, 1800); // member 2 owns a session of the new id
            s.changeId(renamed);
            h.engine(0).replicate(renamed);
            formerHolderKeeps(h, renamed);
        } finally {
            h.close();
        }
    }

    /**
     * A holder new to a session whose full copy never reached it (the rebalancer's push was abandoned while the link
     * was cut) refuses the next delta with {@code MissingCopyException} instead of acknowledging a delta it cannot
     * apply; the owner sends it the whole session and counts the write once it holds it.
     */
    @Test
    void aWriteToANewHolderThatMissedThePushCountsOnceItHoldsTheWholeSession() {
        EngineHarness h = new EngineHarness(3, 64, EngineHarness.nodeConfig(1));
        try {
            ownerBeforeTheNewcomer(h);
            Member c = h.cluster.member(2);
            double pushed = fullSent(h);
            h.cluster.network().delay(h.cluster.member(0), c, Duration.ofMillis(50)); // the push stays in flight
            heal(h, 0, 2);
            assertTrue(h.runUntil(() -> fullSent(h) > pushed, STEPS), "member 0 pushed its copy to member 2");
            h.cluster.network().partition(h.cluster.member(0), c); // ... and is lost: abandoned after one retry
            assertTrue(h.runUntil(() -> h.cluster.node(0).meterRegistry().counter("flotilla.messages.abandoned")
                    .count() >= 1, STEPS), "the push was abandoned");
            h.cluster.network().heal();
            h.cluster.network().delay(h.cluster.member(0), c, Duration.ZERO);
            assertFalse(h.engine(2).replica(ID).isPresent(), "member 2 never got the session");

            ackedWrite(h, 0, ID, 2); // its delta goes to member 2, which has nothing to apply it to
            assertTrue(h.cluster.node(2).meterRegistry().counter("flotilla.messages.refused").count() >= 1,
                    "member 2 refused the delta it could not apply");
            assertEquals(2, n(h, 2, ID), "the acknowledged write is on member 2");
            assertTrue(h.engine(1).replica(ID).isPresent(), "the failed push dropped nothing");
        } finally {
            h.close();
        }
    }

    private static double fullSent(EngineHarness h) {
        return h.cluster.node(0).meterRegistry().counter("flotilla.replication.full.sent").count();
    }

    /**
     * Members 0 to 2 started {@code PROCESSED}, member 2 outside member 0's view: member 0's placement names member 2
     * once it is there ({@link #heal}), member 1 until then. Member 0 owns {@link #ID} with n = 1 acknowledged, held by
     * member 1.
     */
    private static void ownerBeforeTheNewcomer(EngineHarness h) {
        Member c = h.cluster.member(2);
        h.cluster.membership(0).remove(c, false);
        h.cluster.membership(2).remove(h.cluster.member(0), false);
        startThree(h, Delivery.PROCESSED, (id, self, view) -> view.find(c.id()).map(List::of)
                .orElseGet(() -> view.othersThan(self.id())));
        h.engine(0).create(ID, 1800);
        ackedWrite(h, 0, ID, 1);
    }

    /** Starts members 0 to 2 in {@code delivery} mode: member 0 places copies by {@code placement}, the others none. */
    private static void startThree(EngineHarness h, Delivery delivery, Placement placement) {
        for (int i = 0; i <= 2; i++) {
            h.start(i, ReplicationConfig.builder().stateTransferOnStart(false).delivery(delivery)
                    .placement(i == 0 ? placement : (id, self, view) -> List.of()).build());
        }
    }

    /**
     * Once member 2 refused member 0's copy of {@code id} (it owns a session of that id) and a drop, if one was sent,
     * arrived: member 1, the former holder, still holds {@code id} with n = 1.
     */
    private static void formerHolderKeeps(EngineHarness h, String id) {
        assertTrue(h.runUntil(() -> h.cluster.node(2).meterRegistry().find("flotilla.replication.dropped")
                .tag("reason", "not_owner").functionCounter().count() >= 1, STEPS), "member 2 refused the copy");
        h.runUntil(() -> false, 500);
        assertTrue(h.engine(1).replica(id).isPresent(), "the former holder keeps its copy");
        assertEquals(1, n(h, 1, id));
    }

    /** Members a and b stop seeing each other: the link is cut and each removes the other from its view. */
    private static void split(EngineHarness h, int a, int b) {
        Member ma = h.cluster.member(a);
        Member mb = h.cluster.member(b);
        h.cluster.network().partition(ma, mb);
        h.cluster.membership(a).remove(mb, false);
        h.cluster.membership(b).remove(ma, false);
    }

    /** Heals every cut and lets a and b, with the same identities, see each other again. */
    private static void heal(EngineHarness h, int a, int b) {
        h.cluster.network().heal();
        rejoin(h, a, b);
    }

    /** a and b, with the same identities, see each other again (the links as they are). */
    private static void rejoin(EngineHarness h, int a, int b) {
        h.cluster.membership(a).join(h.cluster.member(b));
        h.cluster.membership(b).join(h.cluster.member(a));
    }

    /** Member i crashes: nobody reaches it, and every other member removes it. */
    private static void crash(EngineHarness h, int i, int size) {
        for (int j = 0; j < size; j++) {
            if (j != i) {
                h.cluster.network().partition(h.cluster.member(i), h.cluster.member(j));
                h.cluster.membership(j).remove(h.cluster.member(i), false);
            }
        }
    }

    /** Member 0 owns ID with 1-7 held everywhere; member 1 pauses past dropTime, misses 8-10 and comes back as itself. */
    private static void member1MissesWrites(EngineHarness h) {
        h.engine(0).create(ID, 1800);
        for (int v = 1; v <= 7; v++) {
            ackedWrite(h, 0, ID, v);
        }
        assertEquals(7, n(h, 1, ID));
        // member 1 pauses longer than dropTime: 0 and 2 remove it, it removes them; then it comes back as itself
        split(h, 0, 1);
        split(h, 2, 1);
        for (int v = 8; v <= 10; v++) {
            ackedWrite(h, 0, ID, v);
        }
        heal(h, 0, 1);
        heal(h, 2, 1);
    }

    @Test
    void aMemberThatMissedAcknowledgedWritesWhileRemovedNeverTakesOverWithItsStaleCopy() {
        try (EngineHarness h = cluster(3, 12_001)) {
            member1MissesWrites(h);
            h.runUntil(() -> false, 5_000);
            // the owner crashes; the next request lands on member 1
            crash(h, 0, 3);
            PrimarySession taken = h.takeOver(1, ID).orElseThrow();
            assertEquals(10, taken.getAttribute("n"), "member 1 took over the acknowledged version, not its stale 7");
            taken.setAttribute("n", 11);
            CompletableFuture<Void> f = h.engine(1).replicate(ID).toCompletableFuture();
            assertTrue(h.runUntil(f::isDone, STEPS));
            assertTrue(h.runUntil(() -> h.engine(2).replica(ID).map(r -> 11 == (Integer) n(h, 2, ID)).orElse(false),
                    STEPS), "member 2 follows the new owner without losing anything: " + h.engine(2).replica(ID));
        }
    }

    @Test
    void aTakeOverBeforeAnyReconciliationStillAdoptsTheNewestCopyInTheView() {
        try (EngineHarness h = cluster(3, 12_004)) {
            member1MissesWrites(h);
            // the owner crashes before anything of the heal reached member 1: only the round can find version 10
            crash(h, 0, 3);
            assertEquals(7, n(h, 1, ID), "member 1 still holds its stale copy");
            PrimarySession taken = h.takeOver(1, ID).orElseThrow();
            assertEquals(10, taken.getAttribute("n"), "the round adopted member 2's copy");
            ackedWrite(h, 1, ID, 11);
            assertEquals(11, n(h, 2, ID));
        }
    }

    @Test
    void aDeltaRefusedForOwnershipFailsTheWriteInsteadOfAcknowledgingIt() {
        try (EngineHarness h = cluster(3, 12_005)) {
            List<Integer> byAge = youngestSplitsOffAndTakesOver(h);
            int old = byAge.get(0);
            int mid = byAge.get(1);
            int young = byAge.get(2);
            // the young member sees mid again, but not the older owner, which mid still follows
            h.cluster.network().heal();
            h.cluster.network().partition(h.cluster.member(old), h.cluster.member(young));
            h.cluster.membership(mid).join(h.cluster.member(young));
            h.cluster.membership(young).join(h.cluster.member(mid));
            h.runUntil(() -> false, 500);
            h.engine(young).find(ID).orElseThrow().setAttribute("n", 2);
            CompletableFuture<Void> f = h.engine(young).replicate(ID).toCompletableFuture();
            assertTrue(h.runUntil(f::isDone, STEPS));
            assertTrue(f.isCompletedExceptionally(), "mid refused the delta: the write is not acknowledged");
            assertEquals(1, n(h, mid, ID), "mid kept the older owner's copy");
        }
    }

    /**
     * Found by the multi-process test (OwnershipFaultIT, SIGSTOP of an owner past dropTime): the paused owner is the
     * older member, so at its return it kept its copy and every write acknowledged by the member that took the session
     * over meanwhile was thrown away (and its own next write, on the stale copy, acknowledged the same values again).
     * A paused process writes nothing: its line of writes ends where the taker's began, so the taker's copy wins.
     */
    @Test
    void anOlderOwnerBackFromAPauseKeepsNothingItDidNotWriteAndTheTakersAcknowledgedWritesSurvive() {
        try (EngineHarness h = cluster(3, 12_009)) {
            List<Integer> byAge = byAge(h, 3);
            int paused = byAge.get(0);
            int taker = byAge.get(2);
            int other = byAge.get(1);
            h.engine(paused).create(ID, 1800);
            for (int v = 1; v <= 5; v++) {
                ackedWrite(h, paused, ID, v);
            }
            // SIGSTOP past dropTime: the others remove it; it removes nobody (it did not run) and keeps its primary
            for (int j : List.of(taker, other)) {
                h.cluster.network().partition(h.cluster.member(paused), h.cluster.member(j));
                h.cluster.membership(j).remove(h.cluster.member(paused), false);
            }
            assertTrue(h.takeOver(taker, ID).isPresent(), "the taker takes the session over at 5");
            for (int v = 6; v <= 10; v++) {
                ackedWrite(h, taker, ID, v);
            }
            // SIGCONT: the others see it again, with the same identity; at once it serves a write on its stale copy
            h.cluster.network().heal();
            for (int j : List.of(taker, other)) {
                h.cluster.membership(j).join(h.cluster.member(paused));
            }
            h.engine(paused).find(ID).orElseThrow().setAttribute("n", 6);
            CompletableFuture<Void> stale = h.engine(paused).replicate(ID).toCompletableFuture();
            assertTrue(h.runUntil(() -> stale.isDone() && owners(h, 3).size() == 1 && holdersAgree(h, 3), STEPS),
                    "one owner and agreeing holders: owners " + owners(h, 3));
            assertTrue(stale.isCompletedExceptionally(), "the write on the stale copy is not acknowledged");
            assertEquals(List.of(taker), owners(h, 3), "the taker keeps the session");
            assertEquals(10, h.engine(taker).find(ID).orElseThrow().getAttribute("n"), "no acknowledged write lost");
            assertEquals(10, n(h, paused, ID));
            long discarded = 0;
            for (int i = 0; i < 3; i++) {
                discarded += h.engine(i).stats().writesDiscarded();
            }
            assertEquals(0, discarded, "no acknowledged write was discarded");
        }
    }

    /**
     * Member 1 owns ID at 3, held by member 0; then it stops past dropTime: member 0 removes it (the link cut), takes
     * the session over and writes 4; member 1, which did not run, removes nobody.
     */
    private static void member1StopsAndMember0TakesOverAndWrites(EngineHarness h) {
        Member m1 = h.cluster.member(1);
        h.engine(1).create(ID, 1800);
        for (int v = 1; v <= 3; v++) {
            ackedWrite(h, 1, ID, v);
        }
        h.cluster.network().partition(h.cluster.member(0), m1);
        h.cluster.membership(0).remove(m1, false);
        assertTrue(h.takeOver(0, ID).isPresent(), "member 0 takes the session over at 3");
        ackedWrite(h, 0, ID, 4);
    }

    /** Once member 1 is back in member 0's view: member 0 keeps the session, member 1 yields and holds 4. */
    private static void member1FollowsMember0(EngineHarness h) {
        assertTrue(h.runUntil(() -> holdersAgree(h, 2), STEPS), "one owner and agreeing holders: owners "
                + owners(h, 2) + ", member 1's copy " + h.engine(1).replica(ID));
        assertEquals(List.of(0), owners(h, 2), "the member that took over keeps the session");
        assertEquals(4, n(h, 1, ID));
    }

    /**
     * A member that joined while this member's engine was being built (after it read the view, before it listened) is
     * a member seen before when it comes back from a pause: it gets the heal digest, yields its stale copy and follows
     * the member that took over. It was counted as new (no digest), and stayed an owner at its old version for good
     * (found by {@code OwnershipFaultIT}: three JVMs starting together).
     */
    @Test
    void aMemberThatJoinedWhileTheEngineStartedGetsTheHealDigestWhenItComesBackFromAPause() {
        try (EngineHarness h = new EngineHarness(2, 12_014, EngineHarness.nodeConfig(100))) {
            Member m1 = h.cluster.member(1);
            h.cluster.membership(0).remove(m1, false);
            h.start(0, processed(), null, () -> h.cluster.membership(0).join(m1));
            h.start(1, processed());
            member1StopsAndMember0TakesOverAndWrites(h);
            h.cluster.network().heal();
            h.cluster.membership(0).join(m1);
            member1FollowsMember0(h);
        }
    }

    /**
     * The connection breaks as a member comes back from a pause (its messages abandoned, the member kept in the view):
     * the heal digest and the {@code READY} it carried are sent again at the next ticks, so the member yields its
     * stale copy, follows the member that took over and is replicated to again. They went once, {@code ASYNC}, and the
     * member stayed an owner at its old version (as in {@code OwnershipFaultIT}'s failures, by another way in).
     */
    @Test
    void aHealDigestLostWithItsConnectionIsSentAgainAndTheMemberIsReplicatedToAgain() {
        try (EngineHarness h = cluster(2, 12_015, 1)) {
            Member m1 = h.cluster.member(1);
            member1StopsAndMember0TakesOverAndWrites(h);
            // member 1 is back in the view, but the link is still cut: what member 0 sends it now is abandoned
            double abandoned = abandoned(h, 0);
            h.cluster.membership(0).join(m1);
            assertTrue(h.runUntil(() -> abandoned(h, 0) >= abandoned + 2, STEPS),
                    "member 0 gave up on its READY and its digest to member 1");
            h.cluster.network().heal();
            member1FollowsMember0(h);
            assertTrue(h.runUntil(() -> h.engine(0).listens(m1.id()), STEPS), "member 1 is a target again");
            ackedWrite(h, 0, ID, 5);
            assertEquals(5, n(h, 1, ID), "member 1 holds the next write");
        }
    }

    /**
     * A partition in which only the younger side wrote: at the heal the older owner hands the session over, and the
     * member on its side, which follows it and would refuse a younger claimant while the older owner is alive, follows
     * the winner because the older owner says so (HANDED_OVER).
     */
    @Test
    void whenOnlyTheYoungerSideWroteTheOlderOwnersHoldersFollowTheYoungerWinner() {
        try (EngineHarness h = cluster(3, 12_010)) {
            List<Integer> byAge = youngestSplitsOffTakesOverAndWrites(h);
            int old = byAge.get(0);
            int holder = byAge.get(1);
            int young = byAge.get(2);
            heal(h, old, young);
            heal(h, holder, young);
            assertTrue(h.runUntil(() -> owners(h, 3).size() == 1 && holdersAgree(h, 3), STEPS),
                    "one owner and agreeing holders: owners " + owners(h, 3) + ", holder's copy "
                            + h.engine(holder).replica(ID));
            assertEquals(List.of(young), owners(h, 3), "the side that wrote keeps the session");
            assertEquals(3, n(h, holder, ID), "the older owner's holder follows the winner");
            ackedWrite(h, young, ID, 4);
            assertEquals(4, n(h, holder, ID), "and takes its writes");
        }
    }

    /**
     * As above, but the holder's links are cut while the heal's messages go out (the loser's {@code HANDED_OVER} and
     * the winner's re-announcement are abandoned, the holder kept in the view): the holder refuses the winner's copy
     * and deltas, since the older owner it follows is alive, and asks that owner for the session instead; the former
     * owner names the winner, so the holder follows it. Before, it refused every write of the session (each failed)
     * until the next change of the view.
     */
    @Test
    void aHolderThatMissedTheLosersHandedOverLearnsTheWinnerFromItAtTheFirstRefusedWrite() {
        try (EngineHarness h = cluster(3, 12_016, 1)) {
            List<Integer> byAge = youngestSplitsOffTakesOverAndWrites(h);
            int old = byAge.get(0);
            int holder = byAge.get(1);
            int young = byAge.get(2);
            Member mh = h.cluster.member(holder);
            double oldAbandoned = abandoned(h, old);
            h.cluster.network().heal();
            h.cluster.network().partition(mh, h.cluster.member(old));
            h.cluster.network().partition(mh, h.cluster.member(young));
            rejoin(h, old, young);
            rejoin(h, holder, young);
            assertTrue(h.runUntil(() -> owners(h, 3).equals(List.of(young)) && abandoned(h, old) > oldAbandoned,
                    STEPS), "the older owner yielded and gave up on telling the holder: owners " + owners(h, 3));
            h.cluster.network().heal();
            assertTrue(h.runUntil(() -> holdersAgree(h, 3), STEPS), "the holder follows the winner: "
                    + h.engine(holder).replica(ID));
            ackedWrite(h, young, ID, 4);
            assertEquals(4, n(h, holder, ID), "and takes its writes");
        }
    }

    /** As {@link #youngestSplitsOffAndTakesOver}, and the youngest then writes 2 and 3 on its side. */
    private static List<Integer> youngestSplitsOffTakesOverAndWrites(EngineHarness h) {
        List<Integer> byAge = youngestSplitsOffAndTakesOver(h);
        ackedWrite(h, byAge.get(2), ID, 2);
        ackedWrite(h, byAge.get(2), ID, 3);
        return byAge;
    }

    /**
     * The oldest member owns ID at 1 (held by all); the youngest splits off from both others and takes it over.
     *
     * @return the members, oldest first
     */
    private static List<Integer> youngestSplitsOffAndTakesOver(EngineHarness h) {
        List<Integer> byAge = byAge(h, 3);
        h.engine(byAge.get(0)).create(ID, 1800);
        ackedWrite(h, byAge.get(0), ID, 1);
        split(h, byAge.get(0), byAge.get(2));
        split(h, byAge.get(1), byAge.get(2));
        assertTrue(h.takeOver(byAge.get(2), ID).isPresent(), "the youngest, alone, takes the session over");
        return byAge;
    }

    private static List<Integer> byAge(EngineHarness h, int size) {
        List<Integer> ix = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            ix.add(i);
        }
        ix.sort((a, b) -> View.AGE_ORDER.compare(h.cluster.member(a), h.cluster.member(b)));
        return ix;
    }

    @Test
    void afterAHealOneOwnerRemainsAtOnceAndEveryHolderAgrees() {
        try (EngineHarness h = cluster(3, 12_002)) {
            h.engine(0).create(ID, 1800);
            ackedWrite(h, 0, ID, 1);
            // {0, 1} | {2}: member 2's side takes the session over, both sides write
            split(h, 0, 2);
            split(h, 1, 2);
            assertTrue(h.takeOver(2, ID).isPresent(), "member 2 no longer sees the owner: it takes over");
            ackedWrite(h, 0, ID, 2);
            ackedWrite(h, 2, ID, 102);
            heal(h, 0, 2);
            heal(h, 1, 2);
            // the merge rule is applied at the heal, not at the next write
            assertTrue(h.runUntil(() -> owners(h, 3).size() == 1 && holdersAgree(h, 3), STEPS),
                    "one owner and agreeing holders after the heal: owners " + owners(h, 3));
            int owner = owners(h, 3).get(0);
            Object kept = h.engine(owner).find(ID).orElseThrow().getAttribute("n");
            assertTrue(kept.equals(2) || kept.equals(102), "one side's value is kept: " + kept);
            long discarded = 0;
            for (int i = 0; i < 3; i++) {
                discarded += h.engine(i).stats().writesDiscarded();
            }
            assertEquals(1, discarded, "the losing side's one write since the split is counted");
            // a write acknowledged after the heal is never lost, whichever member the request reaches
            ackedWrite(h, owner, ID, 500);
            int other = (owner + 1) % 3;
            crash(h, owner, 3);
            PrimarySession taken = h.takeOver(other, ID).orElseThrow();
            assertEquals(500, taken.getAttribute("n"));
        }
    }

    @Test
    void aSessionCreatedOnOneSideOfAPartitionReachesTheOtherSideAtTheHeal() {
        try (EngineHarness h = cluster(3, 12_003)) {
            split(h, 0, 2);
            split(h, 1, 2);
            h.engine(2).create(ID, 1800);
            ackedWrite(h, 2, ID, 1);
            assertTrue(h.engine(0).replica(ID).isEmpty());
            heal(h, 0, 2);
            heal(h, 1, 2);
            assertTrue(h.runUntil(() -> h.engine(0).replica(ID).isPresent() && h.engine(1).replica(ID).isPresent(),
                    STEPS), "both members of the other side hold it after the heal, with no further write");
            assertEquals(1, n(h, 0, ID));
            assertEquals(1, n(h, 1, ID));
        }
    }

    @Test
    void aRestartingMemberThatDoesNotListenYetFailsNoWriteAndGetsEverythingOnceItListens() {
        try (EngineHarness h = cluster(3, 12_006)) {
            h.engine(0).create(ID, 1800);
            ackedWrite(h, 0, ID, 1);
            // member 2 restarts: its node is in every view again before its engine (its web application) listens
            h.engine(2).close();
            h.cluster.restart(2);
            for (int v = 2; v <= 5; v++) {
                ackedWrite(h, 0, ID, v); // before: "no listener for topic 240" failed each of these
            }
            h.start(2, ReplicationConfig.builder().delivery(Delivery.PROCESSED).build());
            assertTrue(h.runUntil(() -> h.engine(2).replica(ID).map(r -> 5 == (Integer) n(h, 2, ID)).orElse(false),
                    STEPS), "the restarted member holds the session once it listens");
            ackedWrite(h, 0, ID, 6);
            assertEquals(6, n(h, 2, ID), "and is a replication target from then on");
        }
    }

    @Test
    void twoMembersTakingOverAtOnceLeaveOneOwnerTheOlder() {
        try (EngineHarness h = cluster(3, 12_007)) {
            h.engine(0).create(ID, 1800);
            ackedWrite(h, 0, ID, 1);
            crash(h, 0, 3);
            CompletableFuture<Optional<PrimarySession>> a = h.engine(1).takeOver(ID).toCompletableFuture();
            CompletableFuture<Optional<PrimarySession>> b = h.engine(2).takeOver(ID).toCompletableFuture();
            assertTrue(h.runUntil(() -> a.isDone() && b.isDone(), STEPS));
            int older = View.AGE_ORDER.compare(h.cluster.member(1), h.cluster.member(2)) < 0 ? 1 : 2;
            CompletableFuture<Optional<PrimarySession>> won = older == 1 ? a : b;
            CompletableFuture<Optional<PrimarySession>> lost = older == 1 ? b : a;
            assertTrue(won.join().isPresent(), "the older member took it over");
            assertTrue(lost.isCompletedExceptionally(), "the younger aborted: " + lost);
            // member 0 (crashed) still believes it owns the session; among the survivors there is one owner
            assertTrue(h.runUntil(() -> owners(h, 3).equals(List.of(0, older)) && h.engine(3 - older).replica(ID)
                    .map(r -> r.version() == won.join().orElseThrow().version()).orElse(false), STEPS),
                    "one owner, followed by the other: owners " + owners(h, 3));
        }
    }

    @Test
    void aMemberThatCrashedWithTheOwnerIsVerifiedSoTheTakeOverDoesNotTimeOut() {
        try (EngineHarness h = cluster(3, 12_008)) {
            h.engine(0).create(ID, 1800);
            ackedWrite(h, 0, ID, 1);
            // 0 and 2 are killed at once; member 1 has noticed only the owner
            h.cluster.network().partition(h.cluster.member(0), h.cluster.member(1));
            h.cluster.network().partition(h.cluster.member(2), h.cluster.member(1));
            h.cluster.membership(1).remove(h.cluster.member(0), false);
            CompletableFuture<Optional<PrimarySession>> f = h.engine(1).takeOver(ID).toCompletableFuture();
            assertTrue(h.runUntil(() -> h.cluster.membership(1).suspicions.stream()
                    .anyMatch(r -> r.contains("take-over query")), 1_000), "the silent member is verified early");
            assertFalse(f.isDone(), "the round waits for it");
            h.cluster.membership(1).remove(h.cluster.member(2), false); // the probe found it dead
            assertTrue(h.runUntil(f::isDone, 1_000));
            assertEquals(1, f.join().orElseThrow().getAttribute("n"));
        }
    }

    /**
     * An owner that hangs (SIGSTOP) stays in the view until its probes fail, which can take longer than the wait for
     * its verdict. A request for its session on a replica must then fail, not be told "no session here": Tomcat would
     * serve it without the session (an empty one behind HTTP 200, a silent loss).
     */
    @Test
    void anOwnerNeitherVerifiedAliveNorGoneFailsTheVerificationInsteadOfDenyingTheSession() {
        try (EngineHarness h = cluster(3, 12_009)) {
            h.engine(0).create(ID, 1800);
            ackedWrite(h, 0, ID, 1);
            h.cluster.network().partition(h.cluster.member(0), h.cluster.member(1)); // hung: no answer, still a member
            TakeOverException e = assertThrows(TakeOverException.class,
                    () -> h.engine(1).verifyOwner(ID, Duration.ofMillis(20)));
            assertTrue(e.getMessage().contains("neither answered nor left"), e.getMessage());
            assertTrue(h.cluster.membership(1).suspicions.stream().anyMatch(r -> r.contains("a request for its session")),
                    "the owner was asked to be verified");
            // the verdict comes: verified alive (it answers again) means no take-over here; gone means take it over
            h.cluster.membership(1).remove(h.cluster.member(0), false);
            assertTrue(h.engine(1).verifyOwner(ID, Duration.ofMillis(20)));
            assertFalse(h.engine(1).verifyOwner("no-such-session", Duration.ofMillis(20)), "no replica: no session");
        }
    }

    private static double abandoned(EngineHarness h, int i) {
        return h.cluster.node(i).meterRegistry().get("flotilla.messages.abandoned").counter().count();
    }

    private static List<Integer> owners(EngineHarness h, int size) {
        List<Integer> owners = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            if (h.engine(i).primaryIds().contains(ID)) {
                owners.add(i);
            }
        }
        return owners;
    }

    private static boolean holdersAgree(EngineHarness h, int size) {
        List<Integer> owners = owners(h, size);
        if (owners.size() != 1) {
            return false;
        }
        long version = h.engine(owners.get(0)).find(ID).map(PrimarySession::version).orElse(-1L);
        for (int i = 0; i < size; i++) {
            if (i != owners.get(0)) {
                Optional<SessionRecord> r = h.engine(i).replica(ID);
                if (r.isEmpty() || r.get().version() != version) {
                    return false;
                }
            }
        }
        return true;
    }
}
