package io.flotilla.bench;

import io.flotilla.MembershipEvent;
import io.flotilla.Node;
import io.flotilla.NodeConfig;
import io.flotilla.membership.MulticastMembership;
import io.flotilla.membership.MulticastMembershipConfig;
import io.flotilla.transport.netty.NettyTransport;
import io.flotilla.transport.netty.NettyTransportConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.apache.catalina.tribes.Channel;
import org.apache.catalina.tribes.ChannelException;
import org.apache.catalina.tribes.Member;
import org.apache.catalina.tribes.MembershipListener;
import org.apache.catalina.tribes.group.GroupChannel;
import org.apache.catalina.tribes.group.interceptors.TcpFailureDetector;
import org.apache.catalina.tribes.membership.McastService;
import org.apache.catalina.tribes.transport.nio.NioReceiver;

/**
 * One cluster member in its own JVM, driven by a parent process (an integration test or
 * {@link MembershipHarness}) through stdin and stdout, so the parent can {@code kill -9}, {@code SIGSTOP} or
 * cleanly stop a real member.
 *
 * <p>Usage: {@code java -Xmx128m -cp harness.jar io.flotilla.bench.ChildNode key=value ...} with
 * <ul>
 *   <li>{@code impl=flotilla} (default) or {@code impl=stock} (Tribes {@code GroupChannel} with {@code McastService}
 *       and {@code TcpFailureDetector}; needs {@code -Djava.net.preferIPv4Stack=true});
 *   <li>{@code cluster}, {@code name}, {@code domain}: the member's cluster name, name and domain;
 *   <li>{@code address} (default 127.0.0.1): where the TCP receiver listens (port: free at run time);
 *   <li>{@code mcastPort} (required), {@code mcastAddress} (228.0.0.4), {@code bind} (lo; for stock, an address:
 *       127.0.0.1), {@code ttl} (0);
 *   <li>{@code frequency}, {@code dropTime}, {@code connectTimeout} in milliseconds (500, 3000, 1000);
 *   <li>{@code lifetime} in seconds (600): the JVM halts by itself after that long, whatever the parent does.
 * </ul>
 *
 * <p>Output, one line each, space-separated: {@code READY <host> <port> <pid> <startBegin> <startEnd>} once started,
 * with the {@link System#nanoTime()} before and after its {@code start()} (on Linux the monotonic clock is shared by
 * every process, so the parent can compare it with its own); {@code EVENT <kind> <host:port> <graceful> <viewSize>
 * <nanoTime>} for every membership event ({@code JOINED}, {@code LEFT},
 * {@code SUSPECTED}, {@code UNSUSPECTED}; graceful is {@code true}/{@code false}, or {@code -} where it does not
 * apply or stock cannot tell); {@code VIEW <size> <host:port>,...} in answer to {@code VIEW}; {@code CLOSED}
 * after {@code CLOSE}, then the JVM exits 0. End of stdin closes the member the same way.
 *
 * <p>Threading: a program; its main thread reads commands, the member's own threads print events
 * ({@link PrintStream} lines are atomic).
 */
public final class ChildNode {
    private ChildNode() {
    }

    /** The running member, whatever its implementation. */
    private interface Member0 extends AutoCloseable {
        String host();

        int port();

        String view();

        @Override
        void close();
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = parse(args);
        Logger root = Logger.getLogger("");
        root.setLevel(Level.WARNING);
        for (var h : root.getHandlers()) {
            h.setLevel(Level.WARNING);
        }
        long lifetimeSeconds = Long.parseLong(opts.getOrDefault("lifetime", "600"));
        ScheduledExecutorService reaper = Executors
                .newSingleThreadScheduledExecutor(r -> {
                    Thread t = new Thread(r, "child-lifetime");
                    t.setDaemon(true);
                    return t;
                });
        reaper.schedule(() -> {
            System.err.println("ChildNode: lifetime of " + lifetimeSeconds + " s over, halting");
            Runtime.getRuntime().halt(3);
        }, lifetimeSeconds, TimeUnit.SECONDS);

