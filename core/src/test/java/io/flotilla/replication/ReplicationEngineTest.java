package io.flotilla.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.ConfigurationException;
import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.MemberUnreachableException;
import io.flotilla.View;
import io.flotilla.testing.Await;
import io.flotilla.testing.InMemoryCluster;
import io.flotilla.wire.FrameType;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ReplicationEngineTest {
    private static final String ID = "ABCDEF0123456789ABCDEF0123456789";

    private static ReplicationConfig.Builder config() {
        return ReplicationConfig.builder().stateTransferOnStart(false);
    }

    @Test
    void replicatesOneDeltaPerRequestToEveryOtherMemberInProcessedMode() {
        try (EngineHarness h = new EngineHarness(3, 1, EngineHarness.nodeConfig(100))) {
            ReplicationConfig cfg = config().delivery(Delivery.PROCESSED).build();
            for (int i = 0; i < 3; i++) {
                h.start(i, cfg);
            }
            PrimarySession s = h.engine(0).create(ID, 1800);
            s.setAttribute("n", 1);
            s.setAttribute("name", "x");
            CompletableFuture<Void> f = h.engine(0).replicate(ID).toCompletableFuture();
            assertFalse(f.isDone(), "PROCESSED waits for the replicas");
            assertTrue(h.runUntil(f::isDone, 1000));
            assertFalse(f.isCompletedExceptionally());
            for (int i = 1; i < 3; i++) {
                SessionRecord r = h.engine(i).replica(ID).orElseThrow();
                assertEquals(2 + 1, r.version(), "create + two sets");
                assertEquals(1, h.engine(i).replica(ID).get().attribute("n", h.engine(i).codec(),
                        getClass().getClassLoader()));
            }
            assertEquals(h.engine(0).replicate(ID).toCompletableFuture().isDone(), true, "nothing to send");
        }
    }

    @Test
    void aProcessedReplicationCompletesOnTheThreadThatReadTheLastAcknowledgement() {
        // The owner's delivery executor only queues: the request's future must not need it (a hand-off through it
        // would wake another thread before the request's own), and the version is recorded as acknowledged.
        List<Runnable> ownerTasks = new ArrayList<>();
        InMemoryCluster cluster = new InMemoryCluster(2, 7, EngineHarness.nodeConfig(100),
                i -> i == 0 ? ownerTasks::add : Runnable::run);
        try (EngineHarness h = new EngineHarness(cluster)) {
            h.start(0, config().delivery(Delivery.PROCESSED).build());
            h.start(1, config().delivery(Delivery.PROCESSED).build());
            assertTrue(h.runUntil(() -> {
                // the announcements and state of start are delivered through the owner's queue meanwhile
                List<Runnable> now = new ArrayList<>(ownerTasks);
                ownerTasks.clear();
                now.forEach(Runnable::run);
                return h.allListening();
            }, 1000));
            PrimarySession s = h.engine(0).create(ID, 1800);
            s.setAttribute("n", 1);
            ownerTasks.clear();
            CompletableFuture<Void> f = h.engine(0).replicate(ID).toCompletableFuture();
            assertTrue(h.runUntil(f::isDone, 1000), "done without the owner's delivery executor running");
            assertFalse(f.isCompletedExceptionally());
            assertEquals(h.engine(1).replica(ID).orElseThrow().version(), s.acknowledged());
        }
    }

    @Test
    void onlyAWaitedForReplicationAsksTheTransportToWriteItFromTheRequestThread() {
        // An async request does not wait for its delta: the transport batches it on its I/O thread instead of writing
        // it from the request thread (which cost a write per request and halved async throughput on NIO).
        for (Delivery mode : List.of(Delivery.ASYNC, Delivery.PROCESSED)) {
            try (EngineHarness h = new EngineHarness(2, 8, EngineHarness.nodeConfig(100))) {
                h.start(0, config().delivery(mode).build());
                h.start(1, config().delivery(mode).build());
                Member owner = h.cluster.member(0);
                long before = h.cluster.network().framesWritten(owner, FrameType.DATA);
                long awaitedBefore = h.cluster.network().awaitedFramesWritten(owner, FrameType.DATA);
                PrimarySession s = h.engine(0).create(ID, 1800);
                for (int n = 1; n <= 5; n++) {
                    s.setAttribute("n", n);
                    CompletableFuture<Void> f = h.engine(0).replicate(ID).toCompletableFuture();
                    assertTrue(h.runUntil(() -> f.isDone()
                            && h.engine(1).replica(ID).map(r -> r.version() == s.version()).orElse(false), 1000));
                }
                long sent = h.cluster.network().framesWritten(owner, FrameType.DATA) - before;
                long awaited = h.cluster.network().awaitedFramesWritten(owner, FrameType.DATA) - awaitedBefore;
                assertTrue(sent >= 5, mode + ": " + sent + " DATA frames");
                assertEquals(mode == Delivery.ASYNC ? 0 : sent, awaited, mode + ": awaited DATA frames of " + sent);
            }
        }
    }

    @Test
    void aProcessedReplicationIsNotFailedByATargetThatCrashedAndLeftTheView() throws Exception {
        try (EngineHarness h = new EngineHarness(3, 5, EngineHarness.nodeConfig(1))) {
            ReplicationConfig cfg = config().delivery(Delivery.PROCESSED).departureWait(Duration.ofSeconds(30)).build();
            for (int i = 0; i < 3; i++) {
                h.start(i, cfg);
            }
            h.engine(0).create(ID, 1800).setAttribute("n", 1);
            h.cluster.network().partition(h.cluster.member(0), h.cluster.member(2));
            CompletableFuture<Void> f = h.engine(0).replicate(ID).toCompletableFuture();
            assertTrue(h.runUntil(() -> !h.cluster.membership(0).suspicions.isEmpty(), 10_000),
                    "member 2 stopped answering and was reported");
            assertFalse(f.isDone(), "waits for member 2's verdict");
            h.cluster.membership(0).remove(h.cluster.member(2), false);
            assertTrue(h.runUntil(f::isDone, 10_000));
            f.get(0, TimeUnit.SECONDS);
            assertTrue(h.engine(1).replica(ID).isPresent(), "the member that remains holds the session");
        }
    }

    @Test
    void aProcessedReplicationFailsWhenTheTargetThatStoppedAnsweringStaysInTheView() {
        try (EngineHarness h = new EngineHarness(2, 6, EngineHarness.nodeConfig(1))) {
            ReplicationConfig cfg = config().delivery(Delivery.PROCESSED).departureWait(Duration.ofMillis(50)).build();
            h.start(0, cfg);
            h.start(1, cfg);
            h.engine(0).create(ID, 1800).setAttribute("n", 1);
            h.cluster.network().partition(h.cluster.member(0), h.cluster.member(1));
            CompletableFuture<Void> f = h.engine(0).replicate(ID).toCompletableFuture();
            assertTrue(h.runUntil(f::isDone, 10_000), "fails within the retries plus departureWait");
            Throwable t = assertThrows(ExecutionException.class,
                    () -> f.get(0, TimeUnit.SECONDS)).getCause();
            assertTrue(t instanceof MemberUnreachableException, String.valueOf(t));
        }
    }

    @Test
    void verifyingTheOwnerSuspectsItAndAllowsTheTakeOverOnlyOnceItLeftTheView() throws Exception {
        try (EngineHarness h = new EngineHarness(2, 3, EngineHarness.nodeConfig(100))) {
            h.start(0, config().build());
            h.start(1, config().build());
            h.engine(0).create(ID, 1800).setAttribute("n", 1);
            h.engine(0).replicate(ID);
            assertTrue(h.runUntil(() -> h.engine(1).replica(ID).isPresent(), 1000));

            TakeOverException undecided = assertThrows(TakeOverException.class,
                    () -> h.engine(1).verifyOwner(ID, Duration.ofMillis(50)), "no verdict in time: the request fails");
            assertTrue(undecided.getMessage().contains("neither answered nor left"), undecided.getMessage());
            assertEquals(1, h.cluster.membership(1).suspicions.size(), "the owner was reported for verification");
            assertTrue(h.cluster.membership(1).suspicions.get(0).contains("a request for its session"));

            CompletableFuture<Boolean> alive = CompletableFuture.supplyAsync(
                    () -> h.engine(1).verifyOwner(ID, Duration.ofSeconds(30)));
            Await.await("the owner reported again", Duration.ofSeconds(10),
                    () -> h.cluster.membership(1).suspicions.size() == 2);
            h.cluster.membership(1).verifiedAlive(h.cluster.member(0));
            assertFalse(alive.get(10, TimeUnit.SECONDS), "the owner answered: no take-over");

            CompletableFuture<Boolean> verdict = CompletableFuture.supplyAsync(
                    () -> h.engine(1).verifyOwner(ID, Duration.ofSeconds(30)));
            Await.await("the owner reported again", Duration.ofSeconds(10),
                    () -> h.cluster.membership(1).suspicions.size() == 3);
            assertFalse(verdict.isDone(), "waits for the verdict");
            h.cluster.membership(1).remove(h.cluster.member(0), false);
            assertTrue(verdict.get(10, TimeUnit.SECONDS), "the owner left: take over");
            assertTrue(h.takeOver(1, ID).isPresent());
            assertFalse(h.engine(1).verifyOwner("0000000000000000000000000000FFFF", Duration.ofMillis(10)),
                    "no replica, nothing to take over");
        }
    }

    @Test
    void aReplicaTakesOverWhenTheOwnerLeavesAndTheOtherReplicaFollowsTheNewOwner() {
        try (EngineHarness h = new EngineHarness(3, 2, EngineHarness.nodeConfig(100))) {
            for (int i = 0; i < 3; i++) {
                h.start(i, config().build());
            }
            PrimarySession s = h.engine(0).create(ID, 1800);
            s.setAttribute("cart", new ArrayList<>(List.of("a", "b")));
            h.engine(0).replicate(ID);
            assertTrue(h.runUntil(() -> h.engine(2).replica(ID).isPresent(), 1000));

            assertEquals(Optional.empty(), h.takeOver(1, ID), "no take-over while the owner is in the view");

            h.cluster.membership(1).remove(h.cluster.member(0), false);
            h.cluster.membership(2).remove(h.cluster.member(0), false);
            h.cluster.network().partition(h.cluster.member(0), h.cluster.member(1));
            h.cluster.network().partition(h.cluster.member(0), h.cluster.member(2));

            PrimarySession taken = h.takeOver(1, ID).orElseThrow();
            assertEquals(List.of("a", "b"), taken.getAttribute("cart"), "decoded on first use");
            assertEquals(ID, taken.id());
            assertTrue(h.engine(1).replica(ID).isEmpty(), "the replica became the primary");
            taken.setAttribute("step", 2);
            h.engine(1).replicate(ID);
            assertTrue(h.runUntil(() -> h.engine(2).replica(ID).map(r -> r.version() == 3).orElse(false), 1000),
                    "replica 2 follows the new owner: " + h.engine(2).replica(ID));
            assertEquals(Optional.empty(), h.takeOver(2, ID), "replica 2 sees a live owner now");
        }
    }

    @Test
    void theOlderOwnerKeepsASessionBothSidesOfASplitTookOver() {
        try (EngineHarness h = new EngineHarness(3, 3, EngineHarness.nodeConfig(100))) {
            for (int i = 0; i < 3; i++) {
                h.start(i, config().build());
            }
            PrimarySession s = h.engine(2).create(ID, 1800);
            s.setAttribute("v", 0);
            h.engine(2).replicate(ID);
            assertTrue(h.runUntil(() -> h.engine(0).replica(ID).isPresent() && h.engine(1).replica(ID).isPresent(),
                    1000));
            // node 2 leaves both views; nodes 0 and 1 cannot see each other either: both take over
            h.cluster.network().partition(h.cluster.member(0), h.cluster.member(1));
            h.cluster.membership(0).remove(h.cluster.member(2), false);
            h.cluster.membership(1).remove(h.cluster.member(2), false);
            h.cluster.membership(0).remove(h.cluster.member(1), false);
            h.cluster.membership(1).remove(h.cluster.member(0), false);
            int o = View.AGE_ORDER.compare(h.cluster.member(0), h.cluster.member(1)) < 0 ? 0 : 1;
            int y = 1 - o;
            PrimarySession a = h.takeOver(o, ID).orElseThrow();
            PrimarySession b = h.takeOver(y, ID).orElseThrow();
            a.setAttribute("v", 10);
            b.setAttribute("v", 20);
            b.setAttribute("w", 1);
            h.engine(o).replicate(ID);
            h.engine(y).replicate(ID);
            // heal: they see each other again; o is the older
            h.cluster.network().heal();
            h.cluster.membership(0).join(h.cluster.member(1));
            h.cluster.membership(1).join(h.cluster.member(0));
            a.setAttribute("v", 11);
            h.engine(o).replicate(ID);
            b.setAttribute("v", 21);
            h.engine(y).replicate(ID);
            assertTrue(h.runUntil(() -> b.isInvalidated() && h.engine(y).replica(ID).isPresent(), 20_000),
                    "the younger hands over and fetches the older's copy");
            assertTrue(h.engine(o).find(ID).isPresent());
            h.advance(Duration.ofSeconds(5));
            assertEquals(11, h.engine(y).replica(ID).orElseThrow().attribute("v", h.engine(y).codec(),
                    getClass().getClassLoader()));
            assertEquals(h.engine(o).find(ID).get().version(), h.engine(y).replica(ID).get().version());
        }
    }

    @Test
    void primaryExpiresAtMaxInactiveAndTellsReplicasAndAnOrphanReplicaExpiresAtTwiceThat() {
        try (EngineHarness h = new EngineHarness(3, 4, EngineHarness.nodeConfig(100))) {
            for (int i = 0; i < 3; i++) {
                h.start(i, config().expiryInterval(Duration.ofSeconds(1)).build());
            }
            h.engine(0).create("AAAAAAAAAAAAAAAA", 60).setAttribute("x", 1);
            h.engine(0).create("BBBBBBBBBBBBBBBB", 60).setAttribute("x", 1);
            h.engine(0).replicate("AAAAAAAAAAAAAAAA");
            h.engine(0).replicate("BBBBBBBBBBBBBBBB");
            h.engine(1).create("CCCCCCCCCCCCCCCC", 60).setAttribute("x", 1);
            h.engine(1).replicate("CCCCCCCCCCCCCCCC");
            assertTrue(h.runUntil(() -> h.engine(2).replicaIds().size() == 3, 1000));
            // node 1 (owner of C) is cut off and leaves node 2's view: node 2 keeps C until 2 x 60 s idle
            h.cluster.network().partition(h.cluster.member(1), h.cluster.member(2));
            h.cluster.membership(2).remove(h.cluster.member(1), false);
            h.advance(Duration.ofSeconds(30));
            h.engine(0).find("BBBBBBBBBBBBBBBB").orElseThrow().access(false);
            h.engine(0).replicate("BBBBBBBBBBBBBBBB");
            h.advance(Duration.ofSeconds(31));
            assertEquals(List.of("AAAAAAAAAAAAAAAA"), h.expired.get(0), "A idle 61 s; B accessed 31 s ago");
            assertTrue(h.runUntil(() -> h.engine(2).replica("AAAAAAAAAAAAAAAA").isEmpty(), 1000),
                    "the expiry is replicated");
            assertFalse(h.expired.get(2).contains("AAAAAAAAAAAAAAAA"), "the replica did not expire it by itself");
            h.advance(Duration.ofSeconds(57)); // C idle about 119 s
            assertTrue(h.engine(2).replica("CCCCCCCCCCCCCCCC").isPresent(), "C kept until twice its interval");
            h.advance(Duration.ofSeconds(3)); // C idle about 122 s
            assertTrue(h.engine(2).replica("CCCCCCCCCCCCCCCC").isEmpty());
            assertTrue(h.expired.get(2).contains("CCCCCCCCCCCCCCCC"));
        }
    }

    @Test
    void readOnlyRequestsReachReplicasAtMostOncePerAccessInterval() {
        try (EngineHarness h = new EngineHarness(2, 5, EngineHarness.nodeConfig(100))) {
            SimpleMeterRegistry reg = new SimpleMeterRegistry();
            ReplicationEngine e = h.start(0, config().accessInterval(Duration.ofSeconds(10)).meterRegistry(reg).build());
            h.start(1, config().build());
            PrimarySession s = e.create(ID, 1800);
            e.replicate(ID);
            double before = reg.counter("flotilla.replication.deltas.sent").count();
            for (int i = 0; i < 100; i++) {
                h.advance(Duration.ofMillis(500)); // 50 s of read-only requests, one every 500 ms
                s.access(false);
                e.replicate(ID);
            }
            double accessDeltas = reg.counter("flotilla.replication.deltas.sent").count() - before;
            assertTrue(accessDeltas >= 4 && accessDeltas <= 6, "about one per 10 s, got " + accessDeltas);
            s.access(false);
            s.setAttribute("real", 1);
            e.replicate(ID);
            assertTrue(h.runUntil(() -> h.engine(1).replica(ID).map(r -> r.metadata().lastAccessedTime()
                    == s.lastAccessedTime()).orElse(false), 1000), "access rides free on a real delta");
        }
    }

    @Test
    void mutationDetectionReplicatesAValueChangedInPlace() {
        try (EngineHarness h = new EngineHarness(2, 6, EngineHarness.nodeConfig(100))) {
            ReplicationEngine off = h.start(0, config().build());
            h.start(1, config().build());
            List<String> cart = new ArrayList<>(List.of("a"));
            PrimarySession s = off.create(ID, 1800);
            s.setAttribute("cart", cart);
            s.setAttribute("name", "n");
            off.replicate(ID);
            cart.add("b");
            off.replicate(ID);
            h.runUntil(() -> false, 100);
            assertEquals(List.of("a"), value(h, 1, "cart"), "OFF: Tomcat's contract");
        }
        for (ReplicationConfig.MutationDetection mode : List.of(ReplicationConfig.MutationDetection.MUTABLE_TYPES,
                ReplicationConfig.MutationDetection.ALWAYS)) {
            try (EngineHarness h = new EngineHarness(2, 7, EngineHarness.nodeConfig(100))) {
                ReplicationEngine on = h.start(0, config().mutationDetection(mode).build());
                h.start(1, config().build());
                List<String> cart = new ArrayList<>(List.of("a"));
                PrimarySession s = on.create(ID, 1800);
                s.setAttribute("cart", cart);
                on.replicate(ID);
                long v = s.version();
                on.replicate(ID);
                assertEquals(v, s.version(), "unchanged: nothing recorded");
                cart.add("b");
                on.replicate(ID);
                assertTrue(h.runUntil(() -> List.of("a", "b").equals(value(h, 1, "cart")), 1000), mode.name());
            }
        }
    }

    @Test
    void anUnserializableValueFailsTheSetByDefaultOrIsSkippedWithACounter() {
        try (EngineHarness h = new EngineHarness(2, 8, EngineHarness.nodeConfig(100))) {
            ReplicationEngine fail = h.start(0, config().build());
            PrimarySession s = fail.create(ID, 1800);
            AttributeCodecException ex = assertThrows(AttributeCodecException.class,
                    () -> s.setAttribute("thread", new Object()));
            assertTrue(ex.getMessage().contains("thread") && ex.getMessage().contains("java.lang.Object"),
                    ex.getMessage());
            assertEquals(null, s.getAttribute("thread"));
        }
        try (EngineHarness h = new EngineHarness(2, 9, EngineHarness.nodeConfig(100))) {
            SimpleMeterRegistry reg = new SimpleMeterRegistry();
            ReplicationEngine skip = h.start(0, config().meterRegistry(reg)
                    .onUnserializable(ReplicationConfig.OnUnserializable.SKIP).build());
            h.start(1, config().build());
            PrimarySession s = skip.create(ID, 1800);
            s.setAttribute("odd", 1);
            skip.replicate(ID);
            Object local = new Object();
            s.setAttribute("odd", local);
            s.setAttribute("ok", "fine");
            skip.replicate(ID);
            assertTrue(local == s.getAttribute("odd"), "kept on the primary");
            assertTrue(h.runUntil(() -> "fine".equals(value(h, 1, "ok")), 1000), "the rest replicates");
            assertEquals(null, value(h, 1, "odd"), "the replica drops the older value");
            assertEquals(1.0, reg.counter("flotilla.replication.attributes.skipped").count());
        }
    }

    @Test
    void aDeltaTheNodeAbandonedIsRepairedWithTheFullSession() {
        try (EngineHarness h = new EngineHarness(3, 10, EngineHarness.nodeConfig(1))) {
            for (int i = 0; i < 3; i++) {
                h.start(i, config().delivery(Delivery.RECEIVED).build());
            }
            PrimarySession s = h.engine(0).create(ID, 1800);
            s.setAttribute("n", 0);
            h.engine(0).replicate(ID);
            assertTrue(h.runUntil(() -> h.engine(1).replica(ID).isPresent(), 1000));
            h.cluster.network().partition(h.cluster.member(0), h.cluster.member(1));
            s.setAttribute("n", 1);
            CompletableFuture<Void> lost = h.engine(0).replicate(ID).toCompletableFuture();
            assertTrue(h.runUntil(lost::isDone, 20_000));
            assertTrue(lost.handle((v, e) -> e).join() instanceof MemberUnreachableException
                    || lost.handle((v, e) -> e).join().getCause() instanceof MemberUnreachableException,
                    "the node gave up: " + lost.handle((v, e) -> e).join());
            h.cluster.network().heal();
            // the last delta was lost and nothing follows it: only the owner's repair can close this gap
            assertTrue(h.runUntil(() -> h.engine(1).replica(ID).map(r -> r.version() == s.version()).orElse(false),
                    20_000), "repaired: " + h.engine(1).replica(ID));
            // a middle delta lost: the next one shows the gap, the replica asks for the full session
            h.cluster.network().partition(h.cluster.member(0), h.cluster.member(2));
            s.setAttribute("n", 2);
            CompletableFuture<Void> lost2 = h.engine(0).replicate(ID).toCompletableFuture();
            assertTrue(h.runUntil(lost2::isDone, 20_000));
            h.cluster.network().heal();
            s.setAttribute("n", 3);
            h.engine(0).replicate(ID);
            assertTrue(h.runUntil(() -> h.engine(2).replica(ID).map(r -> r.version() == s.version()).orElse(false),
                    20_000), "gap closed: " + h.engine(2).replica(ID));
            assertEquals(3, value(h, 2, "n"));
        }
    }

    @Test
    void configurationIsCheckedOnceAndNamesTheField() {
        ConfigurationException e = assertThrows(ConfigurationException.class,
                () -> ReplicationConfig.builder().stateTransferChunkBytes(10).build());
        assertTrue(e.getMessage().startsWith("stateTransferChunkBytes=10 is invalid"), e.getMessage());
        assertThrows(ConfigurationException.class,
                () -> ReplicationConfig.builder().replicationTopic(7).stateTransferTopic(7).build());
        assertThrows(ConfigurationException.class, () -> ReplicationConfig.builder().replicationTopic(256).build());
        assertThrows(ConfigurationException.class, () -> ReplicationConfig.builder().placement(null).build());
    }

    private static Object value(EngineHarness h, int node, String name) {
        return h.engine(node).replica(ID).map(r -> r.attribute(name, h.engine(node).codec(),
                ReplicationEngineTest.class.getClassLoader())).orElse(null);
    }
}
