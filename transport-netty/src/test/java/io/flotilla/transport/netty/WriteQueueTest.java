package io.flotilla.transport.netty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameCodec;
import io.flotilla.wire.FrameType;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The writer on its own, on Netty's embedded channel: no sockets, no threads, every write inspected. */
class WriteQueueTest {
    private final EmbeddedChannel channel = new EmbeddedChannel();
    private final TransportMeters meters = new TransportMeters(new SimpleMeterRegistry());

    @AfterEach
    void close() {
        channel.finishAndReleaseAll();
    }

    /** A queue whose channel drains it when it turns writable again, as {@link Connection} does. */
    private WriteQueue queue(int capacity) {
        WriteQueue q = new WriteQueue(channel.eventLoop(), capacity, meters, "test connection");
        channel.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelWritabilityChanged(ChannelHandlerContext ctx) {
                if (ctx.channel().isWritable()) {
                    q.drain();
                }
            }
        });
        return q;
    }

    private static Frame data(long id, int payloadBytes) {
        byte[] p = new byte[payloadBytes];
        p[0] = (byte) id;
        return new Frame(FrameType.DATA, 0, 1, 0, id, ByteBuffer.wrap(p));
    }

    /** Every buffer written so far, each as its bytes. */
    private List<byte[]> written() {
        List<byte[]> out = new ArrayList<>();
        ByteBuf b;
        while ((b = channel.readOutbound()) != null) {
            out.add(ByteBufUtil.getBytes(b));
            b.release();
        }
        return out;
    }

    private static byte[] encoded(Frame... frames) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Frame f : frames) {
            out.writeBytes(FrameCodec.encode(f));
        }
        return out.toByteArray();
    }

    @Test
    void framesWaitForTheHandshakeThenGoOutBackToBackInOneBufferAndOneFlush() {
        WriteQueue q = queue(64);
        Frame a = data(1, 10);
        Frame b = data(2, 100);
        Frame c = data(3, 1000);
        assertTrue(q.offer(a) && q.offer(b) && q.offer(c));
        channel.runPendingTasks();
        assertTrue(written().isEmpty(), "held while handshaking");
        q.open(channel, false);
        List<byte[]> out = written();
        assertEquals(1, out.size(), "one batch buffer");
        assertArrayEquals(encoded(a, b, c), out.get(0), "the wire format of FrameCodec, byte for byte");
        assertEquals(3.0, meters.framesSent.count());
    }

    @Test
    void aLoneFrameGetsABufferOfItsOwnSizeAndLaterFramesAreWrittenByTheScheduledDrain() {
        WriteQueue q = queue(64);
        q.open(channel, false);
        Frame a = data(1, 50);
        q.offer(a);
        channel.runPendingTasks();
        List<byte[]> out = written();
        assertEquals(1, out.size());
        assertArrayEquals(encoded(a), out.get(0));
    }

    @Test
    void framesLargerThanABatchAreWrittenAloneInOrder() {
        WriteQueue q = queue(64);
        Frame small = data(1, 10);
        Frame large = data(2, 70_000);
        Frame after = data(3, 10);
        q.offer(small);
        q.offer(large);
        q.offer(after);
        channel.runPendingTasks(); // the drain scheduled by the first offer: held (EmbeddedChannel would run it inside a write)
        q.open(channel, false);
        List<byte[]> out = written();
        assertEquals(3, out.size(), "the batch before, the large frame (the channel is unwritable after it), and the "
                + "batch after, written when the flush made the channel writable again");
        assertArrayEquals(encoded(small), out.get(0));
        assertArrayEquals(encoded(large), out.get(1));
        assertArrayEquals(encoded(after), out.get(2));
    }

    @Test
    void theQueueIsBoundedUntilTheDrainTakesFrames() {
        WriteQueue q = queue(16);
        for (int i = 0; i < 16; i++) {
            assertTrue(q.offer(data(i, 1)), "frame " + i);
        }
        assertFalse(q.offer(data(16, 1)), "the 17th frame is refused");
        channel.runPendingTasks();
        q.open(channel, false);
        assertEquals(1, written().size());
        assertTrue(q.offer(data(17, 1)), "room again once written");
    }

    @Test
    void aClosingConnectionDropsWhatWaitsAndWhatComesLater() {
        WriteQueue q = queue(16);
        q.offer(data(1, 1));
        q.discard();
        assertTrue(q.offer(data(2, 1)));
        channel.runPendingTasks();
        assertTrue(written().isEmpty());
        for (int i = 0; i < 16; i++) {
            assertTrue(q.offer(data(i, 1)), "dropped frames free their room");
            channel.runPendingTasks();
        }
        assertNull(channel.readOutbound());
    }
}
