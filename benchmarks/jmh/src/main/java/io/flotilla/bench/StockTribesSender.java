package io.flotilla.bench;

import java.util.logging.Logger;

import org.apache.catalina.tribes.ByteMessage;
import org.apache.catalina.tribes.Channel;
import org.apache.catalina.tribes.Member;
import org.apache.catalina.tribes.group.GroupChannel;
import org.apache.catalina.tribes.membership.StaticMember;

import io.flotilla.Delivery;

/**
 * The stock sending node: a {@link StockTribes} channel with the receiver added as a static member.
 *
 * <p>Messages go out as {@link ByteMessage}s, Tribes' raw-bytes path (no Java serialization of the
 * payload), which is the fair comparison with Flotilla's byte frames; the channel still wraps each one in
 * its {@code ChannelData} (unique id, member, timestamp) and framing, as it does for every message.
 * Guarantees map to Tomcat's send options: {@link Delivery#ASYNC} = {@code SEND_OPTIONS_ASYNCHRONOUS} (8,
 * {@code SimpleTcpCluster}'s default), {@link Delivery#RECEIVED} = {@code SEND_OPTIONS_USE_ACK} (2),
 * {@link Delivery#PROCESSED} = {@code USE_ACK | SYNCHRONIZED_ACK} (6).
 *
 * <p>Threading: {@link #send} is safe from many threads (Tribes' {@code PooledParallelSender} hands each
 * concurrent send its own connection).
 */
final class StockTribesSender implements ChannelSender {

    private final Logger logging = StockTribes.quietLogging();
    private GroupChannel channel;
    private Member[] peer;

    @Override
    public String receiverKind() {
        return "stock";
    }

    @Override
    public void connect(int port, String token, int localPort) throws Exception {
        channel = StockTribes.newChannel("bench-sender");
        StaticMember receiver = StockTribes.peer(port, token);
        StockTribes.membership(channel).addStaticMember(receiver);
        channel.start(StockTribes.START_OPTIONS);
        peer = new Member[] { receiver };
    }

    @Override
    public void send(byte[] payload, Delivery delivery) throws Exception {
        channel.send(peer, new ByteMessage(payload), options(delivery));
    }

    static int options(Delivery delivery) {
        return switch (delivery) {
            case ASYNC -> Channel.SEND_OPTIONS_ASYNCHRONOUS;
            case RECEIVED -> Channel.SEND_OPTIONS_USE_ACK;
            case PROCESSED -> Channel.SEND_OPTIONS_USE_ACK | Channel.SEND_OPTIONS_SYNCHRONIZED_ACK;
        };
    }

    @Override
    public void close() throws Exception {
        if (channel != null) {
            channel.stop(StockTribes.START_OPTIONS);
        }
        logging.fine("stock sender stopped");
    }
}
