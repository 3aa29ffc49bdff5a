package io.flotilla.transport.netty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameCodec;
import io.flotilla.wire.FrameType;
import io.flotilla.wire.WireException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The writer's header matches core's codec byte for byte; the decoder reassembles frames from any split. */
class FrameCodingTest {
    private static Frame sample(int size) {
        byte[] p = new byte[size];
        new Random(size).nextBytes(p);
        return new Frame(FrameType.DATA, 0x05, 200, 0xFFFF_FFFFL, -3L, ByteBuffer.wrap(p));
    }

    @Test
    void encodesExactlyAsFrameCodecWithoutTouchingThePayload() {
        for (int size : new int[] {0, 1, 1024, 5000}) {
            Frame f = sample(size);
            ByteBuf buf = Unpooled.buffer();
            WriteQueue.encode(f, buf);
            byte[] got = new byte[buf.readableBytes()];
            buf.readBytes(got);
            assertArrayEquals(FrameCodec.encode(f), got);
            assertEquals(size, f.payload().remaining(), "payload position unchanged");
            ByteBuf ro = Unpooled.buffer();
            Frame readOnly = new Frame(f.type(), f.flags(), f.topic(), f.window(), f.messageId(),
                    f.payload().asReadOnlyBuffer());
            WriteQueue.encode(readOnly, ro);
            assertEquals(f.encodedLength(), ro.readableBytes());
        }
    }

    @Test
    void decodesFramesFedOneByteAtATime() {
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(1 << 20));
        Frame[] frames = {sample(0), sample(7), sample(3000)};
        for (Frame f : frames) {
            for (byte b : FrameCodec.encode(f)) {
                ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
            }
        }
        for (Frame f : frames) {
            Frame got = ch.readInbound();
            assertEquals(f.type(), got.type());
            assertEquals(f.flags(), got.flags());
            assertEquals(f.topic(), got.topic());
            assertEquals(f.window(), got.window());
            assertEquals(f.messageId(), got.messageId());
            assertArrayEquals(f.payloadBytes(), got.payloadBytes());
        }
        assertNull(ch.readInbound());
        ch.finishAndReleaseAll();
    }

    @Test
    void passesTheWireErrorOnAndDiscardsTheRest() {
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(FrameCodec.HANDSHAKE_MAX_FRAME_BYTES));
        ByteBuf in = Unpooled.buffer();
        in.writeBytes(FrameCodec.encode(sample(10)));
        in.writeBytes(FrameCodec.encode(sample(FrameCodec.HANDSHAKE_MAX_FRAME_BYTES)));
        in.writeBytes(FrameCodec.encode(sample(10)));
        ch.writeInbound(in);
        assertTrue(ch.readInbound() instanceof Frame);
        Object error = ch.readInbound();
        assertTrue(error instanceof WireException e && e.reason().equals("too_large"), String.valueOf(error));
        assertNull(ch.readInbound(), "nothing after the error");
        ch.writeInbound(Unpooled.wrappedBuffer(FrameCodec.encode(sample(1))));
        assertNull(ch.readInbound(), "still nothing");
        ch.finishAndReleaseAll();
    }

    @Test
    void aLargeFrameRightBehindTheLastHandshakeFrameInOneReadIsCheckedAgainstTheRaisedLimit() {
        // The connecting side sends AUTH and then, at once, what it had queued: both can arrive in one read. The
        // handshake handler raises the limit when it gets AUTH; the next header must be checked after that.
        FrameDecoder decoder = new FrameDecoder(FrameCodec.HANDSHAKE_MAX_FRAME_BYTES);
        EmbeddedChannel ch = new EmbeddedChannel(decoder, new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                decoder.maxFrameBytes(1 << 20); // as Connection.established does
                ctx.fireChannelRead(msg);
            }
        });
        ByteBuf in = Unpooled.buffer();
        in.writeBytes(FrameCodec.encode(sample(32)));
        in.writeBytes(FrameCodec.encode(sample(70_000)));
        in.writeBytes(FrameCodec.encode(sample(10)));
        in.writeBytes(FrameCodec.encode(sample(11)));
        ch.writeInbound(in);
        for (int size : new int[] {32, 70_000, 10, 11}) {
            Object got = ch.readInbound();
            assertTrue(got instanceof Frame f && f.payloadLength() == size, String.valueOf(got));
        }
        assertNull(ch.readInbound());
        ch.finishAndReleaseAll();
    }

    @Test
    void decodesFramesWrittenBackToBackIntoOneBufferEachWithItsOwnPayload() {
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(1 << 20));
        Random random = new Random(7);
        Frame[] frames = new Frame[300];
        ByteBuf in = Unpooled.buffer();
        for (int i = 0; i < frames.length; i++) {
            // Mostly small frames (decoded in runs), now and then one too large to share an array.
            frames[i] = sample(i % 50 == 49 ? 20_000 : random.nextInt(300));
            in.writeBytes(FrameCodec.encode(frames[i]));
        }
        ch.writeInbound(in);
        for (Frame f : frames) {
            Frame got = ch.readInbound();
            assertEquals(f.messageId(), got.messageId());
            assertEquals(f.payloadLength(), got.payloadLength());
            assertEquals(0, got.payload().position());
            assertArrayEquals(f.payloadBytes(), got.payloadBytes());
        }
        assertNull(ch.readInbound());
        ch.finishAndReleaseAll();
    }

    @Test
    void aBadHeaderAmongSmallFramesPassesOnTheFramesBeforeItThenTheErrorAndNothingAfter() {
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(1 << 20));
        ByteBuf in = Unpooled.buffer();
        for (int i = 0; i < 5; i++) {
            in.writeBytes(FrameCodec.encode(sample(10 + i)));
        }
        byte[] bad = FrameCodec.encode(sample(10));
        bad[0] = 0x12;
        in.writeBytes(bad);
        in.writeBytes(FrameCodec.encode(sample(10)));
        ch.writeInbound(in);
        for (int i = 0; i < 5; i++) {
            Frame got = ch.readInbound();
            assertEquals(10 + i, got.payloadLength());
        }
        Object error = ch.readInbound();
        assertTrue(error instanceof WireException e && e.reason().equals("bad_magic"), String.valueOf(error));
        assertNull(ch.readInbound(), "nothing after the error");
        ch.finishAndReleaseAll();
    }
}
