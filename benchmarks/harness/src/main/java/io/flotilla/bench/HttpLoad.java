package io.flotilla.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import org.HdrHistogram.Histogram;

/**
 * HTTP load from this JVM: one thread per keep-alive connection ({@link KeepAliveClient}), each sending the requests
 * of its own targets in turn, every answer checked, every latency recorded in an HdrHistogram. Two shapes:
 * <ul>
 *   <li><b>Closed loop</b> ({@link #closed}): each connection sends its next request as soon as the last one is
 *       answered. This finds the peak rate; its latencies are service times (a request waits for nothing but the
 *       server), so they say nothing about response times at a given load.
 *   <li><b>Open loop at a constant rate</b> ({@link #constantRate}), wrk2's model: the load offers {@code rate}
 *       requests/s whatever the server does. Connection {@code c} of {@code n} owns the requests {@code c, c + n, c +
 *       2n, ...} of one evenly spaced schedule; request {@code k} is due at {@code start + k / rate}. A connection
 *       sends a request when it is due or, if an earlier one is still outstanding, as soon as that one is answered,
 *       and its latency is measured <em>from the time it was due</em>, not from when it was sent (the coordinated
 *       omission correction): a server that stalls for S seconds shows as latencies up to S in every request due
 *       during the stall, as its users would see it, not as one slow request among requests never sent. HTTP/1.1
 *       without pipelining allows one outstanding request per connection, so a connection that falls behind sends
 *       back to back until it catches up; the offered rate is the schedule's whatever the connections manage.
 * </ul>
 * A request counts in the measured window [{@code windowStart}, {@code windowEnd}) by the time it was due (open
 * loop) or answered (closed loop); the threads stop at {@code windowEnd}, and a request still outstanding then is
 * awaited (bounded by the read timeout) and recorded. A running load's window may be moved earlier
 * ({@link #moveWindow}): a warm-up that ends when the servers' cost per request has settled.
 *
 * <p>Why not the JDK's {@code HttpClient}: on the two cores the client shares with the Tomcats it measures, the load
 * generator's CPU per request is part of every figure; this client costs one write and usually one read system call
 * per request, the closed loop that finds the peak uses it too, so the open-loop fractions of that peak are offered
 * by the same client at the same cost per request. The JDK client hands each exchange between its selector thread
 * and an executor: 75 to 130 us of CPU per request here, against 4 to 9 for this client and about 15 for the plain
 * Tomcat (benchmarks/README.md).
 *
 * <p>Threading: {@link #start} once, from one thread; {@link #failed}, {@link #awaitUntil}, {@link #countSoFar},
 * {@link #answeredSoFar} and {@link #moveWindow} from any thread; {@link #finish} once, from the thread that started
 * it. The targets of one connection are used by its thread only.
 */
final class HttpLoad {
    /** One client session of the load: the bytes of its next request, and the check of each answer. */
    interface Target {
        /** The bytes of this target's next request. */
        byte[] request();

        /** Null if {@code r} is this target's correct next answer, else what is wrong with it. */
        String accept(KeepAliveClient.Response r);

        /**
         * The port on the load's host that gets this target's next request; by default the load's own. A target that
         * names other ports (non-sticky balancing over several servers) has its connection thread keep one keep-alive
         * connection per port.
         */
        default int port(int loadPort) {
            return loadPort;
        }

        /** The path of this target's next request, for {@link Client#JDK}, which builds its own request. */
        default String path() {
            throw new UnsupportedOperationException(getClass().getSimpleName() + " has no path: raw client only");
        }

        /** The session id this target sends as its {@code JSESSIONID} cookie, or null, for {@link Client#JDK}. */
        default String sessionId() {
            throw new UnsupportedOperationException(getClass().getSimpleName() + " has no session id: raw client only");
        }
    }

    /** The HTTP client of a load's connection threads. */
    enum Client {
        /**
         * {@link KeepAliveClient}: one write and usually one read system call per request, so the load generator costs
         * the shared cores little (the suite's default, see the class comment).
         */
        RAW,
        /**
         * The JDK's {@code java.net.http.HttpClient} (HTTP/1.1, one client and so one keep-alive connection per
         * connection thread), as an application's own load tool would use it: the load a user's measurement sees,
         * at 75 to 130 us of client CPU per request.
         */
        JDK
    }

