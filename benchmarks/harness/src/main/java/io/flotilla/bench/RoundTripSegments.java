package io.flotilla.bench;

import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.Node;
import io.flotilla.NodeConfig;
import io.flotilla.membership.StaticMembership;
import io.flotilla.membership.StaticMembershipConfig;
import io.flotilla.transport.netty.NettyTransport;
import io.flotilla.transport.netty.NettyTransportConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * TCP segments per synchronous round trip on one Flotilla connection: what a {@code PROCESSED} (or {@code RECEIVED})
 * message and its answers cost on the wire, both directions, when traffic is sparse (one sender thread: each message
 * arrives on an idle connection) and when it is dense (several threads pipelining on the pool).
 *
 * <p>Two {@link Node}s in this JVM, built as a user builds them (Netty on 127.0.0.1 at ports free at run time, static
 * membership listing each other, every other setting at its default). The receiver's listener counts the message and
 * returns. For each delivery and thread count, {@code --messages} 1 KiB messages are sent, each thread waiting for
 * each send's stage before the next; the kernel's {@code data_segs_out} and {@code bytes_sent} of every established
 * connection to or from either node's port ({@link SocketCounters}, {@code ss}) are read before and after. Then the
 * same time idle, read the same way, is taken off (keepalives, scaled to the window), and the rest is divided by the
 * messages: segments per message, both directions, the message itself included (the ideal for a round trip is 2).
 * A segment is one write of the sender's kernel: frames flushed together share one. Rounds alternate the deliveries
 * and thread counts; the median of the rounds is printed.
 *
 * <p>Usage:
 * <pre>
 * java -Xmx256m -Djava.net.preferIPv4Stack=true -cp benchmarks/harness/target/harness.jar \
 *     io.flotilla.bench.RoundTripSegments [messages=3000] [threads=1,8] [rounds=3] [deliveries=PROCESSED,RECEIVED] \
 *     [label=after] [out=segments.txt]
 * </pre>
 * Lines {@code <label> <delivery> threads=<n> segments_per_msg=<x> bytes_per_msg=<y> msgs_per_s=<z>} go to standard
 * output and, with {@code out}, are appended to that file. About 10 s with the defaults.
 *
 * <p>Threading: a program; the main thread drives, {@code threads} threads send.
 */
public final class RoundTripSegments {
    private static final int TOPIC = 1;
    private static final int PAYLOAD_BYTES = 1024;
    private static final long JOIN_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(30);
    private static final long SEND_TIMEOUT_SECONDS = 30;

