package io.flotilla.bench;

import io.flotilla.Delivery;
import io.flotilla.Node;
import io.flotilla.NodeConfig;
import io.flotilla.membership.StaticMembership;
import io.flotilla.membership.StaticMembershipConfig;
import io.flotilla.replication.PrimarySession;
import io.flotilla.replication.ReplicationConfig;
import io.flotilla.replication.ReplicationEngine;
import io.flotilla.replication.SessionRecord;
import io.flotilla.transport.netty.NettyTransport;
import io.flotilla.transport.netty.NettyTransportConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One member of the multi-process ownership test ({@code io.flotilla.it.OwnershipFaultIT}) in its own JVM: a real
 * {@link Node} (Netty on 127.0.0.1, static membership) with a {@link ReplicationEngine} in {@link Delivery#PROCESSED}
 * mode, driven through stdin and stdout so the parent can {@code kill -9}, {@code SIGSTOP} and restart it.
 *
 * <p>Usage: {@code java -cp ... io.flotilla.bench.OwnershipNode key=value ...} with {@code name}, {@code port} (its
 * receiver on 127.0.0.1, fixed so a restart comes back at the same address), {@code members} (every member's
 * {@code host:port}, comma-separated, its own included), {@code frequency}, {@code dropTime}, {@code connectTimeout}
 * and {@code timeout} in milliseconds (200, 1500, 1500, 3000), and {@code lifetime} in seconds (300): the JVM halts
 * by itself after that long, whatever the parent does.
 *
 * <p>Commands, one a line; {@code <req>} is the parent's request number, echoed in the answer:
 * <ul>
 *   <li>{@code CREATE <req> <session>}: creates the session here with counter {@code n = 1} and replicates it;
 *       {@code ACK <req> <session> 1}.</li>
 *   <li>{@code INC <req> <session>}: the session as a primary here (owned here; else, as a request would, the owner
 *       is verified and the session taken over: the newest copy among the reachable members), {@code n + 1},
 *       replicated and waited for; {@code ACK <req> <session> <value>} once every holder applied it. Never
 *       creates.</li>
 *   <li>{@code READ <req> <session>}: the same without a change; {@code VALUE <req> <session> <value> <version>}.</li>
 *   <li>{@code STATE <req> <session>}: what this member holds, without taking anything over: {@code STATE <req>
 *       <session> <P|R|-> <version> <value>} (primary, replica, none; -1 and - when none).</li>
 *   <li>{@code VIEW <req>}: {@code VIEW <req> <size>}.</li>
 *   <li>{@code CLOSE} (or the end of stdin): closes engine and node, prints {@code CLOSED}, exits 0.</li>
 * </ul>
 * A command that could not be served answers {@code FAIL <req> <session> <reason>} (an owner that is alive
 * elsewhere, a take-over refused, a replication that failed or timed out). Once started it prints {@code READY
 * <host> <port> <pid> <memberId>}.
 *
 * <p>Threading: a program. The main thread reads commands and answers {@code STATE} and {@code VIEW} itself;
 * {@code CREATE}, {@code INC} and {@code READ} run on a small pool, one session's one at a time here (a lock per
 * session), so a take-over waiting for the network never holds up the others. {@link PrintStream} lines are atomic.
 */
public final class OwnershipNode {
    /** The counter attribute every command works on. */
    public static final String COUNTER = "n";

    private final ReplicationEngine engine;
    private final Node node;
    private final Duration wait;
    private final PrintStream out = System.out;
    private final Map<String, Object> locks = new ConcurrentHashMap<>();

