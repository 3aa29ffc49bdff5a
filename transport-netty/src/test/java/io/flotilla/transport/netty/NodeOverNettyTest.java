package io.flotilla.transport.netty;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.NodeConfig;
import io.flotilla.RemoteProcessingException;
import io.flotilla.internal.DefaultNode;
import io.flotilla.spi.Clock;
import io.flotilla.testing.FixedMembership;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Tomcat's own channel scenarios (Tribes' {@code TestDataIntegrity}, {@code TestRemoteProcessException}, ordering)
 * against two real nodes: the delivery engine over the Netty transport on 127.0.0.1.
 */
class NodeOverNettyTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private final List<DefaultNode> nodes = new ArrayList<>();

    @AfterEach
    void closeNodes() {
        nodes.forEach(DefaultNode::close);
    }

    /** Two started nodes that see each other. */
    private DefaultNode[] pair() {
        FixedMembership ma = new FixedMembership();
        FixedMembership mb = new FixedMembership();
        DefaultNode a = node("a", ma);
        DefaultNode b = node("b", mb);
        ma.join(b.localMember());
        mb.join(a.localMember());
        return new DefaultNode[] {a, b};
    }

    private DefaultNode node(String name, FixedMembership membership) {
        NodeConfig config = NodeConfig.builder().clusterName("it").memberName(name)
                .timeout(Duration.ofSeconds(30)).deliveryThreads(2).build();
        DefaultNode n = new DefaultNode(config, Clock.system(), null,
                NettyTransport.factory(TestNode.config().build()).create(), membership);
        n.start();
        nodes.add(n);
        return n;
    }

    /** thread (4) | index (4) | random bytes | CRC32 of all before (8). */
    private static ByteBuffer message(int thread, int index, Random random) {
        int size = 16 + random.nextInt(64 * 1024 - 16 + 1);
        ByteBuffer b = ByteBuffer.allocate(size);
        b.putInt(thread).putInt(index);
        byte[] fill = new byte[size - 16];
        random.nextBytes(fill);
        b.put(fill);
        CRC32 crc = new CRC32();
        crc.update(b.array(), 0, size - 8);
        b.putLong(crc.getValue());
        return b.flip();
    }

    private static boolean intact(ByteBuffer p) {
        if (p.remaining() < 16) {
            return false;
        }
        byte[] bytes = new byte[p.remaining()];
        p.duplicate().get(bytes);
        CRC32 crc = new CRC32();
        crc.update(bytes, 0, bytes.length - 8);
        return crc.getValue() == ByteBuffer.wrap(bytes).getLong(bytes.length - 8);
    }

    @ParameterizedTest
    @EnumSource(Delivery.class)
    @Timeout(180)
    void twentyThreadsOfFiveHundredRandomMessagesArriveIntactOnceAndInOrder(Delivery delivery) throws Exception {
        DefaultNode[] p = pair();
        int threads = 20;
        int perThread = 500;
        AtomicLong corrupt = new AtomicLong();
        AtomicLong outOfOrder = new AtomicLong();
        AtomicInteger received = new AtomicInteger();
        int[] next = new int[threads];
        p[1].addMessageListener(3, m -> {
            ByteBuffer b = m.payload();
            if (!intact(b)) {
                corrupt.incrementAndGet();
                return;
            }
            int t = b.getInt(0);
            int i = b.getInt(4);
            // One sender's messages are delivered one at a time, so this array needs no lock.
            if (next[t] != i) {
                outOfOrder.incrementAndGet();
            }
            next[t] = i + 1;
            received.incrementAndGet();
        });
        Member target = p[1].localMember();
        List<Thread> senders = new ArrayList<>();
        List<CompletableFuture<Void>> sends = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch go = new CountDownLatch(1);
        for (int t = 0; t < threads; t++) {
            int thread = t;
            Thread s = new Thread(() -> {
                Random r = new Random(thread * 31L + delivery.ordinal());
                try {
                    go.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                List<CompletableFuture<Void>> mine = new ArrayList<>();
                for (int i = 0; i < perThread; i++) {
                    mine.add(p[0].send(target, 3, message(thread, i, r), delivery).toCompletableFuture());
                    if (mine.size() >= 64) {
                        // Keep a bounded window per thread, like a real caller waiting for its guarantees.
                        mine.remove(0).join();
                    }
                }
                sends.addAll(mine);
            }, "sender-" + t);
            senders.add(s);
            s.start();
        }
        go.countDown();
        for (Thread s : senders) {
            s.join(TimeUnit.SECONDS.toMillis(120));
        }
        CompletableFuture.allOf(sends.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        await("all messages received", WAIT, () -> received.get() == threads * perThread,
                () -> "received " + received.get());
        assertEquals(0, corrupt.get(), "corrupt messages");
        assertEquals(0, outOfOrder.get(), "out-of-order deliveries");
        assertEquals(threads * perThread, received.get(), "each message exactly once");
    }

    @Test
    @Timeout(120)
    void tenThousandProcessedSendsFailExactlyWhereTheRemoteListenerThrowsWithoutDuplicates() throws Exception {
        DefaultNode[] p = pair();
        int count = 10_000;
        ConcurrentHashMap<Integer, Integer> deliveries = new ConcurrentHashMap<>();
        p[1].addMessageListener(5, m -> {
            int id = m.payload().getInt(0);
            deliveries.merge(id, 1, Integer::sum);
            if (m.payload().get(4) == 1) {
                throw new IllegalArgumentException("refused message " + id);
            }
        });
        Random r = new Random(2026);
        boolean[] throwing = new boolean[count];
        List<CompletableFuture<Void>> sends = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            throwing[i] = r.nextBoolean();
            ByteBuffer b = ByteBuffer.allocate(5).putInt(i).put((byte) (throwing[i] ? 1 : 0)).flip();
            sends.add(p[0].send(p[1].localMember(), 5, b, Delivery.PROCESSED).toCompletableFuture());
            if (i % 256 == 255) {
                sends.get(i - 128).handle((v, e) -> null).join();
            }
        }
        int failed = 0;
        for (int i = 0; i < count; i++) {
            Throwable t = sends.get(i).handle((v, e) -> e).get(60, TimeUnit.SECONDS);
            if (throwing[i]) {
                failed++;
                assertInstanceOf(RemoteProcessingException.class, t, "message " + i);
                RemoteProcessingException rpe = (RemoteProcessingException) t;
                assertEquals(p[1].localMember(), rpe.member());
                assertTrue(rpe.getMessage().contains(p[1].localMember().describe())
                        && rpe.remoteError().equals("java.lang.IllegalArgumentException: refused message " + i),
                        rpe.getMessage());
            } else {
                assertEquals(null, t, "message " + i + " must succeed");
            }
        }
        assertTrue(failed > 4_000 && failed < 6_000, "about half threw: " + failed);
        assertEquals(count, deliveries.size(), "every message delivered");
        assertTrue(deliveries.values().stream().allMatch(n -> n == 1), "no message delivered twice");
    }

    @ParameterizedTest
    @EnumSource(Delivery.class)
    @Timeout(120)
    void oneSendersMessagesNeverArriveOutOfOrder(Delivery delivery) throws Exception {
        DefaultNode[] p = pair();
        int count = delivery == Delivery.ASYNC ? 100_000 : 20_000;
        AtomicInteger expected = new AtomicInteger();
        AtomicLong outOfOrder = new AtomicLong();
        p[1].addMessageListener(7, m -> {
            int v = m.payload().getInt(0);
            if (v != expected.getAndSet(v + 1)) {
                outOfOrder.incrementAndGet();
            }
        });
        CompletableFuture<Void> last = null;
        List<CompletableFuture<Void>> window = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            ByteBuffer b = ByteBuffer.allocate(100).putInt(0, i);
            last = p[0].send(p[1].localMember(), 7, b, delivery).toCompletableFuture();
            if (delivery != Delivery.ASYNC) {
                window.add(last);
                if (window.size() >= 256) {
                    window.remove(0).join();
                }
            }
        }
        last.get(60, TimeUnit.SECONDS);
        await("all delivered", WAIT, () -> expected.get() == count, () -> "at " + expected.get());
        assertEquals(0, outOfOrder.get(), "out-of-order deliveries with " + delivery);
    }

    @Test
    @Timeout(60)
    void dependentsOfASendNeverRunOnAnIoThreadEvenWhenAttachedWithTheNonAsyncMethods() throws Exception {
        DefaultNode[] p = pair();
        p[1].addMessageListener(9, m -> { });
        List<String> threads = Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < 200; i++) {
            CompletableFuture<Void> f = p[0].send(p[1].localMember(), 9, ByteBuffer.allocate(8), Delivery.RECEIVED)
                    .toCompletableFuture();
            // Attached while in flight: without the executor rule these would run on the I/O thread that completes f.
            f.thenRun(() -> threads.add(Thread.currentThread().getName()));
            f.whenComplete((v, e) -> threads.add(Thread.currentThread().getName()));
            f.get(30, TimeUnit.SECONDS);
            f.thenApply(v -> threads.add(Thread.currentThread().getName())).get(30, TimeUnit.SECONDS);
        }
        await("every dependent ran", WAIT, () -> threads.size() == 600);
        List<String> offenders = threads.stream().filter(t -> !t.contains("-delivery-")).distinct().toList();
        assertEquals(List.of(), offenders, "dependents ran outside the delivery threads");
    }
}