    private RoundTripSegments() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = ChildArgs.parse(args);
        int messages = Integer.parseInt(opts.getOrDefault("messages", "3000"));
        int rounds = Integer.parseInt(opts.getOrDefault("rounds", "3"));
        int[] threads = Arrays.stream(opts.getOrDefault("threads", "1,8").split(",")).mapToInt(Integer::parseInt)
                .toArray();
        List<Delivery> deliveries = Arrays.stream(opts.getOrDefault("deliveries", "PROCESSED,RECEIVED").split(","))
                .map(Delivery::valueOf).toList();
        String label = opts.getOrDefault("label", "flotilla");
        Logger.getLogger("io.flotilla").setLevel(Level.WARNING);
        int[] ports = freePorts();
        AtomicLong delivered = new AtomicLong();
        try (Node receiver = node("receiver", ports[1], ports[0]).onMessage(TOPIC, m -> delivered.incrementAndGet())
                .start();
                Node sender = node("sender", ports[0], ports[1]).start()) {
            Member target = await(sender, ports[1]);
            await(receiver, ports[0]);
            AtomicLong named = new AtomicLong();
            ExecutorService pool = Executors.newFixedThreadPool(Arrays.stream(threads).max().orElse(1),
                    r -> new Thread(r, "roundtrip-sender-" + named.incrementAndGet()));
            try {
                // Warm-up: compile the paths and open the pool's connections.
                for (Delivery d : deliveries) {
                    for (int t : threads) {
                        run(pool, sender, target, d, t, messages);
                    }
                }
                List<String> lines = new ArrayList<>();
                for (Delivery d : deliveries) {
                    for (int t : threads) {
                        List<double[]> results = new ArrayList<>();
                        for (int r = 0; r < rounds; r++) {
                            results.add(measure(pool, sender, target, d, t, messages, List.of(ports[0], ports[1])));
                        }
                        double[] m = median(results);
                        lines.add(String.format(Locale.ROOT, "%s %s threads=%d segments_per_msg=%.3f bytes_per_msg=%.0f"
                                + " msgs_per_s=%.0f", label, d, t, m[0], m[1], m[2]));
                    }
                }
                print(lines, opts.get("out"));
            } finally {
                pool.shutdownNow();
            }
        }
    }

    private static void print(List<String> lines, String out) throws IOException {
        PrintStream o = System.out;
        lines.forEach(o::println);
        if (out != null) {
            Path p = Path.of(out);
            List<String> all = new ArrayList<>(Files.exists(p) ? Files.readAllLines(p) : List.of());
            all.addAll(lines);
            Files.write(p, all);
        }
    }

    /** Segments per message, bytes per message and messages per second of one pass, net of the idle rate. */
    private static double[] measure(ExecutorService pool, Node sender, Member target, Delivery d, int threads,
            int messages, List<Integer> ports) throws Exception {
        SocketCounters before = SocketCounters.read(ports);
        long start = System.nanoTime();
        run(pool, sender, target, d, threads, messages);
        long nanos = System.nanoTime() - start;
        SocketCounters after = SocketCounters.read(ports);
        long[] busy = after.since(before);
        // The same time idle: what the connections carry doing nothing (keepalives), taken off in proportion.
        long idleUntil = System.nanoTime() + nanos;
        while (System.nanoTime() - idleUntil < 0) {
            LockSupport.parkNanos(idleUntil - System.nanoTime());
        }
        long[] idle = SocketCounters.read(ports).since(after);
        double segments = busy[1] - idle[1];
        double bytes = busy[0] - idle[0];
        return new double[] {segments / messages, bytes / messages, messages * 1e9 / nanos};
    }

    /** Sends {@code messages} over {@code threads} threads, each waiting for each send's stage. */
    private static void run(ExecutorService pool, Node sender, Member target, Delivery d, int threads, int messages)
            throws Exception {
        List<Future<?>> running = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int share = messages / threads + (t < messages % threads ? 1 : 0);
            running.add(pool.submit(() -> {
                byte[] payload = new byte[PAYLOAD_BYTES];
                for (int i = 0; i < share; i++) {
                    sender.send(target, TOPIC, ByteBuffer.wrap(payload), d).toCompletableFuture()
                            .get(SEND_TIMEOUT_SECONDS, TimeUnit.SECONDS);
                }
                return null;
            }));
        }
        for (Future<?> f : running) {
            f.get(SEND_TIMEOUT_SECONDS * messages, TimeUnit.SECONDS);
        }
    }

    private static double[] median(List<double[]> results) {
        double[] m = new double[results.get(0).length];
        for (int i = 0; i < m.length; i++) {
            int col = i;
            double[] v = results.stream().mapToDouble(r -> r[col]).sorted().toArray();
            m[i] = v[v.length / 2];
        }
        return m;
    }

    private static Node.Builder node(String name, int port, int peerPort) {
        return Node.builder()
                .config(NodeConfig.builder().clusterName("segments").memberName(name).build())
                .transport(NettyTransport.factory(NettyTransportConfig.builder().address(BenchJvm.LOOPBACK).port(port)
                        .build()))
                .membership(StaticMembership.factory(StaticMembershipConfig.builder()
                        .members(List.of(BenchJvm.LOOPBACK + ":" + peerPort)).build()));
    }

    /** Two ports free on 127.0.0.1 now. */
    private static int[] freePorts() throws IOException {
        InetAddress lo = InetAddress.getByName(BenchJvm.LOOPBACK);
        try (ServerSocket a = new ServerSocket(0, 1, lo); ServerSocket b = new ServerSocket(0, 1, lo)) {
            return new int[] {a.getLocalPort(), b.getLocalPort()};
        }
    }

    /** The member on {@code port} once it is in {@code node}'s view (bounded). */
    private static Member await(Node node, int port) {
        long deadline = System.nanoTime() + JOIN_TIMEOUT_NANOS;
        while (System.nanoTime() - deadline < 0) {
            for (Member m : node.view().members()) {
                if (m.port() == port && !m.id().equals(node.localMember().id())) {
                    return m;
                }
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
        }
        throw new IllegalStateException("the member on 127.0.0.1:" + port + " did not join " + node.localMember()
                + " within 30 s; view " + node.view());
    }
}
