package io.flotilla.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.ClusterSecret;
import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.NodeConfig;
import io.flotilla.spi.Clock;
import io.flotilla.spi.Disconnect;
import io.flotilla.spi.InboundHandler;
import io.flotilla.spi.PeerConnection;
import io.flotilla.spi.Transport;
import io.flotilla.spi.TransportContext;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameType;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The in-memory network opens every connection and probe with the real handshake: the secret and cluster rules hold
 * on it as over TCP, deterministically and without sockets or waits. (The Netty transport's own byte-level checks
 * stay in transport-netty's socket tests.)
 */
class InMemoryHandshakeTest {
    private static final ClusterSecret SECRET = ClusterSecret.fromString("s3cr3t-for-the-tests-only");
    private static final ClusterSecret WRONG = ClusterSecret.fromString("s3cr3t-for-the-tests-onlY");
    private final ManualClock clock = new ManualClock();
    private final InMemoryNetwork network = new InMemoryNetwork(clock, 13);
    private final List<Transport> transports = new ArrayList<>();

    /** One transport with a recording engine above it. */
    private final class Node implements InboundHandler {
        final Transport transport = network.transports().create();
        final Member member;
        final List<Member> connected = new ArrayList<>();
        final List<Frame> frames = new ArrayList<>();
        final List<String> sendFailures = new ArrayList<>();

        Node(String cluster, String name, ClusterSecret secret) {
            InetSocketAddress a = transport.bind();
            member = new Member(MemberId.random(), name, "127.0.0.1", a.getPort(), "", new byte[0], 1);
            transport.start(new Context(cluster, member, this, secret));
            transports.add(transport);
        }

        InetSocketAddress address() {
            return new InetSocketAddress("127.0.0.1", member.port());
        }

        @Override
        public void onConnected(PeerConnection connection) {
            connected.add(connection.remote());
        }

        @Override
        public void onFrame(PeerConnection connection, Frame frame) {
            frames.add(frame);
        }

        @Override
        public void onReadComplete(PeerConnection connection) {
        }

        @Override
        public void onDisconnected(PeerConnection connection, Disconnect reason) {
        }

        @Override
        public void onSendFailed(Member to, Throwable cause) {
            sendFailures.add(cause.getMessage());
        }
    }

    private record Context(String clusterName, Member localMember, InboundHandler inbound, ClusterSecret key)
            implements TransportContext {
        @Override
        public Clock clock() {
            return Clock.system();
        }

        @Override
        public MeterRegistry meters() {
            return new SimpleMeterRegistry();
        }

        @Override
        public ThreadFactory threadFactory(String role) {
            return Thread::new;
        }

        @Override
        public Optional<ClusterSecret> secret() {
            return Optional.ofNullable(key);
        }

        @Override
        public int maxFrameBytes() {
            return 1 << 20;
        }
    }

    @AfterEach
    void close() {
        transports.forEach(Transport::close);
    }

    private static Frame data(long id) {
        return new Frame(FrameType.DATA, 0, 0, 0, id, ByteBuffer.wrap(new byte[] {(byte) id}));
    }

    private Member probe(Node from, Node to) {
        CompletableFuture<Member> f = from.transport.probe(to.address(), Duration.ofSeconds(1)).toCompletableFuture();
        clock.runDue();
        return f.join();
    }

    private String probeFailure(Node from, Node to) {
        CompletableFuture<Member> f = from.transport.probe(to.address(), Duration.ofSeconds(1)).toCompletableFuture();
        clock.runDue();
        assertTrue(f.isCompletedExceptionally(), "probe of " + to.member.name() + " from " + from.member.name());
        return f.handle((m, e) -> e.getMessage()).join();
    }

    @Test
    void membersWithTheSameSecretExchangeFramesAndProbe() {
        Node a = new Node("test", "a", SECRET);
        Node b = new Node("test", "b", SECRET);
        a.transport.send(b.member, data(1));
        clock.runDue();
        assertEquals(1, b.frames.size());
        assertTrue(b.connected.get(0).sameDescription(a.member) && a.connected.get(0).sameDescription(b.member));
        assertTrue(probe(a, b).sameDescription(b.member));
        assertTrue(network.refusals().isEmpty(), network.refusals().toString());
    }

    @Test
    void aNodeWithoutTheSecretOrWithAnotherOneDeliversNothingAndCannotProbe() {
        Node secured = new Node("test", "secured", SECRET);
        Node open = new Node("test", "open", null);
        Node wrong = new Node("test", "wrong", WRONG);
        open.transport.send(secured.member, data(1));
        wrong.transport.send(secured.member, data(1));
        clock.runDue();
        assertEquals(1, open.sendFailures.size(), open.sendFailures.toString());
        assertTrue(open.sendFailures.get(0).contains("auth_required"), open.sendFailures.get(0));
        assertEquals(1, wrong.sendFailures.size());
        assertEquals(1, network.refused(secured.member, "auth_required"));
        assertEquals(1, network.refused(wrong.member, "bad_proof"));
        assertTrue(probeFailure(open, secured).contains("requires one"));
        assertTrue(probeFailure(wrong, secured).contains("does not prove the cluster secret"));
        assertTrue(probeFailure(secured, open).contains("secret_mismatch"));
        assertTrue(secured.frames.isEmpty() && secured.connected.isEmpty(), "nothing reached the engine");
        // The legitimate path is still served.
        Node friend = new Node("test", "friend", SECRET);
        friend.transport.send(secured.member, data(7));
        clock.runDue();
        assertEquals(1, secured.frames.size());
    }

    @Test
    void enginesWithASecretDeliverOnTheInMemoryNetwork() {
        NodeConfig config = NodeConfig.builder().clusterName("t").secret(SECRET).build();
        try (InMemoryCluster c = new InMemoryCluster(3, 13, config)) {
            List<Integer> got = new ArrayList<>();
            c.node(1).addMessageListener(1, m -> got.add(m.payload().getInt(0)));
            c.node(2).addMessageListener(1, m -> got.add(m.payload().getInt(0)));
            CompletableFuture<Void> sent = c.node(0).send(List.of(c.member(1), c.member(2)), 1,
                    ByteBuffer.allocate(4).putInt(0, 7), Delivery.PROCESSED).toCompletableFuture();
            assertTrue(c.runUntil(sent::isDone, Duration.ofMillis(1), 1000), c.network().toString());
            sent.join();
            assertEquals(List.of(7, 7), got);
            assertTrue(c.network().refusals().isEmpty(), c.network().refusals().toString());
        }
    }

    @Test
    void aNodeOfAnotherClusterIsRefusedAndCannotProbe() {
        Node a = new Node("test", "a", null);
        Node other = new Node("elsewhere", "x", null);
        other.transport.send(a.member, data(1));
        clock.runDue();
        assertTrue(other.sendFailures.get(0).contains("cluster name mismatch"), other.sendFailures.toString());
        assertTrue(probeFailure(other, a).contains("cluster name mismatch"));
        assertEquals(2, network.refused(a.member, "cluster_mismatch"));
        assertTrue(a.frames.isEmpty() && a.connected.isEmpty());
    }
}
