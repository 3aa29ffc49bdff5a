package io.flotilla.bench;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.Node;

/**
 * The Flotilla sending node: a {@link Node} whose static membership lists the receiver's 127.0.0.1 address.
 * {@link #connect} returns once the receiver is in the node's view; {@link #send} goes to that member with
 * {@link Node#send(Member, int, ByteBuffer, Delivery)} and, for {@link Delivery#RECEIVED} and
 * {@link Delivery#PROCESSED}, waits for the stage (bounded).
 *
 * <p>Threading: {@link #send} is safe from many threads (the node is); each sending thread keeps to one pooled
 * connection, so its messages stay in order on the wire as well as at the receiver.
 */
final class FlotillaSender implements ChannelSender {

    private static final long SYNC_TIMEOUT_SECONDS = 30;

    private Node node;
    private Member peer;

    @Override
    public String receiverKind() {
        // -Dbench.inlineListener=true (JMH: -jvmArgsAppend): the receiver's listener takes its messages on the
        // I/O thread that read them (MessageListener.inline), as a user with a quick listener may opt in to.
        return Boolean.getBoolean("bench.inlineListener") ? "flotilla-inline" : "flotilla";
    }

    @Override
    public void connect(int port, String token, int localPort) throws Exception {
        node = FlotillaBench.node("bench-sender", localPort, List.of(BenchJvm.LOOPBACK + ":" + port)).start();
        long deadline = System.nanoTime() + FlotillaBench.JOIN_TIMEOUT.toNanos();
        while (peer == null) {
            for (Member m : node.view().members()) {
                if (m.port() == port && !m.id().equals(node.localMember().id())) {
                    peer = m;
                }
            }
            if (peer == null) {
                if (System.nanoTime() - deadline > 0) {
                    node.close();
                    throw new IllegalStateException("the Flotilla receiver on 127.0.0.1:" + port
                            + " did not join within " + FlotillaBench.JOIN_TIMEOUT + "; view " + node.view());
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
            }
        }
    }

    @Override
    public void send(byte[] payload, Delivery delivery) throws Exception {
        var stage = node.send(peer, FlotillaBench.TOPIC, ByteBuffer.wrap(payload), delivery);
        if (delivery != Delivery.ASYNC) {
            stage.toCompletableFuture().get(SYNC_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
    }

    @Override
    public void close() {
        if (node != null) {
            node.close();
        }
    }
}
