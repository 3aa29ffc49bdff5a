package io.flotilla.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link HttpLoad} against a local HTTP server on 127.0.0.1 that holds every request until the test releases it: the
 * open loop records every request due during the stall with its wait since it was due, where a closed loop records
 * none of them (coordinated omission).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HttpLoadTest {
    private static final int READ_TIMEOUT_MILLIS = 20_000;
    private static final long MS = 1_000_000;

    static {
        // The JDK server writes a response's headers and body separately; without TCP_NODELAY each answer would wait
        // for the client's delayed ACK (about 40 ms). Read once, when its first server is made.
        System.setProperty("sun.net.httpserver.nodelay", "true");
    }

    private HttpServer server;
    private ExecutorService handlers;
    private final CountDownLatch release = new CountDownLatch(1);
    private final AtomicInteger answered = new AtomicInteger();

    @BeforeEach
    void startServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        handlers = Executors.newFixedThreadPool(4);
        server.setExecutor(handlers);
        server.createContext("/", exchange -> {
            try {
                release.await(READ_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            byte[] body = Integer.toString(answered.incrementAndGet()).getBytes(StandardCharsets.ISO_8859_1);
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
    }

    @AfterEach
    void stopServer() {
        release.countDown();
        server.stop(0);
        handlers.shutdownNow();
    }

    /** A target that asks for {@code /} and wants a 200. */
    private final class Ok implements HttpLoad.Target {
        @Override
        public byte[] request() {
            return KeepAliveClient.request(BenchJvm.LOOPBACK, server.getAddress().getPort(), "/", null);
        }

        @Override
        public String accept(KeepAliveClient.Response r) {
            return r.status() == 200 ? null : "status " + r.status();
        }
    }

    private List<List<? extends HttpLoad.Target>> twoConnections() {
        return HttpLoad.roundRobin(List.of(new Ok(), new Ok(), new Ok(), new Ok()), 2);
    }

    /** Holds the server for the whole window, then releases it; returns when it was released. */
    private long stallUntil(long windowEnd) {
        for (long left = windowEnd - System.nanoTime(); left > 0; left = windowEnd - System.nanoTime()) {
            LockSupport.parkNanos(left); // the stall's length is what this test sets, not a wait for an event
        }
        long releasedAt = System.nanoTime();
        release.countDown();
        return releasedAt;
    }

    @Test
    void aStalledServerShowsInEveryRequestDueDuringTheStallMeasuredFromWhenItWasDue() throws InterruptedException {
        // 1,000 requests/s over two connections for a 200 ms window, the server stalled for all of it.
        long windowStart = System.nanoTime();
        long windowEnd = windowStart + 200 * MS;
        HttpLoad load = HttpLoad.constantRate(BenchJvm.LOOPBACK, server.getAddress().getPort(), twoConnections(),
                1000, READ_TIMEOUT_MILLIS);
        load.start(windowStart, windowEnd);
        long releasedAt = stallUntil(windowEnd);

        HttpLoad.Result r = load.finish(releasedAt + READ_TIMEOUT_MILLIS * MS);

        assertEquals(List.of(), r.errors());
        // Every request due in the window is recorded, though only two could be sent during the stall: at most the
        // few due before the schedule started (it starts just after windowStart) are outside it.
        assertTrue(r.requests() >= 180 && r.requests() <= 200, "requests " + r.requests());
        assertEquals(r.requests(), r.latencies().getTotalCount());
        // Request k was due k ms into the window and answered after the release: its latency is at least the rest of
        // the stall, 200 - k ms, so half of them waited at least about 100 ms and the first about 200 ms.
        long stall = releasedAt - windowStart;
        assertTrue(stall >= 200 * MS, "stall " + stall);
        assertTrue(r.latencies().getValueAtPercentile(50) >= 90 * MS,
                "p50 " + r.latencies().getValueAtPercentile(50) / MS + " ms");
        assertTrue(r.latencies().getMaxValue() >= 190 * MS, "max " + r.latencies().getMaxValue() / MS + " ms");
    }

    @Test
    void aClosedLoopUnderTheSameStallRecordsNoneOfTheRequestsItNeverSent() throws InterruptedException {
        long windowStart = System.nanoTime();
        long windowEnd = windowStart + 200 * MS;
        HttpLoad load = HttpLoad.closed(BenchJvm.LOOPBACK, server.getAddress().getPort(), twoConnections(),
                READ_TIMEOUT_MILLIS);
        load.start(windowStart, windowEnd);
        long releasedAt = stallUntil(windowEnd);

        HttpLoad.Result r = load.finish(releasedAt + READ_TIMEOUT_MILLIS * MS);

        // The two requests sent at the start were answered after the window: a closed loop's figures for those
        // 200 ms hold nothing, which is what the open loop above corrects.
        assertEquals(List.of(), r.errors());
        assertEquals(0, r.requests());
        assertTrue(answered.get() <= 2, "answered " + answered.get());
    }

    @Test
    void aWrongAnswerStopsTheLoadWithTheTargetsReason() throws InterruptedException {
        release.countDown();
        HttpLoad.Target refusing = new HttpLoad.Target() {
            @Override
            public byte[] request() {
                return KeepAliveClient.request(BenchJvm.LOOPBACK, server.getAddress().getPort(), "/", null);
            }

            @Override
            public String accept(KeepAliveClient.Response r) {
                return "answer " + r.body() + " refused";
            }
        };
        long now = System.nanoTime();
        HttpLoad load = HttpLoad.constantRate(BenchJvm.LOOPBACK, server.getAddress().getPort(),
                List.of(List.of(refusing)), 100, READ_TIMEOUT_MILLIS);
        load.start(now, now + 10_000 * MS);

        HttpLoad.Result r = load.finish(now + 20_000 * MS);

        assertTrue(load.failed());
        assertEquals(List.of("http-load-0, answer 1 refused"), r.errors());
    }

    @Test
    void aWindowMovedEarlierCountsFromItsNewStartAndStopsTheThreadsAtItsNewEnd() throws InterruptedException {
        release.countDown();
        long now = System.nanoTime();
        HttpLoad load = HttpLoad.closed(BenchJvm.LOOPBACK, server.getAddress().getPort(), twoConnections(),
                READ_TIMEOUT_MILLIS);
        assertThrows(IllegalStateException.class, () -> load.moveWindow(now, now + MS), "not started");
        load.start(now + 50_000 * MS, now + 51_000 * MS); // a warm-up of up to 50 s
        long deadline = now + 10_000 * MS;
        while (load.answeredSoFar() < 20 && System.nanoTime() - deadline < 0 && !load.failed()) {
            LockSupport.parkNanos(MS); // polling a counter, bounded by the deadline
        }
        assertTrue(load.answeredSoFar() >= 20, "answered in the warm-up " + load.answeredSoFar());
        assertEquals(0, load.countSoFar(), "the warm-up counts nothing");
        long start = System.nanoTime();
        assertThrows(IllegalStateException.class, () -> load.moveWindow(start, now + 52_000 * MS),
                "a window may only move earlier");

        load.moveWindow(start, start + 100 * MS);
        HttpLoad.Result r = load.finish(start + 5_000 * MS);

        assertEquals(List.of(), r.errors());
        assertTrue(r.requests() > 0, "requests in the moved window " + r.requests());
        assertTrue(load.answeredSoFar() >= r.requests() + 20);
        assertThrows(IllegalStateException.class, () -> load.moveWindow(start, start + 50 * MS),
                "requests were counted");
    }

    @Test
    void theScheduleIsEvenlySpacedFromItsStartWithoutDrift() {
        assertEquals(5_000, HttpLoad.dueNanos(5_000, 0, 3));
        assertEquals(5_000 + 1_000_000_000L, HttpLoad.dueNanos(5_000, 3, 3));
        assertEquals(5_000 + 1_000_000_000_000L, HttpLoad.dueNanos(5_000, 7_000_000, 7_000));
        assertEquals(List.of(List.of(0, 2, 4), List.of(1, 3)).toString(),
                HttpLoad.roundRobin(List.of(new Numbered(0), new Numbered(1), new Numbered(2), new Numbered(3),
                        new Numbered(4)), 2).toString());
        assertThrows(IllegalArgumentException.class,
                () -> HttpLoad.constantRate(BenchJvm.LOOPBACK, 1, List.of(List.of(new Numbered(0))), 0, 1));
        assertThrows(IllegalArgumentException.class,
                () -> HttpLoad.closed(BenchJvm.LOOPBACK, 1, List.of(List.of()), 1));
    }

    private record Numbered(int n) implements HttpLoad.Target {
        @Override
        public byte[] request() {
            return new byte[0];
        }

        @Override
        public String accept(KeepAliveClient.Response r) {
            return null;
        }

        @Override
        public String toString() {
            return Integer.toString(n);
        }
    }
}