    /**
     * The figures of one load: requests counted in the window, their latencies in nanoseconds, and the errors (the
     * load stops at the first).
     */
    record Result(long requests, Histogram latencies, List<String> errors, long repeats) {
    }

    private static final int MAX_ERRORS = 100;

    private final String host;
    private final int port;
    private final List<List<? extends Target>> connections;
    private final double ratePerSecond;
    private final int readTimeoutMillis;
    private final Client client;
    private final AtomicBoolean failed = new AtomicBoolean();
    /** Requests the JDK client sent twice, answered unchanged by the servlet ({@code BenchTomcat.Repeats}). */
    private final AtomicLong repeats = new AtomicLong();
    private final ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
    private final List<Worker> workers = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    /** The measured window; one object, so that a thread never sees the start of one and the end of another. */
    private volatile Window window;

    /** [{@code start}, {@code end}) in {@link System#nanoTime} values. */
    private record Window(long start, long end) {
    }

    private HttpLoad(String host, int port, List<List<? extends Target>> connections, double ratePerSecond,
            int readTimeoutMillis, Client client) {
        if (connections.isEmpty() || connections.stream().anyMatch(List::isEmpty)) {
            throw new IllegalArgumentException("every connection needs at least one target, got " + connections);
        }
        if (ratePerSecond < 0 || Double.isNaN(ratePerSecond) || Double.isInfinite(ratePerSecond)) {
            throw new IllegalArgumentException("rate must be a finite number of requests/s >= 0, got " + ratePerSecond);
        }
        this.host = host;
        this.port = port;
        this.connections = List.copyOf(connections);
        this.ratePerSecond = ratePerSecond;
        this.readTimeoutMillis = readTimeoutMillis;
        this.client = client;
    }

    /** A closed loop: one connection per list of targets, each sending back to back. */
    static HttpLoad closed(String host, int port, List<List<? extends Target>> connections, int readTimeoutMillis) {
        return closed(host, port, connections, readTimeoutMillis, Client.RAW);
    }

    /** A closed loop through {@code client}. */
    static HttpLoad closed(String host, int port, List<List<? extends Target>> connections, int readTimeoutMillis,
            Client client) {
        return new HttpLoad(host, port, connections, 0, readTimeoutMillis, client);
    }

    /** An open loop offering {@code ratePerSecond} requests/s in all over one connection per list of targets. */
    static HttpLoad constantRate(String host, int port, List<List<? extends Target>> connections, double ratePerSecond,
            int readTimeoutMillis) {
        if (!(ratePerSecond > 0)) {
            throw new IllegalArgumentException("an open loop needs a rate > 0 requests/s, got " + ratePerSecond);
        }
        return new HttpLoad(host, port, connections, ratePerSecond, readTimeoutMillis, Client.RAW);
    }

    /**
     * Splits {@code targets} round-robin over {@code n} connections: target {@code i} goes to connection
     * {@code i mod n}.
     */
    static <T extends Target> List<List<? extends Target>> roundRobin(List<T> targets, int n) {
        List<List<? extends Target>> out = new ArrayList<>();
        for (int c = 0; c < n; c++) {
            List<T> mine = new ArrayList<>();
            for (int i = c; i < targets.size(); i += n) {
                mine.add(targets.get(i));
            }
            out.add(mine);
        }
        return out;
    }

    /**
     * The time request {@code k} of an open loop started at {@code startNanos} is due: {@code k / rate} seconds
     * after the start, computed from {@code k} (never by adding periods, which would drift).
     */
    static long dueNanos(long startNanos, long k, double ratePerSecond) {
        return startNanos + (long) (k * (1e9 / ratePerSecond));
    }

