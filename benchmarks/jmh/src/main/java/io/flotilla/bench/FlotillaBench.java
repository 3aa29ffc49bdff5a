package io.flotilla.bench;

import java.time.Duration;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

import io.flotilla.Node;
import io.flotilla.NodeConfig;
import io.flotilla.membership.StaticMembership;
import io.flotilla.membership.StaticMembershipConfig;
import io.flotilla.transport.netty.NettyTransport;
import io.flotilla.transport.netty.NettyTransportConfig;

/**
 * How the Flotilla side of the channel benchmarks builds its two nodes: Netty on 127.0.0.1 with a free port,
 * static membership in which each lists the other's address (a node delivers nothing from a sender outside its view,
 * so the sender's port is chosen before the receiver starts), every other setting at its default, exactly as a user
 * would start a node.
 *
 * <p>Threading: stateless.
 */
final class FlotillaBench {

    /** The cluster both nodes join. */
    static final String CLUSTER = "bench";
    /** The topic benchmark messages travel on. */
    static final int TOPIC = 1;
    /** How long the sender waits for the receiver to enter its view. */
    static final Duration JOIN_TIMEOUT = Duration.ofSeconds(30);
    /**
     * Lanes per member ({@code NettyTransportConfig.lanes}), from the system property {@code bench.lanes}
     * (default 0, the default of a node): {@code -jvmArgsAppend -Dbench.lanes=8} measures them.
     */
    static final int LANES = Integer.getInteger("bench.lanes", 0);
    /**
     * The event loops' spin before they block ({@code NettyTransportConfig.ioSpin}), from the system property {@code
     * bench.ioSpinMicros}; unset, the node's default. The receiver JVM sees it only through {@code JAVA_TOOL_OPTIONS}.
     */
    static final Duration IO_SPIN = Duration.ofNanos(1000L * Long.getLong("bench.ioSpinMicros",
            NettyTransportConfig.defaults().ioSpin().toNanos() / 1000));

    private FlotillaBench() {
    }

    /** A node builder on 127.0.0.1:{@code port} (0: chosen by the system) that lists {@code peers} as static members. */
    static Node.Builder node(String name, int port, List<String> peers) {
        quietLogging();
        return Node.builder()
                .config(NodeConfig.builder().clusterName(CLUSTER).memberName(name).build())
                .transport(NettyTransport.factory(NettyTransportConfig.builder()
                        .address(BenchJvm.LOOPBACK).port(port).lanes(LANES).ioSpin(IO_SPIN).build()))
                .membership(StaticMembership.factory(StaticMembershipConfig.builder().members(peers).build()));
    }

    /** Lifecycle INFO lines would interleave with JMH's output; warnings still show. */
    private static void quietLogging() {
        Logger.getLogger("io.flotilla").setLevel(Level.WARNING);
    }
}
