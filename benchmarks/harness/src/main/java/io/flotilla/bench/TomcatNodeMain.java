package io.flotilla.bench;

import io.flotilla.tomcat.FlotillaCluster;
import io.flotilla.tomcat.FlotillaManager;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.apache.catalina.Cluster;
import org.apache.catalina.Manager;
import org.apache.catalina.ha.session.DeltaManager;
import org.apache.catalina.ha.tcp.SimpleTcpCluster;

/**
 * One {@link BenchTomcat} in its own JVM, driven by {@link HttpHarness} through stdin and stdout, so that every
 * Tomcat of the HTTP harness has a JVM of its own, as in production, and the client's threads do not share its heap.
 *
 * <p>Usage: {@code java -Xmx512m -cp harness.jar io.flotilla.bench.TomcatNodeMain key=value ...} with
 * <ul>
 *   <li>{@code route}: the Engine's {@code jvmRoute} (required);
 *   <li>{@code kind}: {@code plain}, {@code stock}, {@code flotilla}, {@code stock_backup} or
 *       {@code flotilla_backup} ({@link BenchTomcat.Kind}; required);
 *   <li>{@code sync}: {@code true} for {@code channelSendOptions} 6, {@code false} (default) for 8;
 *   <li>{@code receiverPort}: this node's cluster receiver port on 127.0.0.1, and {@code members}: every member's
 *       receiver port, comma-separated, this node's included (both ignored by {@code plain});
 *   <li>{@code stateTransferTimeout} in seconds: a stock {@code DeltaManager}'s wait for the sessions at start (the
 *       fixture's 120 by default), for clusters whose nodes start one after the other: the first one waits this
 *       long for a static member that is not up yet;
 *   <li>{@code lifetime} in seconds (600): the JVM halts by itself after that long, whatever the parent does.
 * </ul>
 *
 * <p>Output, one line each: {@code READY <httpPort> <pid>} once Tomcat started; in answer to a command
 * {@code VERB [tag]} on stdin, {@code VERB [tag] <value>}: {@code MEMBERS} (members this node sees, itself included:
 * 1 for {@code plain}), {@code SESSIONS} (sessions this node holds: a Flotilla node's own and its replicas, a stock
 * node's {@code DeltaManager} sessions, which include the replicated ones), {@code STATS} ({@code key=value ...}, the
 * replication counters; a Flotilla node's include {@code messagesSent}, its cluster's message counter), {@code CPU}
 * (this JVM's CPU time in nanoseconds); {@code CLOSED} after {@code CLOSE}, then the JVM exits 0. End of stdin closes
 * the node the same way. Logging is at WARNING.
 *
 * <p>Threading: a program; its main thread reads commands, Tomcat serves requests on its own threads.
 */