    /**
     * Starts one thread per connection now (the open loop's schedule starts now), counting what falls in
     * [{@code windowStart}, {@code windowEnd}) ({@link System#nanoTime} values).
     */
    void start(long windowStart, long windowEnd) {
        if (!threads.isEmpty()) {
            throw new IllegalStateException("started twice");
        }
        long scheduleStart = System.nanoTime();
        window = new Window(windowStart, windowEnd);
        for (int c = 0; c < connections.size(); c++) {
            Worker w = new Worker(c, scheduleStart);
            Thread t = new Thread(w, "http-load-" + c);
            t.setDaemon(true);
            workers.add(w);
            threads.add(t);
        }
        threads.forEach(Thread::start);
    }

    /**
     * Parks the caller until {@code deadlineNanos} (a {@link System#nanoTime} value; a timer for the measured window,
     * not a synchronisation); false, as soon as it happens, if the load failed meanwhile.
     */
    boolean awaitUntil(long deadlineNanos) {
        for (long left = deadlineNanos - System.nanoTime(); left > 0 && !failed.get();
                left = deadlineNanos - System.nanoTime()) {
            LockSupport.parkNanos(Math.min(left, 50_000_000));
        }
        return !failed.get();
    }

    /** Whether a request failed (the load stops at the first failure). */
    boolean failed() {
        return failed.get();
    }

    /** Requests counted so far (racy, for a progress or CPU figure only). */
    long countSoFar() {
        return workers.stream().mapToLong(w -> w.count).sum();
    }

    /** Requests answered so far, in the window or not (racy, for a warm-up's cost per request only). */
    long answeredSoFar() {
        return workers.stream().mapToLong(w -> w.answered).sum();
    }

    /**
     * Moves the measured window of the running load to [{@code windowStart}, {@code windowEnd}); the threads stop at
     * the new end. Only earlier than the window given to {@link #start}, and before any request was counted:
     * otherwise counted requests would fall outside the window they are reported for.
     *
     * @throws IllegalStateException if the load was not started, a request was counted already, or the new window is
     *         not before the old one's end
     */
    void moveWindow(long windowStart, long windowEnd) {
        Window w = window;
        if (w == null) {
            throw new IllegalStateException("not started");
        }
        if (windowEnd - w.end() > 0 || windowEnd - windowStart <= 0) {
            throw new IllegalStateException("a moved window must end no later than the first and after it starts");
        }
        if (countSoFar() > 0) {
            throw new IllegalStateException("requests were counted in the first window already");
        }
        window = new Window(windowStart, windowEnd);
    }

    /**
     * Waits for every thread until {@code deadlineNanos}, then returns the figures; a thread still running then is
     * an error.
     */
    Result finish(long deadlineNanos) throws InterruptedException {
        for (Thread t : threads) {
            long left = deadlineNanos - System.nanoTime();
            t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            if (t.isAlive()) {
                error(t.getName() + " did not finish within " + (readTimeoutMillis / 1000) + " s of the window's end");
            }
        }
        long requests = 0;
        Histogram latencies = new Histogram(HttpHarness.LATENCY_DIGITS);
        for (Worker w : workers) {
            requests += w.count;
            if (!failed.get()) { // a failed load may have a thread still recording; its figures are not used
                latencies.add(w.latencies);
            }
        }
        return new Result(requests, latencies, new ArrayList<>(errors), repeats.get());
    }

    private void error(String message) {
        if (errors.size() < MAX_ERRORS) {
            errors.add(message);
        }
        failed.set(true);
    }

    /**
     * One connection's thread. Its counter and its histogram (written by this thread alone) are read by
     * {@link #finish} after {@link Thread#join}.
     */
    private final class Worker implements Runnable {
        private final int index;
        private final long scheduleStart;
        private final List<? extends Target> mine;
        volatile long count;
        volatile long answered;
        final Histogram latencies = new Histogram(HttpHarness.LATENCY_DIGITS);

        Worker(int index, long scheduleStart) {
            this.index = index;
            this.scheduleStart = scheduleStart;
            this.mine = connections.get(index);
        }

