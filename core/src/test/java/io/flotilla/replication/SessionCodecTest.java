package io.flotilla.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.ThreadMXBean;
import io.flotilla.replication.CodecException.Reason;
import io.flotilla.replication.fixtures.Cart;
import io.flotilla.replication.fixtures.Color;
import io.flotilla.replication.fixtures.Item;
import io.flotilla.wire.FrameCodec;
import java.io.ByteArrayOutputStream;
import java.io.ObjectOutputStream;
import java.lang.management.ManagementFactory;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SessionCodecTest {
    /** A Tomcat id: 32 upper-case hex digits and ".jvmRoute". */
    private static final String TOMCAT_ID = "5A1C0E8D9B7F4A2C6E3D1B0F9A8C7E6D.node1";
    private static final SessionMetadata META = new SessionMetadata(1_700_000_000_000L, 1_700_000_360_000L, 1800,
            false, "alice".getBytes(), "FORM".getBytes(), new byte[] {1, 2, 3});
    private final CodecConfig config = CodecConfig.builder().allow("io.flotilla.replication.fixtures.*").build();
    private final AttributeCodec attributes = new AttributeCodec(config);
    private final SessionCodec codec = new SessionCodec(config);

    @Test
    void deltasAndRecordsRoundTrip() {
        SessionDelta d = new SessionDelta(TOMCAT_ID, 0, 9, List.of(new SessionOp.Create(META),
                new SessionOp.SetAttribute("n\u00e4me", attributes.encode("x", 42)),
                new SessionOp.RemoveAttribute("gone"), new SessionOp.Access(1_700_000_400_000L, false),
                new SessionOp.MaxInactive(-1), new SessionOp.Principal(null, "BASIC".getBytes()),
                new SessionOp.Notes(new byte[0]), new SessionOp.ChangeId("lower-case-id.node2")));
        assertEquals(d, codec.decodeDelta(codec.encodeDelta(d)));
        SessionDelta expire = new SessionDelta("x", 41, 42, List.of(new SessionOp.Expire()));
        assertEquals(expire, codec.decodeDelta(codec.encodeDelta(expire)));
        SessionRecord r = new SessionRecord(TOMCAT_ID, 77, META, Map.of("a", new byte[] {1}, "b", new byte[0]));
        assertEquals(r, codec.decodeRecord(codec.encodeRecord(r)));
        for (String id : List.of("", "ABC", "0123456789ABCDEF", "0123456789ABCDEFa", "0123456789abcdef.x",
                "0123456789ABCDEF0", "\u00e9t\u00e9", "0123456789ABCDEF.n\u00f6de", "0123456789ABCDEF\uD83D\uDE00.x")) {
            SessionDelta e = new SessionDelta(id, 1, 2, List.of(new SessionOp.MaxInactive(5)));
            assertEquals(id, codec.decodeDelta(codec.encodeDelta(e)).sessionId());
        }
    }

    @Test
    void aDeltaSettingOneIntegerIsFarBelowStockTomcat() {
        SessionDelta d = new SessionDelta(TOMCAT_ID, 41, 42,
                List.of(new SessionOp.SetAttribute("counter", attributes.encode("counter", 42))));
        int onWire = FrameCodec.HEADER_BYTES + codec.encodeDelta(d).length;
        System.out.println("WIRE one Integer delta: payload " + codec.encodeDelta(d).length + " + frame header "
                + FrameCodec.HEADER_BYTES + " = " + onWire + " bytes (stock Tomcat 773)");
        assertTrue(onWire < 77, "one Integer delta costs " + onWire + " bytes on the wire");
        // With an access-time update too, as every real request carries.
        SessionDelta withAccess = new SessionDelta(TOMCAT_ID, 41, 43, List.of(
                new SessionOp.SetAttribute("counter", attributes.encode("counter", 42)),
                new SessionOp.Access(1_700_000_400_000L, false)));
        int withAccessOnWire = FrameCodec.HEADER_BYTES + codec.encodeDelta(withAccess).length;
        System.out.println("WIRE one Integer delta + access time: " + withAccessOnWire + " bytes");
        assertTrue(withAccessOnWire < 77);
    }

    @Test
    void aTwoKilobyteGraphStaysCompact() throws Exception {
        Cart cart = new Cart("customer-4711@example.com", new BigDecimal("1234.56"));
        for (int i = 0; i < 10; i++) {
            cart.items.add(new Item(String.format("SKU-%06d", i * 7919),
                    "Item number " + i + ": a fairly descriptive product text, as shops keep in carts",
                    1 + i % 4, new BigDecimal("19.99").add(BigDecimal.valueOf(i)), Color.values()[i % 3]));
        }
        ByteArrayOutputStream java = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(java)) {
            out.writeObject(cart);
        }
        byte[] value = attributes.encode("cart", cart);
        SessionDelta d = new SessionDelta(TOMCAT_ID, 41, 42, List.of(new SessionOp.SetAttribute("cart", value)));
        int onWire = FrameCodec.HEADER_BYTES + codec.encodeDelta(d).length;
        System.out.println("WIRE ~2 KiB graph: Java serialization of the graph alone " + java.size()
                + " bytes; Kryo value " + value.length + " bytes; whole delta on the wire " + onWire
                + " bytes (stock Tomcat 2,701)");
        assertTrue(java.size() >= 1800 && java.size() <= 2500, "graph is about 2 KiB in Java serialization: " + java.size());
        assertTrue(onWire < java.size(), onWire + " bytes on the wire");
        assertEquals(cart, attributes.decode("cart", value, getClass().getClassLoader()));
    }

    private static byte[] varint(long v) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
        return out.toByteArray();
    }

    private static byte[] bytes(Object... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object p : parts) {
            if (p instanceof byte[] b) {
                out.writeBytes(b);
            } else {
                out.write((Integer) p);
            }
        }
        return out.toByteArray();
    }

    @Test
    void hostileLengthsAreRefusedBeforeAllocation() {
        byte[] huge = varint(Integer.MAX_VALUE);
        byte[] ten = new byte[10];
        List<byte[]> hostile = List.of(
                bytes(SessionCodec.DELTA, huge, ten),                                   // id length
                bytes(SessionCodec.DELTA, varint(3), huge, ten),                        // hex id, packed length
                bytes(SessionCodec.DELTA, 0, 1, 1, huge, ten),                          // op count
                bytes(SessionCodec.DELTA, 0, 1, 1, 1, 2, huge, ten),                    // attribute name
                bytes(SessionCodec.DELTA, 0, 1, 1, 1, 2, 1, (int) 'a', huge, ten),            // attribute value
                bytes(SessionCodec.DELTA, 0, 1, 1, 1, 7, huge, ten),                    // notes
                bytes(SessionCodec.RECORD, 0, 1, 0, 0, 0, 0, 0, 0, 0, huge, ten),       // attribute count
                bytes(SessionCodec.DELTA, 0, 1, 1, 1, 2, 1, (int) 'a', varint(1000), ten));   // value > bytes left
        for (byte[] b : hostile) {
            CodecException e = assertThrows(CodecException.class,
                    () -> { if (b[0] == SessionCodec.DELTA) { codec.decodeDelta(b); } else { codec.decodeRecord(b); } },
                    () -> Arrays.toString(b));
            assertEquals(Reason.LIMIT_EXCEEDED, e.reason(), e.getMessage());
        }
        assertEquals(Reason.MALFORMED, assertThrows(CodecException.class,
                () -> codec.decodeDelta(bytes(SessionCodec.DELTA, 0, 1, 1, 1, 99))).reason());
        assertEquals(Reason.MALFORMED, assertThrows(CodecException.class,
                () -> codec.decodeDelta(bytes(SessionCodec.RECORD))).reason());
    }

    @Test
    void truncatedAndRandomBytesGiveCodecExceptionsOnly() {
        SessionDelta d = new SessionDelta(TOMCAT_ID, 0, 3, List.of(new SessionOp.Create(META),
                new SessionOp.SetAttribute("a", new byte[] {1, 2, 3}), new SessionOp.ChangeId(TOMCAT_ID + "x")));
        byte[] good = codec.encodeDelta(d);
        for (int cut = 0; cut < good.length; cut++) {
            byte[] t = Arrays.copyOf(good, cut);
            assertThrows(CodecException.class, () -> codec.decodeDelta(t));
        }
        Random random = new Random(11);
        for (int i = 0; i < 5000; i++) {
            byte[] junk = Arrays.copyOf(good, good.length);
            junk[random.nextInt(junk.length)] = (byte) random.nextInt(256);
            try {
                codec.decodeDelta(junk);
            } catch (CodecException expected) {
                assertTrue(expected.reason() != null);
            }
        }
    }

    @Test
    void aTransferredRecordWithAHexIdAndTwoValuesDecodesInFewAllocatedBytes() {
        // What a state transfer decodes once per session: a 32-digit id, two small values. 608 bytes on JDK 17 with
        // compressed pointers; 688 with a string builder per id and a map table sized for sixteen entries.
        SessionRecord record = new SessionRecord("0123456789ABCDEF0123456789ABCDEF", 7,
                SessionMetadata.created(1_700_000_000_000L, 1800),
                Map.of("user", "user42".getBytes(StandardCharsets.UTF_8), "count", new byte[] {1, 42}));
        byte[] bytes = codec.encodeRecord(record);
        ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        int n = 20_000;
        long sink = 0;
        for (int i = 0; i < n; i++) { // warm-up: compiled code allocates what it keeps
            sink += codec.decodeRecord(bytes).version();
        }
        long before = threads.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < n; i++) {
            sink += codec.decodeRecord(bytes).version();
        }
        long perRecord = (threads.getCurrentThreadAllocatedBytes() - before) / n;
        assertEquals(2L * n * 7, sink);
        assertTrue(perRecord <= 640, "bytes allocated per decoded record: " + perRecord);
    }

    @Test
    void recordsAndDeltasShareOneStringPerAttributeName() {
        // a state transfer decodes every session: each replica keeping its own copy of every name added up
        SessionMetadata md = SessionMetadata.created(1_700_000_000_000L, 1800);
        Map<String, byte[]> values = Map.of("user", new byte[] {1}, "count", new byte[] {2});
        SessionRecord a = codec.decodeRecord(codec.encodeRecord(new SessionRecord("A1", 1, md, values)));
        SessionRecord b = codec.decodeRecord(codec.encodeRecord(new SessionRecord("B2", 1, md, values)));
        for (String name : a.attributeNames()) {
            String same = b.attributeNames().stream().filter(name::equals).findFirst().orElseThrow();
            assertSame(name, same, name);
        }
        String longName = "n".repeat(SessionCodec.MAX_SHARED_NAME_CHARS + 1);
        SessionRecord c = codec.decodeRecord(codec.encodeRecord(new SessionRecord("C3", 1, md,
                Map.of(longName, new byte[] {3}))));
        SessionRecord d = codec.decodeRecord(codec.encodeRecord(new SessionRecord("D4", 1, md,
                Map.of(longName, new byte[] {3}))));
        assertNotSame(c.attributeNames().iterator().next(), d.attributeNames().iterator().next(),
                "a long name is not kept");
    }
}
