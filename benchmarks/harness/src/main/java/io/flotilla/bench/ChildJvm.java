package io.flotilla.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A {@link ChildNode} (or any program that prints lines) in a child JVM, seen from the parent: started with the same
 * {@code java} binary and class path, its stdout lines recorded with their arrival time, commands written to its
 * stdin, signals sent by its PID ({@code kill -9}, {@code SIGSTOP}, {@code SIGCONT}), and always stopped by
 * {@link #close}: {@code CLOSE}, then {@link Process#destroyForcibly()} after a bounded wait. Its stderr is copied,
 * line by line, to the parent's stderr, and its last {@value #STDERR_TAIL} lines are kept: a child that exits or stays
 * silent fails {@link #await} with its exit status and those lines in the message, so the cause reaches a log that
 * shows only the failure.
 *
 * <p>Threading: safe from any thread; two daemon threads per child read its stdout and its stderr.
 */
public final class ChildJvm implements AutoCloseable {
    /** Heap of every child: the machine is shared. */
    public static final String CHILD_HEAP = "-Xmx128m";
    private static final Duration STOP_WAIT = Duration.ofSeconds(5);
    /** The child's last stderr lines a failure message carries. */
    static final int STDERR_TAIL = 40;

    /** A line of the child's stdout and the parent's {@link System#nanoTime()} when it was read. */
    public record Line(String text, long nanos) {
    }

    private final Process process;
    private final String label;
    private final Writer stdin;
    private final List<Line> lines = new ArrayList<>();
    /** Guarded by itself, not by this: the stderr reader never waits for a thread in {@link #await}. */
    private final ArrayDeque<String> stderrTail = new ArrayDeque<>();
    private final Thread stderrReader;
    private final Thread shutdownHook;
    private boolean stopped;
    /** The child's stdout ended: it exited (or closed it), so no line will come. */
    private boolean stdoutEnded;

    private ChildJvm(Process process, String label) {
        this.process = process;
        this.label = label;
        this.stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        this.shutdownHook = new Thread(process::destroyForcibly, "child-kill-" + process.pid());
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        Thread reader = new Thread(this::read, "child-reader-" + process.pid());
        reader.setDaemon(true);
        reader.start();
        stderrReader = new Thread(this::readStderr, "child-stderr-" + process.pid());
        stderrReader.setDaemon(true);
        stderrReader.start();
    }

    /** The class path a child gets: the test class path under surefire, else this JVM's. */
    public static String classPath() {
        return System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    }

    /** The {@code java} binary of this JVM. */
    public static String javaBinary() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** The command that runs {@code mainClass} with {@code args} in a small JVM like this one. */
    public static List<String> command(Class<?> mainClass, List<String> args) {
        return command(mainClass, args, List.of());
    }

    /** As {@link #command(Class, List)}, with {@code jvmFlags} added after this harness's own. */
    public static List<String> command(Class<?> mainClass, List<String> args, List<String> jvmFlags) {
        List<String> cmd = new ArrayList<>(List.of(javaBinary(), CHILD_HEAP, "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", BenchJvm.IPV4));
        cmd.addAll(jvmFlags);
        cmd.addAll(List.of("-cp", classPath(), mainClass.getName()));
        cmd.addAll(args);
        return cmd;
    }

    /** Starts {@code command} (e.g. from {@link #command}); {@code label} names it in messages. */
    public static ChildJvm start(String label, List<String> command) {
        return start(label, command, Map.of());
    }

    /** As {@link #start(String, List)}, with {@code env} added to the child's environment. */
    public static ChildJvm start(String label, List<String> command, Map<String, String> env) {
        try {
            ProcessBuilder b = new ProcessBuilder(command);
            b.environment().putAll(env);
            Process p = b.start();
            return new ChildJvm(p, label);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + label + ": " + command, e);
        }
    }

    /** Starts a {@link ChildNode} with {@code key=value} args and waits for its READY line. */
    public static ChildJvm startNode(String label, List<String> args, Duration timeout) {
        return startNode(label, args, timeout, List.of());
    }

    /** As {@link #startNode(String, List, Duration)}, the child's JVM started with {@code jvmFlags} too. */
    public static ChildJvm startNode(String label, List<String> args, Duration timeout, List<String> jvmFlags) {
        ChildJvm c = start(label, command(ChildNode.class, args, jvmFlags));
        try {
            c.await("READY", l -> l.startsWith("READY "), timeout);
            return c;
        } catch (RuntimeException | AssertionError e) {
            c.close();
            throw e;
        }
    }

    public long pid() {
        return process.pid();
    }

    public Process process() {
        return process;
    }

    /** The {@code host:port} from the READY line of a {@link ChildNode}. */
    public String address() {
        String[] f = await("READY", l -> l.startsWith("READY "), Duration.ZERO).text().split(" ");
        return f[1] + ":" + f[2];
    }

    /** The first line so far that matches, or null. */
    public synchronized Line find(Predicate<String> p) {
        for (Line l : lines) {
            if (p.test(l.text())) {
                return l;
            }
        }
        return null;
    }

    /** Every line so far. */
    public synchronized List<Line> lines() {
        return new ArrayList<>(lines);
    }

    /**
     * Waits until a line matching {@code p} was printed, at most {@code timeout}.
     *
     * @throws AssertionError when the timeout passes first, or at once when the child's stdout ends (it exited) with no
     *         such line; the message has the child's exit status, its stdout lines and its last stderr lines
     */
    public Line await(String what, Predicate<String> p, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean ended;
        synchronized (this) {
            while (true) {
                Line l = find(p);
                if (l != null) {
                    return l;
                }
                long left = deadline - System.nanoTime();
                if (stdoutEnded || left <= 0) {
                    ended = stdoutEnded;
                    break;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError("interrupted waiting for " + what, e);
                }
            }
        }
        // Outside the lock: the child's exit and its last stderr lines are waited for (bounded).
        throw new AssertionError(label + " (pid " + pid() + ") printed no line for '" + what + "' "
                + (ended ? "before its output ended" : "within " + timeout.toMillis() + " ms") + "; " + state(ended)
                + ", lines: " + lines() + "; its last stderr lines:\n  " + String.join("\n  ", stderrTail()));
    }

    /** Writes one command line to the child's stdin. */
    public void command(String line) {
        try {
            stdin.write(line + "\n");
            stdin.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(label + ": cannot send " + line, e);
        }
    }

    /** {@code kill -9}: {@link Process#destroyForcibly()} is SIGKILL on Linux. Waits (bounded) for the exit. */
    public void kill9() {
        process.destroyForcibly();
        waitFor(STOP_WAIT);
    }

    /** Sends a signal by PID with the {@code kill} command: {@code STOP}, {@code CONT}. */
    public void signal(String name) {
        try {
            Process k = new ProcessBuilder("kill", "-" + name, Long.toString(pid())).inheritIO().start();
            if (!k.waitFor(STOP_WAIT.toMillis(), TimeUnit.MILLISECONDS) || k.exitValue() != 0) {
                k.destroyForcibly();
                throw new IllegalStateException("kill -" + name + " " + pid() + " failed");
            }
            synchronized (this) {
                stopped = name.equals("STOP");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run kill -" + name, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted sending " + name, e);
        }
    }

    /** Waits up to {@code d} for the child to exit; true if it did. */
    public boolean waitFor(Duration d) {
        try {
            return process.waitFor(d.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !process.isAlive();
        }
    }

    /** Asks the child to close (resuming it first if stopped), then kills it by PID after a bounded wait. */
    @Override
    public void close() {
        try {
            if (process.isAlive()) {
                boolean wasStopped;
                synchronized (this) {
                    wasStopped = stopped;
                }
                if (wasStopped) {
                    signal("CONT");
                }
                try {
                    command("CLOSE");
                } catch (UncheckedIOException e) {
                    System.err.println(label + ": " + e.getMessage() + "; killing it");
                }
                if (!waitFor(STOP_WAIT)) {
                    process.destroyForcibly();
                    waitFor(STOP_WAIT);
                }
            }
            if (process.isAlive()) {
                System.err.println(label + " (pid " + pid() + ") is still alive after destroyForcibly");
            }
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException e) {
                // The JVM is shutting down and the hook kills the child anyway.
                System.err.println(label + ": shutdown in progress");
            }
        }
    }

    /** {@code exit status N} once the child exited (waiting briefly for it when its output ended), else alive. */
    private String state(boolean outputEnded) {
        boolean exited = !process.isAlive();
        if (!exited && outputEnded) {
            try {
                exited = process.waitFor(STOP_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return exited ? "exit status " + process.exitValue() : "alive";
    }

    /** The child's last stderr lines; all of them once it exited (its stderr reader is given a moment to finish). */
    private List<String> stderrTail() {
        if (!process.isAlive()) {
            try {
                stderrReader.join(STOP_WAIT.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (stderrTail) {
            return new ArrayList<>(stderrTail);
        }
    }

    private void read() {
        try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                long now = System.nanoTime();
                synchronized (this) {
                    lines.add(new Line(line, now));
                    notifyAll();
                }
            }
        } catch (IOException e) {
            System.err.println(label + ": output reader stopped: " + e);
        } finally {
            synchronized (this) {
                stdoutEnded = true;
                notifyAll();
            }
        }
    }

    /** Copies the child's stderr to this JVM's, keeping its last {@value #STDERR_TAIL} lines. */
    private void readStderr() {
        try (BufferedReader err = new BufferedReader(new InputStreamReader(process.getErrorStream(),
                StandardCharsets.UTF_8))) {
            for (String line = err.readLine(); line != null; line = err.readLine()) {
                System.err.println(line);
                synchronized (stderrTail) {
                    if (stderrTail.size() == STDERR_TAIL) {
                        stderrTail.removeFirst();
                    }
                    stderrTail.addLast(line);
                }
            }
        } catch (IOException e) {
            System.err.println(label + ": stderr reader stopped: " + e);
        }
    }

    @Override
    public String toString() {
        return label + " (pid " + pid() + ")";
    }
}
