package io.flotilla.tomcat.e2e;

import io.flotilla.testing.Await;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * One real Tomcat: a {@code CATALINA_BASE} of its own, run as a child process with {@code bin/catalina.sh run}
 * (which {@code exec}s the JVM, so the child's PID is Tomcat's). Started, killed with {@code SIGKILL}, restarted on
 * the same base and ports, and stopped, always by that PID.
 *
 * <p>Threading: start, kill and stop are called from the test thread; {@link #alive()} and the URIs from any thread.
 */
public final class TomcatNode {
    /** How long a Tomcat has to stop after SIGTERM before it gets SIGKILL. */
    private static final Duration STOP_GRACE = Duration.ofSeconds(20);
    private static final Duration KILL_WAIT = Duration.ofSeconds(10);

    private final String route;
    private final Path home;
    private final Path base;
    private final ClusterLayout.NodePorts ports;
    private final List<String> javaOpts;
    private volatile Process process;
    private int starts;

    TomcatNode(String route, Path home, Path base, ClusterLayout.NodePorts ports, List<String> javaOpts) {
        this.route = route;
        this.home = home;
        this.base = base;
        this.ports = ports;
        this.javaOpts = List.copyOf(javaOpts);
    }

    /** The Engine's {@code jvmRoute}, also this node's name. */
    public String route() {
        return route;
    }

    public Path base() {
        return base;
    }

    public int httpPort() {
        return ports.http();
    }

    /** {@code http://127.0.0.1:<port>/app<path>}. */
    public URI uri(String path) {
        return URI.create("http://127.0.0.1:" + ports.http() + TomcatCluster.CONTEXT_PATH + path);
    }

    /** The stdout and stderr of the current (or last) run. */
    public Path consoleLog() {
        return base.resolve("logs").resolve("console-" + starts + ".log");
    }

    public boolean alive() {
        Process p = process;
        return p != null && p.isAlive();
    }

    /** The PID of the running Tomcat, or -1. */
    public long pid() {
        Process p = process;
        return p != null && p.isAlive() ? p.pid() : -1;
    }

    /** Starts Tomcat; returns at once (see {@link #awaitReady}). */
    public void start() {
        if (alive()) {
            throw new IllegalStateException(route + " is already running (PID " + process.pid() + ")");
        }
        starts++;
        ProcessBuilder pb = new ProcessBuilder(home.resolve("bin/catalina.sh").toString(), "run");
        Map<String, String> env = pb.environment();
        env.remove("CATALINA_OPTS");
        env.remove("JRE_HOME");
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.put("CATALINA_HOME", home.toString());
        env.put("CATALINA_BASE", base.toString());
        env.put("CATALINA_PID", base.resolve("tomcat.pid").toString());
        env.put("JAVA_OPTS", String.join(" ", javaOpts));
        pb.redirectErrorStream(true);
        pb.redirectOutput(consoleLog().toFile());
        try {
            process = pb.start();
            // catalina.sh writes CATALINA_PID only for `start`; this keeps it true for `run` too, for an operator.
            Files.writeString(base.resolve("tomcat.pid"), Long.toString(process.pid()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start Tomcat " + route + " in " + base, e);
        }
    }

    /**
     * Waits until the webapp answers {@code /ping}, failing early with the end of the console log when the process
     * exits, and then, when {@code sessionsReceived} is given, until the console log shows that line.
     */
    public void awaitReady(HttpClient client, Duration timeout, Optional<Pattern> sessionsReceived) {
        Await.await(route + " answers HTTP on port " + ports.http(), timeout, () -> {
            if (!alive()) {
                throw new AssertionError(route + " exited before answering HTTP:\n" + logTail(40));
            }
            return answersPing(client);
        }, () -> logTail(15));
        sessionsReceived.ifPresent(line -> Await.await(route + " logs " + line.pattern(), timeout,
                () -> consoleLog(line), () -> logTail(15)));
    }

    private boolean answersPing(HttpClient client) {
        HttpRequest ping = HttpRequest.newBuilder(uri("/ping")).timeout(Duration.ofSeconds(2)).GET().build();
        try {
            HttpResponse<String> r = client.send(ping, HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 && r.body().startsWith("node=" + route);
        } catch (IOException e) {
            return false; // not listening yet: the poll goes on
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting for " + route, e);
        }
    }

    /** Whether the current run's console log has a line matching {@code line}. */
    public boolean consoleLog(Pattern line) {
        return countLogLines(line) > 0;
    }

    /** How many lines of the current run's console log match {@code line}. */
    public long countLogLines(Pattern line) {
        try {
            if (!Files.exists(consoleLog())) {
                return 0;
            }
            try (var lines = Files.lines(consoleLog(), StandardCharsets.ISO_8859_1)) {
                return lines.filter(l -> line.matcher(l).find()).count();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The last {@code lines} lines of the console log, for failure messages. */
    public String logTail(int lines) {
        try {
            if (!Files.exists(consoleLog())) {
                return "(no console log yet)";
            }
            List<String> all = Files.readAllLines(consoleLog(), StandardCharsets.ISO_8859_1);
            return route + " " + consoleLog() + ":\n  "
                    + String.join("\n  ", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(cannot read " + consoleLog() + ": " + e + ")";
        }
    }

    /** {@code kill -9}: SIGKILL to Tomcat's PID (and any child it has), then waits for it to be gone. */
    public void kill9() {
        Process p = process;
        if (p == null || !p.isAlive()) {
            return;
        }
        p.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        waitGone(p, KILL_WAIT);
    }

    /** Sends SIGTERM and returns at once (lets a cluster stop its nodes in parallel). */
    void requestStop() {
        Process p = process;
        if (p != null && p.isAlive()) {
            p.destroy();
        }
    }

    /** SIGTERM (Tomcat's shutdown hook stops it cleanly), SIGKILL after a bounded wait. Idempotent. */
    public void stop() {
        Process p = process;
        if (p == null || !p.isAlive()) {
            return;
        }
        p.destroy();
        if (!waitFor(p, STOP_GRACE)) {
            kill9();
        }
    }

    private static boolean waitFor(Process p, Duration timeout) {
        try {
            return p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !p.isAlive();
        }
    }

    private void waitGone(Process p, Duration timeout) {
        if (!waitFor(p, timeout)) {
            throw new IllegalStateException("Tomcat " + route + " (PID " + p.pid() + ") still runs " + timeout.toSeconds()
                    + " s after SIGKILL");
        }
    }

    @Override
    public String toString() {
        Process p = process;
        return route + "(http " + ports.http() + (p != null && p.isAlive() ? ", pid " + p.pid() : ", down") + ")";
    }
}
