package io.flotilla.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.HexFormat;
import java.util.UUID;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.apache.catalina.tribes.Channel;
import org.apache.catalina.tribes.group.GroupChannel;
import org.apache.catalina.tribes.group.interceptors.MessageDispatchInterceptor;
import org.apache.catalina.tribes.group.interceptors.StaticMembershipInterceptor;
import org.apache.catalina.tribes.group.interceptors.TcpFailureDetector;
import org.apache.catalina.tribes.membership.StaticMember;
import org.apache.catalina.tribes.transport.nio.NioReceiver;

/**
 * Builds the stock Tribes channel the benchmarks measure: Tomcat's default {@code SimpleTcpCluster} channel
 * minus multicast membership.
 *
 * <p>{@code SimpleTcpCluster.checkDefaults()} (10.1.49) gives a {@link GroupChannel} whose coordinator holds a
 * {@link NioReceiver} and a {@code ReplicationTransmitter} with a {@code PooledParallelSender}, and adds
 * {@link MessageDispatchInterceptor} (async sends) and {@link TcpFailureDetector}. This class builds exactly
 * that, with every default left alone except the receiver address (127.0.0.1) and port (free at run time;
 * Tribes' default {@code autoBind} of 100 tries the next ports if another process took it meanwhile),
 * and replaces multicast by Tomcat's documented static membership: a {@link StaticMembershipInterceptor} with
 * a {@link StaticMember} as local member. The channel is started with {@link #START_OPTIONS} (receiver and
 * sender only), so the multicast {@code McastService} never starts and no datagram is sent.
 *
 * <p>Threading: static factory methods, safe from any thread; the channels follow Tribes' own rules.
 */
final class StockTribes {

    /** Start the transport (receiver and sender) but never the multicast membership service. */
    static final int START_OPTIONS = Channel.SND_RX_SEQ | Channel.SND_TX_SEQ;

    private StockTribes() {
    }

    /**
     * Tribes logs every start and stop at INFO through JULI; benchmarks keep WARNING and above. Returns the
     * logger so the caller holds a strong reference (JUL forgets levels of unreferenced loggers).
     */
    static Logger quietLogging() {
        Logger tribes = Logger.getLogger("org.apache.catalina");
        tribes.setLevel(Level.WARNING);
        return tribes;
    }

    /** A new, unstarted channel with Tomcat's default stack and a static local member on 127.0.0.1. */
    static GroupChannel newChannel(String name) {
        return newChannel(name, freePort(), uniqueId());
    }

    /** As {@link #newChannel(String)}, receiving on 127.0.0.1:{@code port}, with the given unique id. */
    static GroupChannel newChannel(String name, int port, byte[] uniqueId) {
        GroupChannel channel = new GroupChannel();
        channel.setName(name);
        NioReceiver receiver = (NioReceiver) channel.getChannelReceiver();
        receiver.setAddress(BenchJvm.LOOPBACK);
        receiver.setPort(port);
        channel.addInterceptor(new MessageDispatchInterceptor());
        channel.addInterceptor(new TcpFailureDetector());
        StaticMembershipInterceptor membership = new StaticMembershipInterceptor();
        StaticMember local = new StaticMember();
        local.setHost(BenchJvm.LOOPBACK);
        local.setUniqueId(uniqueId);
        membership.setLocalMember(local);
        channel.addInterceptor(membership);
        return channel;
    }

    /** The static member for a peer listening on 127.0.0.1:{@code port} with the given unique id. */
    static StaticMember peer(int port, String uniqueIdHex) {
        return peer(port, HexFormat.of().parseHex(uniqueIdHex));
    }

    /** The static member for a peer listening on 127.0.0.1:{@code port} with the given unique id. */
    static StaticMember peer(int port, byte[] uniqueId) {
        try {
            StaticMember peer = new StaticMember(BenchJvm.LOOPBACK, port, 0);
            peer.setUniqueId(uniqueId);
            return peer;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The membership interceptor of a channel built by {@link #newChannel}. */
    static StaticMembershipInterceptor membership(GroupChannel channel) {
        var it = channel.getInterceptors();
        while (it.hasNext()) {
            if (it.next() instanceof StaticMembershipInterceptor m) {
                return m;
            }
        }
        throw new IllegalStateException("channel " + channel.getName() + " has no StaticMembershipInterceptor");
    }

    private static byte[] uniqueId() {
        UUID u = UUID.randomUUID();
        byte[] id = new byte[16];
        for (int i = 0; i < 8; i++) {
            id[i] = (byte) (u.getMostSignificantBits() >>> (56 - 8 * i));
            id[8 + i] = (byte) (u.getLeastSignificantBits() >>> (56 - 8 * i));
        }
        return id;
    }

    /** A port on 127.0.0.1 that was free a moment ago (Tribes' {@code autoBind} covers the race). */
    static int freePort() {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName(BenchJvm.LOOPBACK), 0));
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free port on " + BenchJvm.LOOPBACK, e);
        }
    }
}
