package io.flotilla.bench;

import java.io.Serializable;
import java.util.HexFormat;
import java.util.logging.Logger;

import org.apache.catalina.tribes.ByteMessage;
import org.apache.catalina.tribes.ChannelListener;
import org.apache.catalina.tribes.Member;
import org.apache.catalina.tribes.group.GroupChannel;

/**
 * The stock receiving node: a {@link StockTribes} channel whose listener counts {@link ByteMessage}s and
 * checks their order.
 *
 * <p>Threading: {@link #start}/{@link #close} from one thread; the listener runs on Tribes' receiver worker
 * threads, several at once, and only touches the thread-safe {@link OrderTracker}.
 */
final class StockTribesReceiver implements PeerReceiver {

    private final Logger logging = StockTribes.quietLogging();
    private GroupChannel channel;

    @Override
    public String start(OrderTracker tracker) throws Exception {
        channel = StockTribes.newChannel("bench-receiver");
        channel.addChannelListener(new ChannelListener() {
            @Override
            public void messageReceived(Serializable msg, Member sender) {
                byte[] b = ((ByteMessage) msg).getMessage();
                tracker.accept(b, 0, b.length);
            }

            @Override
            public boolean accept(Serializable msg, Member sender) {
                return msg instanceof ByteMessage;
            }
        });
        channel.start(StockTribes.START_OPTIONS);
        Member local = channel.getLocalMember(false);
        return channel.getChannelReceiver().getPort() + " " + HexFormat.of().formatHex(local.getUniqueId());
    }

    @Override
    public void close() throws Exception {
        if (channel != null) {
            channel.stop(StockTribes.START_OPTIONS);
        }
        logging.fine("stock receiver stopped");
    }
}
