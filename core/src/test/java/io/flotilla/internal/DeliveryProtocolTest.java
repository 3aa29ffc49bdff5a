package io.flotilla.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.Delivery;
import io.flotilla.DeliveryTimeoutException;
import io.flotilla.Member;
import io.flotilla.MemberUnreachableException;
import io.flotilla.NodeConfig;
import io.flotilla.RemoteProcessingException;
import io.flotilla.SendQueueFullException;
import io.flotilla.testing.InMemoryCluster;
import io.flotilla.wire.FrameType;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * The delivery protocol on a simulated network that drops, duplicates, delays and reorders frames, with a manual
 * clock: every message of a sender arrives once and in order at every target, in every delivery mode. Each failure
 * names its seed; rerun a seed by putting it in {@link #seeds()}.
 */
class DeliveryProtocolTest {
    private static final Duration STEP = Duration.ofMillis(1);

    static Stream<Arguments> seeds() {
        return Stream.of(Delivery.values()).flatMap(d -> IntStream.range(0, 12).mapToObj(s -> Arguments.of(d,
                0x5EED0000L + s * 7919L + d.ordinal())));
    }

    private static NodeConfig config(Duration timeout, int retries) {
        return NodeConfig.builder().clusterName("t").timeout(timeout).maxRetryAttempts(retries).build();
    }

    private static ByteBuffer intPayload(int v) {
        return ByteBuffer.allocate(4).putInt(0, v);
    }

    /** {@code size} nodes on a network that drops and duplicates a tenth of the frames and delays them up to 5 ms. */
    private static InMemoryCluster lossy(int size, long seed) {
        InMemoryCluster c = new InMemoryCluster(size, seed, config(Duration.ofSeconds(60), 100));
        c.network().drop(0.1).duplicate(0.1).delay(Duration.ZERO, Duration.ofMillis(5));
        return c;
    }

    /** Records what each receiver got, per sender, in delivery order. */
    private static Map<Member, List<Integer>> record(InMemoryCluster c, int node) {
        Map<Member, List<Integer>> got = new ConcurrentHashMap<>();
        c.node(node).addMessageListener(1, m -> got.computeIfAbsent(m.from(), k -> new CopyOnWriteArrayList<>())
                .add(m.payload().getInt(0)));
        return got;
    }

    @ParameterizedTest(name = "{0} seed {1}")
    @MethodSource("seeds")
    void deliversEveryMessageOnceAndInOrderDespiteDropsDuplicatesAndReordering(Delivery delivery, long seed) {
        try (InMemoryCluster c = lossy(3, seed)) {
            Map<Member, List<Integer>> at1 = record(c, 1);
            Map<Member, List<Integer>> at2 = record(c, 2);
            int count = 300;
            List<CompletableFuture<Void>> sends = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                sends.add(c.node(0).send(List.of(c.member(1), c.member(2)), 1, intPayload(i), delivery)
                        .toCompletableFuture());
                c.clock().advance(Duration.ofNanos(100_000));
            }
            boolean done = c.runUntil(() -> sends.stream().allMatch(CompletableFuture::isDone)
                    && size(at1, c.member(0)) == count && size(at2, c.member(0)) == count, STEP, 200_000);
            String ctx = c.network() + " delivery=" + delivery;
            assertTrue(done, "not all delivered: " + ctx + " at1=" + size(at1, c.member(0)) + " at2="
                    + size(at2, c.member(0)));
            List<Integer> expected = IntStream.range(0, count).boxed().toList();
            assertEquals(expected, at1.get(c.member(0)), ctx);
            assertEquals(expected, at2.get(c.member(0)), ctx);
            for (CompletableFuture<Void> f : sends) {
                assertTrue(!f.isCompletedExceptionally(), () -> "a send failed: " + ctx + " " + f.handle((v, e) -> e)
                        .join());
            }
            assertTrue(c.network().dropped() > 0 && c.network().duplicated() > 0, "faults were injected: " + ctx);
        }
    }

    static Stream<Arguments> waitedForSeeds() {
        return Stream.of(Delivery.RECEIVED, Delivery.PROCESSED).flatMap(d -> IntStream.range(0, 4)
                .mapToObj(s -> Arguments.of(d, 0x0BA7C400L + s * 7919L + d.ordinal())));
    }

    @ParameterizedTest(name = "{0} seed {1}")
    @MethodSource("waitedForSeeds")
    void aQueuedSendDeliversAsASendDoesAndLeavesEveryFrameToTheTransportsBatches(Delivery delivery, long seed) {
        try (InMemoryCluster c = lossy(2, seed)) {
            Map<Member, List<Integer>> at1 = record(c, 1);
            int count = 200;
            List<CompletableFuture<Void>> sends = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                // Alternately queued and plain: one stream, one order.
                List<Member> to = List.of(c.member(1));
                sends.add((i % 2 == 0 ? c.node(0).sendQueued(to, 1, intPayload(i), delivery)
                        : c.node(0).send(to, 1, intPayload(i), delivery)).toCompletableFuture());
                c.clock().advance(Duration.ofNanos(100_000));
            }
            String ctx = c.network() + " delivery=" + delivery;
            assertTrue(c.runUntil(() -> sends.stream().allMatch(CompletableFuture::isDone)
                    && size(at1, c.member(0)) == count, STEP, 200_000), "not all delivered: " + ctx);
            assertEquals(IntStream.range(0, count).boxed().toList(), at1.get(c.member(0)), ctx);
            assertTrue(sends.stream().noneMatch(CompletableFuture::isCompletedExceptionally), ctx);
            long data = c.network().framesWritten(c.member(0), FrameType.DATA);
            long awaited = c.network().awaitedFramesWritten(c.member(0), FrameType.DATA);
            assertTrue(c.network().dropped() > 0 && data > count, "frames were lost and sent again: " + ctx);
            // Retransmissions keep the mark of the send they repeat: neither side's share is all or nothing.
            assertTrue(awaited > 0 && awaited < data, awaited + " of " + data + " DATA frames awaited: " + ctx);
        }
    }

    @Test
    void onlyAPlainWaitedForSendMarksItsFrameAwaited() {
        try (InMemoryCluster c = new InMemoryCluster(2, 3, config(Duration.ofSeconds(60), 100))) {
            List<Member> to = List.of(c.member(1));
            List<CompletableFuture<Void>> sends = new ArrayList<>();
            for (Delivery d : Delivery.values()) {
                sends.add(c.node(0).sendQueued(to, 1, intPayload(1), d).toCompletableFuture());
                sends.add(c.node(0).send(to, 1, intPayload(2), d).toCompletableFuture());
                sends.add(c.node(0).send(c.member(1), 1, intPayload(3), d).toCompletableFuture());
            }
            assertTrue(c.runUntil(() -> sends.stream().allMatch(CompletableFuture::isDone), STEP, 10_000));
            assertEquals(9, c.network().framesWritten(c.member(0), FrameType.DATA));
            assertEquals(4, c.network().awaitedFramesWritten(c.member(0), FrameType.DATA),
                    "the plain RECEIVED and PROCESSED sends, to one member and to a list");
        }
    }

    private static int size(Map<Member, List<Integer>> got, Member from) {
        List<Integer> l = got.get(from);
        return l == null ? 0 : l.size();
    }

    @Test
    void processedSendsFailExactlyWhereTheRemoteListenerThrowsAndNothingIsDeliveredTwice() {
        long seed = 42;
        try (InMemoryCluster c = new InMemoryCluster(2, seed, config(Duration.ofSeconds(60), 100))) {
            c.network().drop(0.05).duplicate(0.2).delay(Duration.ZERO, Duration.ofMillis(3));
            List<Integer> seen = new CopyOnWriteArrayList<>();
            c.node(1).addMessageListener(1, m -> {
                int v = m.payload().getInt(0);
                seen.add(v);
                if (v % 3 == 0) {
                    throw new IllegalStateException("refused " + v);
                }
            });
            int count = 600;
            List<CompletableFuture<Void>> sends = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                sends.add(c.node(0).send(c.member(1), 1, intPayload(i), Delivery.PROCESSED).toCompletableFuture());
            }
            assertTrue(c.runUntil(() -> sends.stream().allMatch(CompletableFuture::isDone), STEP, 200_000),
                    "sends completed: " + c.network());
            for (int i = 0; i < count; i++) {
                CompletableFuture<Void> f = sends.get(i);
                if (i % 3 == 0) {
                    Throwable t = f.handle((v, e) -> e).join();
                    assertInstanceOf(RemoteProcessingException.class, t, "send " + i + " seed " + seed);
                    RemoteProcessingException r = (RemoteProcessingException) t;
                    assertEquals(c.member(1), r.member());
                    assertTrue(r.remoteError().contains("IllegalStateException: refused " + i), r.remoteError());
                } else {
                    assertTrue(!f.isCompletedExceptionally(), "send " + i + " should succeed, seed " + seed);
                }
            }
            assertEquals(IntStream.range(0, count).boxed().toList(), seen, "each message exactly once, in order");
        }
    }

    @Test
    void sendToAPartitionedMemberTimesOutButIsDeliveredInOrderAfterTheHeal() {
        try (InMemoryCluster c = new InMemoryCluster(2, 7, config(Duration.ofSeconds(2), 100))) {
            Map<Member, List<Integer>> at1 = record(c, 1);
            c.network().partition(c.member(0), c.member(1));
            CompletableFuture<Void> f = c.node(0).send(c.member(1), 1, intPayload(1), Delivery.RECEIVED)
                    .toCompletableFuture();
            CompletableFuture<Void> g = c.node(0).send(c.member(1), 1, intPayload(2), Delivery.ASYNC)
                    .toCompletableFuture();
            c.clock().advance(Duration.ofMillis(1999));
            assertTrue(!f.isDone(), "still waiting just before the timeout");
            c.clock().advance(Duration.ofMillis(200));
            assertInstanceOf(DeliveryTimeoutException.class, f.handle((v, e) -> e).join());
            assertTrue(g.isDone() && !g.isCompletedExceptionally(), "async completes at once");
            c.network().heal();
            assertTrue(c.runUntil(() -> size(at1, c.member(0)) == 2, STEP, 20_000), "delivered after heal");
            assertEquals(List.of(1, 2), at1.get(c.member(0)), "a timeout means not known to be delivered; order kept");
        }
    }

    @Test
    void retriesAfterBrokenConnectionsWithoutDuplicates() {
        try (InMemoryCluster c = new InMemoryCluster(2, 11, config(Duration.ofSeconds(30), 3))) {
            c.network().delay(Duration.ofMillis(1), Duration.ofMillis(2));
            Map<Member, List<Integer>> at1 = record(c, 1);
            List<CompletableFuture<Void>> sends = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                sends.add(c.node(0).send(c.member(1), 1, intPayload(i), Delivery.RECEIVED).toCompletableFuture());
                if (i % 25 == 10) {
                    c.network().breakConnections(c.member(1));
                }
                c.clock().advance(Duration.ofMillis(5));
            }
            assertTrue(c.runUntil(() -> sends.stream().allMatch(CompletableFuture::isDone), STEP, 60_000));
            for (CompletableFuture<Void> f : sends) {
                assertTrue(!f.isCompletedExceptionally(), () -> "failed: " + f.handle((v, e) -> e).join());
            }
            assertEquals(IntStream.range(0, 100).boxed().toList(), at1.get(c.member(0)));
            assertTrue(c.membership(0).suspicions.size() > 0, "broken connections are reported as suspicions");
        }
    }

    @Test
    void abandonsAfterMaxRetryAttemptsAndTheReceiverSkipsTheAbandonedMessages() {
        try (InMemoryCluster c = new InMemoryCluster(2, 13, config(Duration.ofSeconds(30), 1))) {
            Map<Member, List<Integer>> at1 = record(c, 1);
            c.network().partition(c.member(0), c.member(1));
            CompletableFuture<Void> lost = c.node(0).send(c.member(1), 1, intPayload(1), Delivery.RECEIVED)
                    .toCompletableFuture();
            assertTrue(c.runUntil(lost::isDone, STEP, 10_000), "gave up");
            Throwable t = lost.handle((v, e) -> e).join();
            assertInstanceOf(MemberUnreachableException.class, t);
            assertTrue(t.getMessage().contains("maxRetryAttempts=1"), t.getMessage());
            c.network().heal();
            CompletableFuture<Void> next = c.node(0).send(c.member(1), 1, intPayload(2), Delivery.RECEIVED)
                    .toCompletableFuture();
            assertTrue(c.runUntil(next::isDone, STEP, 10_000));
            assertTrue(!next.isCompletedExceptionally(), "the stream goes on after the abandoned message");
            assertEquals(List.of(2), at1.get(c.member(0)));
        }
    }

    @Test
    void aMemberThatLeavesFailsItsPendingSendsAtOnce() {
        try (InMemoryCluster c = new InMemoryCluster(2, 17, config(Duration.ofSeconds(30), 100))) {
            c.network().partition(c.member(0), c.member(1));
            CompletableFuture<Void> f = c.node(0).send(c.member(1), 1, intPayload(1), Delivery.PROCESSED)
                    .toCompletableFuture();
            c.membership(0).remove(c.member(1), false);
            c.clock().runDue();
            Throwable t = f.handle((v, e) -> e).join();
            assertInstanceOf(MemberUnreachableException.class, t);
            assertTrue(t.getMessage().contains(c.member(1).describe()), t.getMessage());
        }
    }

    @Test
    void aFalselyRemovedMemberThatRejoinsReceivesTheMessagesSentAfterwards() {
        try (InMemoryCluster c = new InMemoryCluster(2, 37, config(Duration.ofSeconds(5), 1))) {
            Map<Member, List<Integer>> at1 = record(c, 1);
            for (int i = 0; i < 3; i++) {
                c.node(0).send(c.member(1), 1, intPayload(i), Delivery.RECEIVED);
            }
            assertTrue(c.runUntil(() -> size(at1, c.member(0)) == 3, STEP, 1000));
            // Node 0 wrongly removes node 1 (node 1 still holds node 0's stream), then sees it again.
            c.membership(0).remove(c.member(1), false);
            c.membership(0).join(c.member(1));
            CompletableFuture<Void> after = c.node(0).send(c.member(1), 1, intPayload(3), Delivery.RECEIVED)
                    .toCompletableFuture();
            assertTrue(c.runUntil(after::isDone, STEP, 10_000));
            assertTrue(!after.isCompletedExceptionally(), () -> "failed: " + after.handle((v, e) -> e).join());
            assertEquals(List.of(0, 1, 2, 3), at1.get(c.member(0)), "nothing after the rejoin is taken for a duplicate");
        }
    }

    @Test
    void theStreamsOfAMemberThatLeftAreReleasedAfterFiveMinutesNotBefore() {
        try (InMemoryCluster c = new InMemoryCluster(2, 41, config(Duration.ofSeconds(5), 1))) {
            record(c, 0);
            record(c, 1);
            c.node(0).send(c.member(1), 1, intPayload(1), Delivery.RECEIVED);
            c.node(1).send(c.member(0), 1, intPayload(1), Delivery.RECEIVED);
            c.runUntil(() -> false, STEP, 100);
            assertEquals(2, c.node(0).streamsFor(c.member(1).id()));
            c.membership(0).remove(c.member(1), true);
            c.clock().advance(Duration.ofMinutes(4));
            assertEquals(2, c.node(0).streamsFor(c.member(1).id()), "kept: a mistaken removal may be undone");
            c.clock().advance(Duration.ofMinutes(2));
            assertEquals(0, c.node(0).streamsFor(c.member(1).id()), "released");
        }
    }

    @Test
    void aListenerThatThrowsOnAnAsyncMessageDoesNotStopLaterDeliveries() {
        try (InMemoryCluster c = new InMemoryCluster(2, 19, config(Duration.ofSeconds(5), 1))) {
            List<Integer> seen = new CopyOnWriteArrayList<>();
            c.node(1).addMessageListener(1, m -> {
                seen.add(m.payload().getInt(0));
                throw new RuntimeException("boom");
            });
            for (int i = 0; i < 5; i++) {
                c.node(0).send(c.member(1), 1, intPayload(i), Delivery.ASYNC);
            }
            assertTrue(c.runUntil(() -> seen.size() == 5, STEP, 1000));
            assertEquals(List.of(0, 1, 2, 3, 4), seen);
        }
    }

    @Test
    void aFullSendQueueGivesBackPressureAndThenAClearError() {
        NodeConfig cfg = NodeConfig.builder().clusterName("t").timeout(Duration.ofMillis(50)).maxQueuedMessages(4)
                .build();
        try (InMemoryCluster c = new InMemoryCluster(2, 23, cfg)) {
            c.network().partition(c.member(0), c.member(1));
            for (int i = 0; i < 4; i++) {
                c.node(0).send(c.member(1), 1, intPayload(i), Delivery.ASYNC);
            }
            CompletableFuture<Void> f = c.node(0).send(c.member(1), 1, intPayload(5), Delivery.ASYNC)
                    .toCompletableFuture();
            Throwable t = f.handle((v, e) -> e).join();
            assertInstanceOf(SendQueueFullException.class, t);
            assertTrue(t.getMessage().contains("maxQueuedMessages"), t.getMessage());
        }
    }

    @Test
    void payloadChangesAfterAnAsyncSendDoNotReachTheReceiver() {
        try (InMemoryCluster c = new InMemoryCluster(2, 29, config(Duration.ofSeconds(5), 1))) {
            Map<Member, List<Integer>> at1 = record(c, 1);
            ByteBuffer reused = intPayload(7);
            c.node(0).send(c.member(1), 1, reused, Delivery.ASYNC);
            reused.putInt(0, 8);
            assertTrue(c.runUntil(() -> size(at1, c.member(0)) == 1, STEP, 1000));
            assertEquals(List.of(7), at1.get(c.member(0)));
        }
    }

    @Test
    void aSendFailsClearlyWhenItsPayloadExceedsMaxFrameBytes() {
        NodeConfig cfg = NodeConfig.builder().clusterName("t").maxFrameBytes(4096).build();
        try (InMemoryCluster c = new InMemoryCluster(2, 31, cfg)) {
            IllegalArgumentException e = Assertions.assertThrows(IllegalArgumentException.class,
                    () -> c.node(0).send(c.member(1), 1, ByteBuffer.allocate(5000), Delivery.ASYNC));
            assertTrue(e.getMessage().contains("maxFrameBytes"), e.getMessage());
        }
    }

    @Test
    void connectsToAJoinedMemberAtOnceSoItsCrashIsSuspectedWithoutAnyMessage() {
        try (InMemoryCluster c = new InMemoryCluster(2, 7, config(Duration.ofSeconds(5), 1))) {
            c.runUntil(() -> false, Duration.ofMillis(10), 5); // no message is ever sent
            c.network().breakConnections(c.member(1)); // as a kill -9 would: no goodbye
            c.runUntil(() -> !c.membership(0).suspicions.isEmpty(), Duration.ofMillis(10), 10);
            List<String> suspicions = c.membership(0).suspicions;
            assertTrue(!suspicions.isEmpty() && suspicions.stream().allMatch(s -> s.contains("connection lost")),
                    "suspicions: " + suspicions);
        }
    }
}
