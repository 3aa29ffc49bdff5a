package io.flotilla.bench;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

/**
 * The receiver JVM of a two-node channel benchmark, seen from the JMH fork that sends.
 *
 * <p>{@link #start} launches {@link ReceiverMain} with the same {@code java} binary and class path as the
 * fork, waits (bounded) for it to listen, and follows its progress lines. {@link #close} asks it to stop,
 * then stops it by its PID: {@link Process#destroy()}, and {@link Process#destroyForcibly()} after a bounded
 * wait. A shutdown hook does the same if the fork exits without tearing down. The receiver's stderr goes
 * to a temporary log file, deleted on a clean stop and quoted in any error.
 *
 * <p>Threading: one daemon thread reads the receiver's stdout; {@link #progress()} may be read from any
 * thread; {@link #stats()} and {@link #close()} are meant for one thread at a time (JMH setup/teardown).
 */
final class ReceiverProcess implements AutoCloseable {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration REPLY_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration STOP_WAIT = Duration.ofSeconds(5);
    /** The receiver exits by itself after this long, in case everything else failed. */
    private static final Duration MAX_LIFETIME = Duration.ofHours(1);
    private static final long WAIT_PARK_NANOS = TimeUnit.MICROSECONDS.toNanos(20);

    private final Process process;
    private final Path log;
    private final Writer commands;
    private final CompletableFuture<String> ready = new CompletableFuture<>();
    private final BlockingQueue<String> replies = new ArrayBlockingQueue<>(16);
    private final Thread shutdownHook;
    private volatile long progress;

    private ReceiverProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
        this.commands = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        this.shutdownHook = new Thread(process::destroyForcibly, "bench-receiver-kill-" + process.pid());
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        Thread reader = new Thread(this::readOutput, "bench-receiver-reader-" + process.pid());
        reader.setDaemon(true);
        reader.start();
    }

    /**
     * Starts a receiver of the given kind (see {@link ReceiverMain#create}) that expects its sender on 127.0.0.1:{@code
     * senderPort}, and waits until it listens. With {@code progress}, it reports how many messages it received
     * ({@link #progress}), which costs both JVMs thousands of wake-ups a second: for benchmarks that do not wait for
     * each answer only.
     */
    static ReceiverProcess start(String kind, int senderPort, boolean progress) {
        try {
            Path log = Files.createTempFile("flotilla-bench-receiver-", ".log");
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            List<String> command = List.of(java, BenchJvm.RECEIVER_HEAP, BenchJvm.IPV4,
                    "-cp", System.getProperty("java.class.path"),
                    ReceiverMain.class.getName(), kind, Long.toString(MAX_LIFETIME.toSeconds()),
                    Integer.toString(senderPort), progress ? "on" : "off");
            Process p = new ProcessBuilder(command)
                    .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .start();
            ReceiverProcess r = new ReceiverProcess(p, log);
            try {
                r.ready.get(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException | ExecutionException e) {
                String why = r.describe("did not start within " + START_TIMEOUT);
                r.close();
                throw new IllegalStateException(why, e);
            } catch (InterruptedException e) {
                r.close();
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while starting the receiver", e);
            }
            return r;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the receiver JVM", e);
        }
    }

    /** The receiver's TCP port on 127.0.0.1. */
    int port() {
        return Integer.parseInt(readyFields()[1]);
    }

    /** The token after the port in the receiver's READY line (stock: its member unique id). */
    String token() {
        String[] f = readyFields();
        return f.length > 2 ? f[2] : "";
    }

    private String[] readyFields() {
        return ready.join().split(" ");
    }

    /** Messages received so far, as last reported (lags by up to a progress interval). */
    long progress() {
        return progress;
    }

    /**
     * Waits until the receiver reported at least {@code target} messages; false if {@code timeout} passed
     * first or the receiver died.
     */
    boolean awaitProgress(long target, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (progress < target) {
            if (System.nanoTime() - deadline > 0 || !process.isAlive()) {
                return false;
            }
            LockSupport.parkNanos(WAIT_PARK_NANOS);
        }
        return true;
    }

    /** Exact counts from the receiver: received, out of order, not in sequence, malformed. */
    long[] stats() {
        replies.clear();
        send("STATS");
        try {
            String reply = replies.poll(REPLY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            if (reply == null) {
                throw new IllegalStateException(describe("no STATS reply within " + REPLY_TIMEOUT));
            }
            String[] f = reply.split(" ");
            long[] counts = new long[f.length - 1];
            for (int i = 1; i < f.length; i++) {
                counts[i - 1] = Long.parseLong(f[i]);
            }
            return counts;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for STATS", e);
        }
    }

    private void send(String command) {
        try {
            commands.write(command + "\n");
            commands.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(describe("cannot send " + command), e);
        }
    }

    /** Stops the receiver: STOP, then destroy, then destroyForcibly, each after a bounded wait. */
    @Override
    public void close() {
        try {
            if (process.isAlive()) {
                try {
                    send("STOP");
                } catch (UncheckedIOException e) {
                    // The pipe is already closed; destroy below does the job.
                    System.err.println("receiver " + process.pid() + ": " + e.getMessage());
                }
                if (!waitFor(STOP_WAIT)) {
                    process.destroy();
                    if (!waitFor(STOP_WAIT)) {
                        process.destroyForcibly();
                        waitFor(STOP_WAIT);
                    }
                }
            }
            if (process.isAlive()) {
                System.err.println("receiver " + process.pid() + " is still alive after destroyForcibly");
            } else if (process.exitValue() == 0) {
                Files.deleteIfExists(log);
            } else {
                System.err.println(describe("exited with " + process.exitValue()));
            }
        } catch (IOException e) {
            System.err.println("cannot delete " + log + ": " + e);
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException e) {
                // The JVM is already shutting down and the hook runs anyway: nothing to undo.
                System.err.println("receiver " + process.pid() + ": shutdown in progress");
            }
        }
    }

    private boolean waitFor(Duration d) {
        try {
            return process.waitFor(d.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !process.isAlive();
        }
    }

    private void readOutput() {
        try (BufferedReader out = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                if (line.startsWith("P ")) {
                    progress = Long.parseLong(line.substring(2));
                } else if (line.startsWith("READY ")) {
                    ready.complete(line);
                } else if (line.startsWith("STATS ")) {
                    if (!replies.offer(line)) {
                        System.err.println("receiver " + process.pid() + ": dropped reply " + line);
                    }
                } else if (!line.equals("BYE")) {
                    System.err.println("receiver " + process.pid() + ": " + line);
                }
            }
        } catch (IOException | RuntimeException e) {
            System.err.println("receiver " + process.pid() + ": output reader stopped: " + e);
        } finally {
            ready.completeExceptionally(new IllegalStateException("receiver output ended"));
        }
    }

    private String describe(String what) {
        StringBuilder b = new StringBuilder("receiver JVM (pid ").append(process.pid()).append(") ").append(what);
        File f = log.toFile();
        if (f.length() > 0) {
            try {
                List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
                b.append("; last lines of ").append(log).append(':');
                for (String l : lines.subList(Math.max(0, lines.size() - 20), lines.size())) {
                    b.append(System.lineSeparator()).append("  ").append(l);
                }
            } catch (IOException e) {
                b.append("; log ").append(log).append(" unreadable: ").append(e);
            }
        }
        return b.toString();
    }
}