        PrintStream out = System.out;
        long startBegin = System.nanoTime();
        Member0 member = "stock".equals(opts.getOrDefault("impl", "flotilla")) ? stock(opts, out) : flotilla(opts, out);
        long startEnd = System.nanoTime();
        out.println("READY " + member.host() + " " + member.port() + " " + ProcessHandle.current().pid() + " "
                + startBegin + " " + startEnd);
        out.flush();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                String cmd = line.trim();
                if (cmd.equals("CLOSE")) {
                    break;
                } else if (cmd.equals("VIEW")) {
                    out.println("VIEW " + member.view());
                } else if (!cmd.isEmpty()) {
                    out.println("ERROR unknown command " + cmd);
                }
                out.flush();
            }
        } catch (IOException e) {
            System.err.println("ChildNode: stdin failed: " + e);
        }
        member.close();
        out.println("CLOSED");
        out.flush();
        System.exit(0);
    }

    static Map<String, String> parse(String[] args) {
        Map<String, String> opts = ChildArgs.parse(args);
        if (!opts.containsKey("mcastPort")) {
            throw new IllegalArgumentException("mcastPort=<port> is required");
        }
        return opts;
    }

    private static Duration millis(Map<String, String> opts, String key, long def) {
        return Duration.ofMillis(Long.parseLong(opts.getOrDefault(key, Long.toString(def))));
    }

    private static Member0 flotilla(Map<String, String> o, PrintStream out) {
        Node node = Node.builder()
                .config(NodeConfig.builder().clusterName(o.getOrDefault("cluster", "flotilla"))
                        .memberName(o.getOrDefault("name", "")).domain(o.getOrDefault("domain", ""))
                        .deliveryThreads(1).build())
                .transport(NettyTransport.factory(NettyTransportConfig.builder()
                        .address(o.getOrDefault("address", BenchJvm.LOOPBACK)).port(0).ioThreads(1).build()))
                .membership(MulticastMembership.factory(MulticastMembershipConfig.builder()
                        .address(o.getOrDefault("mcastAddress", "228.0.0.4"))
                        .port(Integer.parseInt(o.get("mcastPort"))).bind(o.getOrDefault("bind", "lo"))
                        .ttl(Integer.parseInt(o.getOrDefault("ttl", "0")))
                        .frequency(millis(o, "frequency", 500)).dropTime(millis(o, "dropTime", 3000))
                        .connectTimeout(millis(o, "connectTimeout", 1000)).build()))
                .onMembership(e -> out.println("EVENT " + kind(e) + " " + e.member().host() + ":" + e.member().port()
                        + " " + (e instanceof MembershipEvent.Left l ? Boolean.toString(l.graceful()) : "-") + " "
                        + e.view().size() + " " + System.nanoTime()))
                .start();
        return new Member0() {
            @Override
            public String host() {
                return node.localMember().host();
            }

            @Override
            public int port() {
                return node.localMember().port();
            }

            @Override
            public String view() {
                StringBuilder b = new StringBuilder().append(node.view().size()).append(' ');
                node.view().members().forEach(m -> b.append(m.host()).append(':').append(m.port()).append(','));
                return b.toString();
            }

            @Override
            public void close() {
                node.close();
            }
        };
    }

    private static String kind(MembershipEvent e) {
        if (e instanceof MembershipEvent.Joined) {
            return "JOINED";
        }
        if (e instanceof MembershipEvent.Left) {
            return "LEFT";
        }
        return e instanceof MembershipEvent.Suspected ? "SUSPECTED" : "UNSUSPECTED";
    }

    private static Member0 stock(Map<String, String> o, PrintStream out) throws ChannelException {
        GroupChannel channel = newStockChannel(o.getOrDefault("address", BenchJvm.LOOPBACK),
                Integer.parseInt(o.get("mcastPort")), o.getOrDefault("mcastAddress", "228.0.0.4"),
                o.getOrDefault("bind", BenchJvm.LOOPBACK), Integer.parseInt(o.getOrDefault("ttl", "0")),
                millis(o, "frequency", 500), millis(o, "dropTime", 3000), millis(o, "connectTimeout", 1000),
                o.getOrDefault("domain", ""));
        channel.addMembershipListener(new MembershipListener() {
            @Override
            public void memberAdded(Member m) {
                out.println("EVENT JOINED " + stockAddress(m) + " - "
                        + (channel.getMembers().length + 1) + " " + System.nanoTime());
            }

            @Override
            public void memberDisappeared(Member m) {
                out.println("EVENT LEFT " + stockAddress(m) + " - "
                        + (channel.getMembers().length + 1) + " " + System.nanoTime());
            }
        });
        channel.start(Channel.DEFAULT);
        NioReceiver receiver = (NioReceiver) channel.getChannelReceiver();
        return new Member0() {
            @Override
            public String host() {
                return receiver.getAddress();
            }

            @Override
            public int port() {
                return receiver.getPort();
            }

            @Override
            public String view() {
                StringBuilder b = new StringBuilder().append(channel.getMembers().length + 1).append(' ');
                for (Member m : channel.getMembers()) {
                    b.append(stockAddress(m)).append(',');
                }
                return b.toString();
            }

            @Override
            public void close() {
                try {
                    channel.stop(Channel.DEFAULT);
                } catch (ChannelException e) {
                    System.err.println("ChildNode: stock channel stop failed: " + e);
                }
            }
        };
    }

    /** {@code host:port} of a stock member's receiver. */
    static String stockAddress(Member m) {
        try {
            return InetAddress.getByAddress(m.getHost()).getHostAddress() + ":" + m.getPort();
        } catch (UnknownHostException e) {
            return "unknown:" + m.getPort(); // a host of neither 4 nor 16 bytes: never from a valid member
        }
    }

    /**
     * Stock Tomcat's multicast cluster channel: a {@link GroupChannel} (default {@link NioReceiver} and
     * {@code PooledParallelSender}) with {@link McastService} and a {@link TcpFailureDetector}, receiver on
     * {@code address} (free port), multicast on {@code bind} with {@code ttl}. Unstarted.
     */
    static GroupChannel newStockChannel(String address, int mcastPort, String mcastAddress, String bind, int ttl,
            Duration frequency, Duration dropTime, Duration connectTimeout, String domain) {
        GroupChannel channel = new GroupChannel();
        NioReceiver receiver = (NioReceiver) channel.getChannelReceiver();
        receiver.setAddress(address);
        receiver.setPort(StockTribes.freePort());
        McastService mcast = (McastService) channel.getMembershipService();
        mcast.setAddress(mcastAddress);
        mcast.setPort(mcastPort);
        mcast.setBind(bind);
        mcast.setTtl(ttl);
        mcast.setFrequency(frequency.toMillis());
        mcast.setDropTime(dropTime.toMillis());
        if (!domain.isEmpty()) {
            mcast.setDomain(domain);
        }
        TcpFailureDetector detector = new TcpFailureDetector();
        detector.setConnectTimeout(connectTimeout.toMillis());
        channel.addInterceptor(detector);
        return channel;
    }
}
