package io.flotilla.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.Member;
import io.flotilla.MemberId;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class FrameCodecTest {
    private static final Member MEMBER = new Member(new MemberId(1, 2), "node-a", "127.0.0.1", 4000, "shop",
            new byte[] {9, 8, 7}, 1_700_000_000_000L);

    @Test
    void roundTripsEveryHeaderField() {
        Frame f = new Frame(FrameType.DATA, 2 | Frame.FLAG_RETRANSMIT, 200, 0xFFFF_FFFFL, Long.MIN_VALUE + 5,
                ByteBuffer.wrap(new byte[] {1, 2, 3}));
        ByteBuffer bytes = ByteBuffer.wrap(FrameCodec.encode(f));
        FrameCodec.Header h = FrameCodec.readHeader(bytes, 1 << 20);
        assertEquals(FrameType.DATA, h.type());
        assertEquals(2 | Frame.FLAG_RETRANSMIT, h.flags());
        assertEquals(200, h.topic());
        assertEquals(0xFFFF_FFFFL, h.window());
        assertEquals(Long.MIN_VALUE + 5, h.messageId());
        assertEquals(3, h.payloadLength());
        assertEquals(FrameCodec.HEADER_BYTES, bytes.position());
    }

    @Test
    void refusesAWrongMagicNamingIt() {
        byte[] b = FrameCodec.encode(Frame.control(FrameType.PING, 1));
        b[0] = 'G';
        b[1] = 'E';
        WireException e = assertThrows(WireException.class, () -> FrameCodec.readHeader(ByteBuffer.wrap(b), 4096));
        assertEquals("bad_magic", e.reason());
        assertTrue(e.getMessage().contains("0x4745"), e.getMessage());
    }

    @Test
    void refusesAnUnknownVersionSayingWhatToDo() {
        byte[] b = FrameCodec.encode(Frame.control(FrameType.PING, 1));
        b[2] = 9;
        WireException e = assertThrows(WireException.class, () -> FrameCodec.readHeader(ByteBuffer.wrap(b), 4096));
        assertEquals("bad_version", e.reason());
        assertTrue(e.getMessage().contains("version 9") && e.getMessage().contains("same Flotilla version"));
    }

    @Test
    void refusesAnUnknownType() {
        byte[] b = FrameCodec.encode(Frame.control(FrameType.PING, 1));
        b[3] = 77;
        WireException e = assertThrows(WireException.class, () -> FrameCodec.readHeader(ByteBuffer.wrap(b), 4096));
        assertEquals("bad_type", e.reason());
    }

    @Test
    void refusesALengthOverTheLimitBeforeReadingThePayload() {
        ByteBuffer header = ByteBuffer.allocate(FrameCodec.HEADER_BYTES);
        FrameCodec.writeHeader(Frame.control(FrameType.DATA, 1), header);
        header.putInt(FrameCodec.LENGTH_OFFSET, Integer.MAX_VALUE);
        header.flip();
        WireException e = assertThrows(WireException.class, () -> FrameCodec.readHeader(header, 4096));
        assertEquals("too_large", e.reason());
        header.rewind();
        header.putInt(FrameCodec.LENGTH_OFFSET, -1);
        WireException negative = assertThrows(WireException.class, () -> FrameCodec.readHeader(header, 4096));
        assertEquals("too_large", negative.reason());
    }

    @Test
    void acceptsAFrameOfExactlyTheLimit() {
        int max = 4096;
        Frame f = new Frame(FrameType.DATA, 0, 0, 0, 1, ByteBuffer.allocate(max - FrameCodec.HEADER_BYTES));
        assertEquals(max - FrameCodec.HEADER_BYTES,
                FrameCodec.readHeader(ByteBuffer.wrap(FrameCodec.encode(f)), max).payloadLength());
    }

    @Test
    void handshakeRoundTripsTheMemberAndClusterName() {
        Handshake.Hello hello = Handshake.readHello(Handshake.hello("prod.eu-1", MEMBER));
        assertEquals("prod.eu-1", hello.clusterName());
        assertTrue(hello.member().sameDescription(MEMBER));
        assertTrue(Handshake.readHelloAck(Handshake.helloAck(MEMBER)).member().sameDescription(MEMBER));
        assertEquals("go away", Handshake.readRefuse(Handshake.refuse("go away")));
    }

    @Test
    void handshakeFitsThePreHandshakeLimitWithTheLargestMember() {
        String longText = "x".repeat(Member.MAX_TEXT_BYTES);
        Member big = new Member(MemberId.random(), longText, longText, 65535, longText,
                new byte[Member.MAX_PAYLOAD_BYTES], 0);
        assertTrue(Handshake.hello("c".repeat(64), big).encodedLength() <= FrameCodec.HANDSHAKE_MAX_FRAME_BYTES);
    }

    @Test
    void truncatedOrCorruptMembersAreRefusedNeverThrowingAnythingElse() {
        byte[] good = Handshake.hello("c", MEMBER).payloadBytes();
        Random r = new Random(1234);
        for (int i = 0; i < 20_000; i++) {
            byte[] b = good.clone();
            int cut = r.nextInt(b.length + 1);
            byte[] mutated = Arrays.copyOf(b, cut);
            if (mutated.length > 0 && r.nextBoolean()) {
                mutated[r.nextInt(mutated.length)] = (byte) r.nextInt();
            }
            Frame f = new Frame(FrameType.HELLO, 0, 0, 0, 0, ByteBuffer.wrap(mutated));
            try {
                Handshake.readHello(f);
            } catch (WireException expected) {
                assertTrue(!expected.reason().isEmpty());
            }
        }
    }

    @Test
    void memberIdsPrintAndParseAsHex() {
        MemberId id = MemberId.random();
        assertEquals(id, MemberId.parse(id.toString()));
        assertEquals(32, id.toString().length());
        assertThrows(IllegalArgumentException.class, () -> MemberId.parse("zz"));
        assertThrows(IllegalArgumentException.class, () -> MemberId.parse("g".repeat(32)));
        assertArrayEquals(new byte[] {9, 8, 7}, MEMBER.payload());
    }
}