        @Override
        public void run() {
            String name = Thread.currentThread().getName();
            boolean open = ratePerSecond > 0;
            int n = connections.size();
            Map<Integer, KeepAliveClient> clients = new HashMap<>();
            JdkClient jdk = client == Client.JDK ? new JdkClient(host, readTimeoutMillis, repeats) : null;
            try {
                int next = 0;
                long counted = 0;
                // Bounded by time: each exchange is bounded by the read timeout, the loop by the window's end.
                for (long j = 0; !failed.get(); j++) {
                    long due = open ? dueNanos(scheduleStart, j * n + index, ratePerSecond) : System.nanoTime();
                    Window w = window;
                    if (due - w.end() >= 0) {
                        break;
                    }
                    parkUntil(due);
                    Target target = mine.get(next);
                    next = next + 1 == mine.size() ? 0 : next + 1;
                    int to = target.port(port);
                    long sent;
                    KeepAliveClient.Response r;
                    if (jdk != null) {
                        sent = open ? due : System.nanoTime();
                        r = jdk.exchange(to, target.path(), target.sessionId());
                    } else {
                        KeepAliveClient raw = clients.computeIfAbsent(to,
                                p -> new KeepAliveClient(host, p, readTimeoutMillis));
                        sent = open ? due : System.nanoTime();
                        r = raw.exchange(target.request());
                    }
                    long answeredAt = System.nanoTime();
                    String wrong = target.accept(r);
                    if (wrong != null) {
                        error(name + ", " + wrong);
                        return;
                    }
                    answered = j + 1;
                    long countedAt = open ? due : answeredAt;
                    Window c = window; // moved meanwhile: this answer counts by the new one
                    if (countedAt - c.start() >= 0 && countedAt - c.end() < 0) {
                        counted++;
                        count = counted;
                        latencies.recordValue(answeredAt - sent);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                error(name + ": interrupted");
            } catch (IOException | RuntimeException e) {
                error(name + ": " + e);
            } finally {
                for (KeepAliveClient c : clients.values()) {
                    try {
                        c.close();
                    } catch (IOException e) {
                        // The figures are taken; a socket that fails to close costs nothing but a line.
                        System.err.println(name + ": closing a connection: " + e);
                    }
                }
            }
        }

        /** Parks until {@code due} (the schedule's timer; a request already late is sent at once). */
        private void parkUntil(long due) {
            for (long left = due - System.nanoTime(); left > 0 && !failed.get(); left = due - System.nanoTime()) {
                LockSupport.parkNanos(left);
            }
        }
    }

    /**
     * {@link Client#JDK}: one {@code HttpClient} (HTTP/1.1) per connection thread; each request a {@code GET} with the
     * target's cookie, its answer as a {@link KeepAliveClient.Response}. Threading: one thread.
     */
    private static final class JdkClient {
        private final String host;
        private final Duration timeout;
        private final HttpClient http;
        private final AtomicLong repeats;
        /** Numbers this client's requests, so the servlet can tell a repeat ({@code BenchTomcat.Repeats}). */
        private long sent;

        /** {@code repeats}: counts the answers marked as repeats. */
        JdkClient(String host, int readTimeoutMillis, AtomicLong repeats) {
            this.host = host;
            this.repeats = repeats;
            this.timeout = Duration.ofMillis(readTimeoutMillis);
            this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(timeout).build();
        }

        KeepAliveClient.Response exchange(int port, String path, String sessionId)
                throws IOException, InterruptedException {
            String numbered = path + (path.contains("?") ? "&" : "?") + BenchTomcat.REQUEST_NUMBER + "=" + ++sent;
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + host + ":" + port + numbered))
                    .timeout(timeout).GET();
            if (sessionId != null) {
                b.header("Cookie", KeepAliveClient.COOKIE + "=" + sessionId);
            }
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            String set = null;
            for (String c : r.headers().allValues("Set-Cookie")) {
                if (c.startsWith(KeepAliveClient.COOKIE + "=")) {
                    int end = c.indexOf(';');
                    set = c.substring(KeepAliveClient.COOKIE.length() + 1, end < 0 ? c.length() : end);
                }
            }
            if (r.headers().firstValue(BenchTomcat.REPEAT_HEADER).isPresent()) {
                repeats.incrementAndGet();
            }
            return new KeepAliveClient.Response(r.statusCode(), set, false, r.body());
        }
    }
}