    private OwnershipNode(Node node, ReplicationEngine engine, Duration timeout) {
        this.node = node;
        this.engine = engine;
        // Every wait is bounded: the engine bounds a round and a replication by the node's timeout; one more second.
        this.wait = timeout.plusSeconds(1);
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> o = ChildArgs.parse(args);
        Logger root = Logger.getLogger("");
        root.setLevel(Level.WARNING);
        for (var h : root.getHandlers()) {
            h.setLevel(Level.WARNING);
        }
        long lifetime = Long.parseLong(o.getOrDefault("lifetime", "300"));
        ScheduledExecutorService reaper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "ownership-lifetime");
            t.setDaemon(true);
            return t;
        });
        reaper.schedule(() -> {
            System.err.println("OwnershipNode: lifetime of " + lifetime + " s over, halting");
            Runtime.getRuntime().halt(3);
        }, lifetime, TimeUnit.SECONDS);

        Duration timeout = millis(o, "timeout", 3000);
        int port = Integer.parseInt(ChildArgs.require(o, "port"));
        List<String> members = Arrays.asList(ChildArgs.require(o, "members").split(","));
        Node node = Node.builder()
                .config(NodeConfig.builder().clusterName(o.getOrDefault("cluster", "ownership"))
                        .memberName(ChildArgs.require(o, "name")).timeout(timeout).deliveryThreads(1).build())
                .transport(NettyTransport.factory(NettyTransportConfig.builder().address(BenchJvm.LOOPBACK).port(port)
                        .ioThreads(1).build()))
                .membership(StaticMembership.factory(StaticMembershipConfig.builder().members(members)
                        .frequency(millis(o, "frequency", 200)).dropTime(millis(o, "dropTime", 1500))
                        .connectTimeout(millis(o, "connectTimeout", 1500)).build()))
                .start();
        ReplicationEngine engine = ReplicationEngine.builder(node)
                .config(ReplicationConfig.builder().delivery(Delivery.PROCESSED).tickInterval(Duration.ofMillis(200))
                        .build())
                .start();
        OwnershipNode self = new OwnershipNode(node, engine, timeout);
        self.out.println("READY " + node.localMember().host() + " " + node.localMember().port() + " "
                + ProcessHandle.current().pid() + " " + node.localMember().id().shortString());
        self.out.flush();
        ExecutorService workers = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "ownership-worker");
            t.setDaemon(true);
            return t;
        });
        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                String[] f = line.trim().split(" ");
                if (f[0].equals("CLOSE")) {
                    break;
                }
                self.dispatch(f, workers);
            }
        } catch (IOException e) {
            System.err.println("OwnershipNode: stdin failed: " + e);
        }
        workers.shutdownNow();
        engine.close();
        node.close();
        self.out.println("CLOSED");
        self.out.flush();
        System.exit(0);
    }

    private static Duration millis(Map<String, String> o, String key, long def) {
        return Duration.ofMillis(Long.parseLong(o.getOrDefault(key, Long.toString(def))));
    }

    private void dispatch(String[] f, ExecutorService workers) {
        switch (f.length == 3 ? f[0] : f.length == 2 && f[0].equals("VIEW") ? "VIEW" : "?") {
            case "VIEW" -> println("VIEW " + f[1] + " " + node.view().size());
            case "STATE" -> println("STATE " + f[1] + " " + f[2] + " " + state(f[2]));
            case "CREATE", "INC", "READ" -> workers.execute(() -> serve(f[0], f[1], f[2]));
            default -> println("ERROR unknown command " + String.join(" ", f));
        }
    }

    private void println(String line) {
        out.println(line);
        out.flush();
    }

    /** {@code <P|R|-> <version> <value>} of what this member holds now. */
    private String state(String id) {
        Optional<PrimarySession> p = engine.find(id);
        if (p.isPresent()) {
            PrimarySession ps = p.get();
            synchronized (ps) {
                return "P " + ps.version() + " " + ps.getAttribute(COUNTER);
            }
        }
        Optional<SessionRecord> r = engine.replica(id);
        return r.map(x -> "R " + x.version() + " " + x.attribute(COUNTER, engine.codec(),
                OwnershipNode.class.getClassLoader())).orElse("- -1 -");
    }

    private void serve(String cmd, String req, String id) {
        String answer;
        try {
            synchronized (locks.computeIfAbsent(id, k -> new Object())) {
                answer = switch (cmd) {
                    case "CREATE" -> "ACK " + req + " " + id + " " + write(engine.create(id, 1800), 0);
                    case "INC" -> {
                        PrimarySession ps = primary(id);
                        if (!ps.beginAccess()) {
                            throw new Failed("moved-away"); // another member asked for it since: it lives there
                        }
                        try {
                            yield "ACK " + req + " " + id + " " + write(ps, (Integer) ps.getAttribute(COUNTER));
                        } finally {
                            ps.endAccess();
                        }
                    }
                    default -> {
                        PrimarySession ps = primary(id);
                        synchronized (ps) {
                            yield "VALUE " + req + " " + id + " " + ps.getAttribute(COUNTER) + " " + ps.version();
                        }
                    }
                };
            }
        } catch (Failed e) {
            answer = "FAIL " + req + " " + id + " " + e.getMessage();
        } catch (RuntimeException e) {
            answer = "FAIL " + req + " " + id + " " + e.getClass().getSimpleName() + ": " + e.getMessage();
        }
        println(answer.replace('\n', ' '));
    }

    /** Sets the counter to {@code previous + 1}, replicates and waits; the value written. */
    private int write(PrimarySession ps, int previous) {
        int value = previous + 1;
        ps.setAttribute(COUNTER, value);
        await(ps.replicate(), "replication of " + value);
        return value;
    }

    /**
     * The session as a primary here, as a request would get it (as the Tomcat adapter does): owned here; else its
     * owner verified, and the session taken over (owner gone) or handed over by its live owner.
     */
    private PrimarySession primary(String id) {
        Optional<PrimarySession> p = engine.find(id);
        if (p.isPresent()) {
            return p.get();
        }
        boolean ownerGone = engine.verifyOwner(id, wait.minusSeconds(1));
        if (!ownerGone && engine.replica(id).isEmpty()) {
            throw new Failed("no-replica");
        }
        return await(ownerGone ? engine.takeOver(id) : engine.moveHere(id), ownerGone ? "take-over" : "hand-off")
                .orElseThrow(() -> new Failed("nobody-holds-it"));
    }

    private <T> T await(CompletionStage<T> stage, String what) {
        try {
            return stage.toCompletableFuture().get(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            throw new Failed(what + ": " + c.getClass().getSimpleName() + ": " + c.getMessage());
        } catch (TimeoutException e) {
            throw new Failed(what + ": no result within " + wait.toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Failed(what + ": interrupted");
        }
    }

    /** A command that could not be served; its message is the reason answered. */
    private static final class Failed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Failed(String reason) {
            super(reason, null, false, false);
        }
    }
}
