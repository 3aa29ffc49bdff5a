package io.flotilla.membership;

import io.flotilla.internal.RateLimitedLog;
import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.spi.Clock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CommandLoopTest {
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final MembershipMeters meters = new MembershipMeters(registry, "test", "multicast");

    private CommandLoop loop(int capacity) {
        return new CommandLoop(r -> {
            Thread t = new Thread(r, "flotilla-test-membership-1");
            t.setDaemon(true);
            return t;
        }, capacity, meters, new RateLimitedLog(System.getLogger("test"), Clock.system(), 1_000_000_000L));
    }

    /**
     * Posts a command that holds the loop until the returned latch is released, then runs {@code then}; returns once
     * it started.
     */
    private static CountDownLatch occupy(CommandLoop loop, Runnable then) throws InterruptedException {
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        loop.execute(() -> {
            started.countDown();
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            then.run();
        });
        assertTrue(started.await(30, TimeUnit.SECONDS), "the loop runs the occupying command");
        return release;
    }

    @Test
    void runsCommandsInOrderAndSurvivesOneThatThrows() throws Exception {
        CommandLoop loop = loop(16);
        loop.start();
        List<Integer> ran = new CopyOnWriteArrayList<>();
        loop.execute(() -> ran.add(1));
        loop.execute(() -> {
            throw new IllegalStateException("boom");
        });
        loop.execute(() -> ran.add(2));
        await("both commands ran", Duration.ofSeconds(30), () -> ran.size() == 2);
        assertEquals(List.of(1, 2), ran);
        assertTrue(loop.close(Duration.ofSeconds(10)));
        loop.execute(() -> ran.add(3)); // after close: dropped quietly
        assertEquals(2, ran.size());
    }

    @Test
    void fullQueueShedsDatagramsFirstAndCountsDrops() throws Exception {
        CommandLoop loop = loop(4);
        loop.start();
        CountDownLatch release = occupy(loop, () -> { });
        assertTrue(loop.executeDroppable(() -> { }));
        assertTrue(loop.executeDroppable(() -> { }));
        assertFalse(loop.executeDroppable(() -> { }), "half full: datagrams are shed");
        loop.execute(() -> { });
        loop.execute(() -> { });
        loop.execute(() -> { }); // the queue is full now: dropped
        assertEquals(2.0, meters.commandsDropped.count());
        release.countDown();
        assertTrue(loop.close(Duration.ofSeconds(10)));
    }

    @Test
    void aDatagramRunsOnTheReceivingThreadWhenTheLoopIsIdleAndAfterTheCommandsBeforeItOtherwise() throws Exception {
        CommandLoop loop = loop(16);
        loop.start();
        List<String> ran = new CopyOnWriteArrayList<>();
        assertTrue(loop.runHereOrPost(() -> ran.add("idle on " + Thread.currentThread().getName())));
        assertEquals(List.of("idle on " + Thread.currentThread().getName()), ran, "ran at once, on this thread");

        CountDownLatch release = occupy(loop, () -> ran.add("long"));
        assertTrue(loop.runHereOrPost(() -> ran.add("after on " + Thread.currentThread().getName())));
        assertEquals(1, ran.size(), "a command is running: the datagram's waits behind it");
        release.countDown();
        await("the queued datagram ran", Duration.ofSeconds(30), () -> ran.size() == 3);
        assertEquals(List.of("long", "after on flotilla-test-membership-1"), ran.subList(1, 3));
        assertTrue(loop.close(Duration.ofSeconds(10)));
        assertFalse(loop.runHereOrPost(() -> ran.add("closed")));
        assertEquals(3, ran.size());
    }
}
