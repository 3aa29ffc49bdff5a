package io.flotilla.bench;

import java.nio.ByteBuffer;
import java.util.List;

import io.flotilla.Message;
import io.flotilla.MessageListener;
import io.flotilla.Node;

/**
 * The Flotilla receiving node: a {@link Node} on 127.0.0.1 (free port) whose static member list names the sender's
 * address; its listener hands each message to the {@link OrderTracker}.
 *
 * <p>Only the payload's stream header ({@link ChannelPayload#HEADER_BYTES}) is copied out of the read-only
 * buffer the node delivers; the tracker reads nothing else.
 *
 * <p>Threading: {@link #start}/{@link #close} from one thread; the listener runs on the node's delivery threads, or
 * on its I/O thread when built {@code inline} (one at a time per sender, in order), and
 * only touches the thread-safe {@link OrderTracker}.
 */
final class FlotillaReceiver implements PeerReceiver {

    private final int senderPort;
    private final boolean inline;
    private Node node;

    /** {@code inline}: the listener takes its messages on the I/O thread that read them. */
    FlotillaReceiver(int senderPort, boolean inline) {
        this.senderPort = senderPort;
        this.inline = inline;
    }

    @Override
    public String start(OrderTracker tracker) {
        node = FlotillaBench.node("bench-receiver", 0, List.of(BenchJvm.LOOPBACK + ":" + senderPort))
                .onMessage(FlotillaBench.TOPIC, new MessageListener() {
                    @Override
                    public void onMessage(Message m) {
                        ByteBuffer p = m.payload();
                        byte[] header = new byte[Math.min(p.remaining(), ChannelPayload.HEADER_BYTES)];
                        p.duplicate().get(header);
                        tracker.accept(header, 0, header.length);
                    }

                    @Override
                    public boolean inline(Message m) {
                        return inline;
                    }
                })
                .start();
        return node.localMember().port() + " " + node.localMember().id();
    }

    @Override
    public void close() {
        if (node != null) {
            node.close();
        }
    }
}
