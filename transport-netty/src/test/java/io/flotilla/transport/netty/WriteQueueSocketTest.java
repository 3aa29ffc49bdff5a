package io.flotilla.transport.netty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.Delivery;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameCodec;
import io.flotilla.wire.FrameType;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The writer ({@link WriteQueue}) on a real loopback socket, read by the test as raw bytes. */
class WriteQueueSocketTest {
    private static Frame frame(FrameType type, Delivery delivery, long id, int payloadBytes) {
        byte[] p = new byte[payloadBytes];
        for (int i = 0; i < p.length; i++) {
            p[i] = (byte) (id * 31 + i);
        }
        return new Frame(type, delivery.ordinal(), 1, 0, id, ByteBuffer.wrap(p));
    }

    /**
     * Frames nobody waits for that come close together are written together: the loop that wrote one keeps the word
     * for the linger (here longer than the test) and writes what came meanwhile in one go; a frame a thread waits for
     * ends the linger at once. A lone one is written at once and the word released.
     */
    @Test
    void framesNobodyWaitsForThatComeCloseTogetherWaitForTheLingerOrAnAwaitedFrame() throws Exception {
        TransportMeters meters = new TransportMeters(new SimpleMeterRegistry());
        AtomicLong now = new AtomicLong(1_000_000_000L);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Channel ch = new Bootstrap().group(group).channelFactory(DirectNioSocketChannel::new)
                    .handler(new ChannelInboundHandlerAdapter()).connect(server.getLocalAddress()).sync().channel();
            try (SocketChannel peer = server.accept()) {
                WriteQueue q = new WriteQueue(ch.eventLoop(), 1000, meters, "test connection", now::get,
                        TimeUnit.HOURS.toNanos(1));
                ch.eventLoop().submit(() -> q.open(ch, true)).sync();
                Frame a = frame(FrameType.DATA, Delivery.ASYNC, 1, 100);
                Frame b = frame(FrameType.DATA, Delivery.ASYNC, 2, 100);
                Frame c = frame(FrameType.DATA, Delivery.ASYNC, 3, 100);
                Frame d = frame(FrameType.DATA, Delivery.ASYNC, 4, 100);
                Frame e = frame(FrameType.DATA, Delivery.RECEIVED, 5, 100);
                Frame f = frame(FrameType.DATA, Delivery.RECEIVED, 6, 100);

                q.offer(a); // alone: written at once, the word released
                assertArrayEquals(FrameCodec.encode(a), readExactly(peer, FrameCodec.encode(a).length));
                loopDone(ch);
                now.addAndGet(WriteQueue.LINGER_NANOS - 1);
                q.offer(b); // close behind a: written at once, then the loop lingers
                assertArrayEquals(FrameCodec.encode(b), readExactly(peer, FrameCodec.encode(b).length));
                loopDone(ch);
                now.addAndGet(1000);
                q.offer(c);
                q.offer(d);
                loopDone(ch);
                assertEquals(2.0, meters.framesSent.count(), "c and d wait for the linger");
                q.offer(e); // a thread waits for e: everything goes at once, in order
                byte[] cde = concat(FrameCodec.encode(c), FrameCodec.encode(d), FrameCodec.encode(e));
                assertArrayEquals(cde, readExactly(peer, cde.length));
                loopDone(ch); // the drain that wrote them has counted them
                assertEquals(5.0, meters.framesSent.count());
                assertEquals(0.0, meters.framesSentDirect.count(), "e went with the loop's batch");
                now.addAndGet(1000);
                Frame g = frame(FrameType.DATA, Delivery.ASYNC, 7, 100);
                Frame ack = Frame.control(FrameType.ACK, 9);
                q.offer(g); // still lingering: waits
                ch.eventLoop().submit(() -> q.offer(ack)).sync(); // the loop's own frame ends the linger too
                byte[] gAck = concat(FrameCodec.encode(g), FrameCodec.encode(ack));
                assertArrayEquals(gAck, readExactly(peer, gAck.length));

                now.addAndGet(WriteQueue.LINGER_NANOS);
                loopDone(ch);
                WriteQueue lone = new WriteQueue(ch.eventLoop(), 1000, meters, "test connection", now::get,
                        TimeUnit.HOURS.toNanos(1));
                ch.eventLoop().submit(() -> lone.open(ch, true)).sync();
                lone.offer(frame(FrameType.DATA, Delivery.ASYNC, 8, 100));
                loopDone(ch);
                lone.offer(f); // the lone frame released the word: a waiting thread writes its own
                assertEquals(1.0, meters.framesSentDirect.count());
            }
            ch.close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    /**
     * A sending thread's write that the kernel takes only part of leaves the rest to the loop: no loop task, even one
     * scheduled before it (a drain made stale by a direct {@code drain()} call), may write a later frame ahead of
     * that rest. Found in review: the rest used to ride on a task of its own, queued behind such a stale drain.
     */
    @Test
    void theRestOfAPartialDirectWriteGoesOutBeforeAnythingOfferedAfterIt() throws Exception {
        TransportMeters meters = new TransportMeters(new SimpleMeterRegistry());
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
            server.setOption(StandardSocketOptions.SO_RCVBUF, 4096); // inherited by the accepted socket
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Channel ch = new Bootstrap().group(group).channelFactory(DirectNioSocketChannel::new)
                    .option(ChannelOption.SO_SNDBUF, 4096).handler(new ChannelInboundHandlerAdapter())
                    .connect(server.getLocalAddress()).sync().channel();
            try (SocketChannel peer = server.accept()) { // does not read until the end: the kernel takes little
                WriteQueue q = new WriteQueue(ch.eventLoop(), 1000, meters, "test connection");
                ch.eventLoop().submit(() -> q.open(ch, true)).sync();

                Frame a = frame(FrameType.PING, Delivery.ASYNC, 1, 0);
                Frame big = frame(FrameType.DATA, Delivery.PROCESSED, 2, 60_000); // more than both buffers hold
                Frame later = frame(FrameType.DATA, Delivery.RECEIVED, 3, 100);
                CountDownLatch loopHeld = new CountDownLatch(1);
                CountDownLatch release = new CountDownLatch(1);
                ch.eventLoop().execute(() -> {
                    q.writeNow(ch, a); // schedules a drain ...
                    q.drain();         // ... which this one makes stale: the word is free again
                    loopHeld.countDown();
                    try {
                        release.await(10, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                assertTrue(loopHeld.await(10, TimeUnit.SECONDS));
                q.offer(big);   // this thread writes it; the kernel takes part of it
                assertEquals(1.0, meters.framesSentDirect.count(), "written by the sending thread");
                q.offer(later); // queued behind the loop's word
                release.countDown();

                byte[] expected = concat(FrameCodec.encode(a), FrameCodec.encode(big), FrameCodec.encode(later));
                assertArrayEquals(expected, readExactly(peer, expected.length));
            }
            ch.close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    /** Returns once the tasks the loop had when called (a drain, and its counting) have run. */
    private static void loopDone(Channel ch) throws InterruptedException {
        ch.eventLoop().submit(() -> { }).sync();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /** Reads {@code n} bytes, failing after 10 s. */
    private static byte[] readExactly(SocketChannel peer, int n) throws Exception {
        peer.configureBlocking(false);
        ByteBuffer in = ByteBuffer.allocate(n);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (in.hasRemaining() && System.nanoTime() - deadline < 0) {
            if (peer.read(in) == 0) {
                Thread.onSpinWait();
            }
        }
        assertEquals(n, in.position(), "bytes received in 10 s");
        return in.array();
    }
}
