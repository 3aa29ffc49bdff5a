package io.flotilla.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.Node;
import io.flotilla.NodeConfig;
import io.flotilla.membership.StaticMembership;
import io.flotilla.membership.StaticMembershipConfig;
import io.flotilla.replication.PrimarySession;
import io.flotilla.replication.ReplicationConfig;
import io.flotilla.replication.ReplicationEngine;
import io.flotilla.testing.FreePorts;
import io.flotilla.transport.netty.NettyTransport;
import io.flotilla.transport.netty.NettyTransportConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * State transfer of 100,000 sessions between two real nodes (Netty on 127.0.0.1, static membership): the joiner's
 * engine starts, asks the owner, and is served in 256 KiB chunks with back-pressure while it could already serve
 * requests. Prints the time and the bytes per session as {@code statetransfer.100k.ms} and
 * {@code statetransfer.bytes_per_session} (stock {@code DeltaManager} here: 1,285 ms, 138 bytes per session, webapp
 * start blocked). Not a benchmark: one run, a figure for the record; the assertion is that everything arrived.
 */
class StateTransferIT {
    private static final int SESSIONS = 100_000;

    @Test
    @Timeout(120)
    void transfersOneHundredThousandSessionsBetweenTwoLoopbackNodes() throws Exception {
        int portA = freePort();
        int portB = freePort();
        String a = "127.0.0.1:" + portA;
        String b = "127.0.0.1:" + portB;
        SimpleMeterRegistry regB = new SimpleMeterRegistry();
        try (Node nodeA = node("a", portA, new SimpleMeterRegistry(), a, b);
                ReplicationEngine owner = ReplicationEngine.builder(nodeA)
                        .config(ReplicationConfig.builder().stateTransferOnStart(false).build()).start()) {
            for (int i = 0; i < SESSIONS; i++) {
                PrimarySession s = owner.create(String.format("%032X", 0x5E55_0000_0000L + i), 1800);
                s.setAttribute("user", "user" + i);
                s.setAttribute("count", i);
                owner.replicate(s.id()); // alone: nothing is sent, the snapshot is taken
            }
            try (Node nodeB = node("b", portB, regB, a, b)) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (nodeB.view().size() < 2 || nodeA.view().size() < 2) {
                    assertTrue(System.nanoTime() < deadline, "the nodes see each other");
                    Thread.onSpinWait();
                }
                long start = System.nanoTime();
                try (ReplicationEngine joiner = ReplicationEngine.builder(nodeB).config(ReplicationConfig.builder()
                        .meterRegistry(regB).build()).start()) {
                    joiner.stateTransfer().completion().toCompletableFuture().get(60, TimeUnit.SECONDS);
                    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                    assertEquals(SESSIONS, joiner.stateTransfer().received());
                    assertEquals(SESSIONS, joiner.replicaIds().size());
                    double chunkBytes = nodeB.getClass().getName().isEmpty() ? 0
                            : regB.find("flotilla.messages.received.bytes").summary().totalAmount();
                    System.out.printf("statetransfer.100k.ms %d%n", ms);
                    System.out.printf("statetransfer.bytes_per_session %.1f%n", chunkBytes / SESSIONS);
                }
            }
        }
    }

    private static Node node(String name, int port, SimpleMeterRegistry registry, String... members) {
        return Node.builder()
                .config(NodeConfig.builder().clusterName("st").memberName(name).meterRegistry(registry).build())
                .transport(NettyTransport.factory(NettyTransportConfig.builder().address("127.0.0.1").port(port)
                        .ioThreads(1).build()))
                .membership(StaticMembership.factory(StaticMembershipConfig.builder().member(members)
                        .frequency(Duration.ofMillis(100)).build()))
                .start();
    }

    private static int freePort() {
        return FreePorts.tcp();
    }
}