public final class TomcatNodeMain {
    private TomcatNodeMain() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = ChildArgs.parse(args);
        Logger root = Logger.getLogger("");
        root.setLevel(Level.WARNING);
        for (var h : root.getHandlers()) {
            h.setLevel(Level.WARNING);
        }
        long lifetimeSeconds = Long.parseLong(opts.getOrDefault("lifetime", "600"));
        ScheduledExecutorService reaper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tomcat-node-lifetime");
            t.setDaemon(true);
            return t;
        });
        reaper.schedule(() -> {
            System.err.println("TomcatNodeMain: lifetime of " + lifetimeSeconds + " s over, halting");
            Runtime.getRuntime().halt(3);
        }, lifetimeSeconds, TimeUnit.SECONDS);

        BenchTomcat.Kind kind = BenchTomcat.Kind.parse(ChildArgs.require(opts, "kind"));
        boolean sync = Boolean.parseBoolean(opts.getOrDefault("sync", "false"));
        int receiverPort = Integer.parseInt(opts.getOrDefault("receiverPort", "0"));
        List<Integer> members = opts.containsKey("members")
                ? Arrays.stream(opts.get("members").split(",")).map(String::trim).map(Integer::valueOf).toList()
                : List.of();
        if (kind != BenchTomcat.Kind.PLAIN && (receiverPort <= 0 || !members.contains(receiverPort))) {
            throw new IllegalArgumentException("kind=" + kind + " needs receiverPort=<port> and members=<ports> "
                    + "listing it; got receiverPort=" + receiverPort + " members=" + members);
        }
        PrintStream out = System.out;
        int stateTransferTimeout = Integer.parseInt(opts.getOrDefault("stateTransferTimeout", "0"));
        BenchTomcat tomcat = new BenchTomcat(ChildArgs.require(opts, "route"), kind, sync, receiverPort, members,
                context -> {
                    if (stateTransferTimeout > 0 && context.getParent().getParent().getCluster()
                            instanceof SimpleTcpCluster s && s.getManagerTemplate() instanceof DeltaManager d) {
                        d.setStateTransferTimeout(stateTransferTimeout);
                    }
                });
        out.println("READY " + tomcat.httpPort() + " " + ProcessHandle.current().pid());
        out.flush();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                String[] cmd = line.trim().split("\\s+", 2);
                if (cmd[0].equals("CLOSE")) {
                    break;
                }
                // "VERB [tag]" is answered "VERB [tag] value", so a caller can tell the answer to each question.
                String answer = cmd.length > 1 ? cmd[0] + " " + cmd[1] + " " : cmd[0] + " ";
                switch (cmd[0]) {
                    case "MEMBERS" -> out.println(answer + members(tomcat));
                    case "SESSIONS" -> out.println(answer + sessions(tomcat.manager()));
                    case "STATS" -> out.println(answer + stats(tomcat));
                    case "CPU" -> out.println(answer + cpuNanos());
                    case "" -> { }
                    default -> out.println("ERROR unknown command " + line.trim());
                }
                out.flush();
            }
        } catch (IOException e) {
            System.err.println("TomcatNodeMain: stdin failed: " + e);
        }
        try {
            tomcat.close();
        } finally {
            out.println("CLOSED");
            out.flush();
            System.exit(0);
        }
    }

    /** CPU time of this JVM, every thread, in nanoseconds; -1 where the JVM cannot tell. */
    private static long cpuNanos() {
        // The portable API (com.sun.management's bean is not on every JVM): clock-tick resolution, enough for runs
        // of seconds.
        return ProcessHandle.current().info().totalCpuDuration().map(Duration::toNanos).orElse(-1L);
    }

    /** Members in this node's view, itself included. */
    private static int members(BenchTomcat tomcat) {
        Cluster c = tomcat.context().getCluster();
        if (c instanceof FlotillaCluster f) {
            return f.getMemberCount();
        }
        if (c instanceof SimpleTcpCluster s) {
            return s.getMembers().length + 1;
        }
        return 1;
    }

    private static int sessions(Manager m) {
        if (m instanceof FlotillaManager f) {
            return f.getPrimarySessions() + f.getReplicaSessions();
        }
        return m.getActiveSessions();
    }

    private static String stats(BenchTomcat tomcat) {
        Manager m = tomcat.manager();
        if (m instanceof FlotillaManager f) {
            // messagesSent: one per target member of each send (deltas, hand-offs, take-over rounds); the
            // transport's acknowledgements are frames, not messages, and are not counted.
            FlotillaCluster c = tomcat.context().getCluster() instanceof FlotillaCluster fc ? fc : null;
            long messagesSent = c != null ? c.getMessagesSent() : -1;
            // lanesSent: synchronous messages a request thread wrote on a lane and read the answer of itself.
            var lanes = c == null ? null : c.getMeterRegistry().find("flotilla.lanes.sent").counter();
            return String.format(Locale.ROOT, "primary=%d replica=%d replications=%d failures=%d deltasSent=%d"
                    + " deltasReceived=%d takeovers=%d messagesSent=%d lanesSent=%d", f.getPrimarySessions(),
                    f.getReplicaSessions(), f.getReplications(), f.getReplicationFailures(), f.getDeltasSent(),
                    f.getDeltasReceived(), f.getTakeovers(), messagesSent, lanes == null ? 0 : (long) lanes.count());
        }
        if (m instanceof DeltaManager d) {
            return "sessions=" + d.getActiveSessions() + " deltasSent=" + d.getCounterSend_EVT_SESSION_DELTA()
                    + " deltasReceived=" + d.getCounterReceive_EVT_SESSION_DELTA() + " createdSent="
                    + d.getCounterSend_EVT_SESSION_CREATED() + " createdReceived="
                    + d.getCounterReceive_EVT_SESSION_CREATED();
        }
        return "sessions=" + m.getActiveSessions();
    }
}
