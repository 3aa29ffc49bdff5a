package io.flotilla.transport.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.NodeConfig;
import io.flotilla.internal.DefaultNode;
import io.flotilla.spi.Clock;
import io.flotilla.spi.Disconnect;
import io.flotilla.spi.InboundHandler;
import io.flotilla.spi.PeerConnection;
import io.flotilla.spi.Transport;
import io.flotilla.spi.TransportContext;
import io.flotilla.testing.FixedMembership;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameType;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Over real loopback sockets, a {@code PROCESSED} message sent on an idle connection is answered by one frame (its
 * {@code RESULT}, which acknowledges receipt too), not by an {@code ACK} and a {@code RESULT}. Frames are counted
 * where the sender's engine receives them; the counts are exact, no timing is asserted.
 */
class ResultAsAckOverNettyTest {
    private final List<DefaultNode> nodes = new ArrayList<>();

    @AfterEach
    void closeNodes() {
        nodes.forEach(DefaultNode::close);
    }

    /** A transport that counts, by type, the frames its engine receives. */
    private static final class CountingTransport implements Transport {
        final Transport inner;
        final AtomicLongArray received = new AtomicLongArray(FrameType.values().length);

        CountingTransport(Transport inner) {
            this.inner = inner;
        }

        long received(FrameType type) {
            return received.get(type.ordinal());
        }

        @Override
        public InetSocketAddress bind() {
            return inner.bind();
        }

        @Override
        public void start(TransportContext context) {
            InboundHandler engine = context.inbound();
            InboundHandler counting = new InboundHandler() {
                @Override
                public void onConnected(PeerConnection connection) {
                    engine.onConnected(connection);
                }

                @Override
                public void onFrame(PeerConnection connection, Frame frame) {
                    received.incrementAndGet(frame.type().ordinal());
                    engine.onFrame(connection, frame);
                }

                @Override
                public void onReadComplete(PeerConnection connection) {
                    engine.onReadComplete(connection);
                }

                @Override
                public void onDisconnected(PeerConnection connection, Disconnect reason) {
                    engine.onDisconnected(connection, reason);
                }

                @Override
                public void onSendFailed(Member member, Throwable cause) {
                    engine.onSendFailed(member, cause);
                }
            };
            // The node runs on the system clock, as the test context does; its meters and limits pass through.
            inner.start(new TestTransportContext(context.clusterName(), context.localMember(), counting,
                    context.meters(), context.maxFrameBytes(), context.secret().orElse(null)));
        }

        @Override
        public void send(Member member, Frame frame) {
            inner.send(member, frame);
        }

        @Override
        public CompletionStage<Member> probe(InetSocketAddress address, Duration timeout) {
            return inner.probe(address, timeout);
        }

        @Override
        public void disconnect(Member member) {
            inner.disconnect(member);
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    private DefaultNode node(String name, Transport transport, FixedMembership membership) {
        NodeConfig config = NodeConfig.builder().clusterName("ack").memberName(name).timeout(Duration.ofSeconds(30))
                .deliveryThreads(2).build();
        DefaultNode n = new DefaultNode(config, Clock.system(), null, transport, membership);
        n.start();
        nodes.add(n);
        return n;
    }

    private static Transport netty() {
        // One connection per member: everything the receiver answers comes back in the order it was written.
        return NettyTransport.factory(TestNode.config().poolSize(1).build()).create();
    }

    @Test
    @Timeout(120)
    void aProcessedMessageOnAnIdleConnectionIsAnsweredByOneFrame() throws Exception {
        CountingTransport counting = new CountingTransport(netty());
        FixedMembership ms = new FixedMembership();
        FixedMembership mr = new FixedMembership();
        DefaultNode sender = node("sender", counting, ms);
        DefaultNode receiver = node("receiver", netty(), mr);
        receiver.addMessageListener(1, m -> { });
        ms.join(receiver.localMember());
        mr.join(sender.localMember());
        Member target = receiver.localMember();
        int messages = 200;
        for (int i = 0; i < messages; i++) {
            // One at a time, each after the previous one's answer: the connection is idle when each arrives.
            sender.send(target, 1, ByteBuffer.allocate(4).putInt(0, i), Delivery.PROCESSED).toCompletableFuture()
                    .get(30, TimeUnit.SECONDS);
        }
        // A RECEIVED message completes on its ACK, written after every answer to the messages before it on the one
        // connection: once it completed, every frame the receiver wrote for them has been counted.
        sender.send(target, 1, ByteBuffer.allocate(4), Delivery.RECEIVED).toCompletableFuture()
                .get(30, TimeUnit.SECONDS);
        long results = counting.received(FrameType.RESULT);
        long acks = counting.received(FrameType.ACK);
        double resent = sender.meterRegistry().find("flotilla.messages.retransmitted").counter().count();
        String counts = "RESULT " + results + ", ACK " + acks + ", retransmitted " + resent;
        assertEquals(messages, results, counts);
        assertEquals(1, acks, "one ACK, for the RECEIVED message only: " + counts);
    }
}
