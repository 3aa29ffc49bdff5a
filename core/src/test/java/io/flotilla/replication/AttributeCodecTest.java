package io.flotilla.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.ConfigurationException;
import io.flotilla.replication.CodecException.Reason;
import io.flotilla.replication.fixtures.Cart;
import io.flotilla.replication.fixtures.Color;
import io.flotilla.replication.fixtures.Item;
import io.flotilla.replication.fixtures.Legacy;
import io.flotilla.replication.fixtures.ProbeFlags;
import io.flotilla.replication.fixtures.TwinAllowed;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.Serializable;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.Month;
import java.time.MonthDay;
import java.time.OffsetDateTime;
import java.time.OffsetTime;
import java.time.Period;
import java.time.Year;
import java.time.YearMonth;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Currency;
import java.util.Date;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.LinkedList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class AttributeCodecTest {
    private static final String FIX = "io.flotilla.replication.fixtures.";
    private static final ClassLoader LOADER = AttributeCodecTest.class.getClassLoader();

    private final AttributeCodec codec = new AttributeCodec(CodecConfig.builder()
            .allow(FIX + "Cart", FIX + "Item", FIX + "Color", FIX + "TwinAllowed", FIX + "Legacy")
            .javaSerialization(FIX + "Legacy").build());

    private Object roundTrip(Object value) {
        return codec.decode("a", codec.encode("a", value), LOADER);
    }

    @Test
    void everyDefaultTypeRoundTrips() {
        List<Object> values = new ArrayList<>(List.of(
                true, (byte) 7, (short) -300, 'x', 42, -5_000_000_000L, 1.5f, Math.PI, "h\u00e9llo \u2603",
                new BigDecimal("12345.6789"), new BigInteger("-123456789012345678901234567890"),
                Duration.ofMillis(1234), Instant.ofEpochSecond(1_700_000_000L, 5), LocalDate.of(2024, 2, 29),
                LocalTime.of(13, 14, 15), LocalDateTime.of(2024, 1, 2, 3, 4), OffsetTime.of(1, 2, 3, 0,
                        ZoneOffset.ofHours(2)), OffsetDateTime.of(2024, 1, 2, 3, 4, 5, 0, ZoneOffset.UTC),
                ZonedDateTime.of(2024, 1, 2, 3, 4, 5, 0, ZoneId.of("Europe/Paris")), ZoneOffset.ofHours(-3),
                ZoneId.of("America/New_York"), Year.of(2024), YearMonth.of(2024, 5), MonthDay.of(12, 24),
                Period.of(1, 2, 3), DayOfWeek.FRIDAY, Month.JULY,
                UUID.randomUUID(), new Date(1_700_000_000_000L), Locale.CANADA_FRENCH, Currency.getInstance("EUR"),
                new ArrayList<>(List.of(1, "two")), new LinkedList<>(List.of(3, 4)),
                new HashMap<>(Map.of("k", 1)), new LinkedHashMap<>(Map.of("k", List.of(1))),
                new TreeMap<>(Map.of("b", 2, "a", 1)), new HashSet<>(Set.of(1, 2)),
                new LinkedHashSet<>(List.of("z", "a")), new TreeSet<>(Set.of(3, 1, 2)),
                EnumSet.of(Color.RED, Color.BLUE), EnumSet.noneOf(Color.class), new EnumMap<>(Map.of(Color.GREEN, 1)),
                List.of(), List.of(1), List.of(1, 2, 3), Set.of(), Set.of("s"), Set.of(1, 2, 3), Map.of(),
                Map.of("a", 1), Map.of("a", 1, "b", 2),
                Collections.unmodifiableList(new ArrayList<>(List.of(1))),
                Collections.unmodifiableSet(new HashSet<>(Set.of(1))),
                Collections.unmodifiableMap(new HashMap<>(Map.of(1, 2))),
                Collections.emptyList(), Collections.emptySet(), Collections.emptyMap(),
                Collections.singletonList(9), Collections.singleton(8), Collections.singletonMap("k", "v"),
                Color.BLUE, new Cart("ann", BigDecimal.TEN)));
        values.add(null);
        for (Object v : values) {
            Object back = roundTrip(v);
            assertEquals(v, back, () -> "round trip of " + (v == null ? null : v.getClass()));
        }
        ArrayDeque<Integer> deque = new ArrayDeque<>(List.of(1, 2, 3));
        assertEquals(List.of(1, 2, 3), new ArrayList<>((ArrayDeque<?>) roundTrip(deque)));
        Collection<?> unmodifiable = (Collection<?>) roundTrip(Collections.unmodifiableCollection(List.of(5, 6)));
        assertEquals(List.of(5, 6), new ArrayList<>(unmodifiable));
        assertThrows(UnsupportedOperationException.class, () -> ((List<?>) roundTrip(List.of(1))).clear());
        assertThrows(UnsupportedOperationException.class,
                () -> ((List<?>) roundTrip(Collections.unmodifiableList(new ArrayList<>(List.of(1))))).clear());

        Object[] arrays = {new byte[] {1, -2}, new short[] {3}, new int[] {4, -5}, new long[] {6L << 40},
            new float[] {7.5f}, new double[] {8.25}, new char[] {'c'}, new boolean[] {true, false},
            new String[] {"s", null}, new Object[] {1, "o", null}, new int[][] {{1}, {2, 3}},
            new Color[] {Color.RED}, new Integer[] {1, 2}};
        for (Object a : arrays) {
            Object back = roundTrip(a);
            assertSame(a.getClass(), back.getClass());
            assertTrue(Arrays.deepEquals(new Object[] {a}, new Object[] {back}), () -> "array " + a.getClass());
        }
    }

    @Test
    void applicationGraphsWithSharedReferencesAndCyclesRoundTrip() {
        Cart cart = new Cart("bob", new BigDecimal("19.99"));
        Item item = new Item("SKU-1", "a book", 2, new BigDecimal("9.99"), Color.BLUE);
        cart.items.add(item);
        cart.items.add(item);
        Cart back = (Cart) roundTrip(cart);
        assertEquals(cart, back);
        assertSame(back.items.get(0), back.items.get(1), "shared references stay shared");
        List<Object> cyclic = new ArrayList<>();
        cyclic.add(cyclic);
        List<?> cyclicBack = (List<?>) roundTrip(cyclic);
        assertSame(cyclicBack, cyclicBack.get(0));
    }

    @Test
    void encodingAClassOutsideTheAllowlistNamesAttributeAndClassAndHowToAllowIt() {
        AttributeCodecException e = assertThrows(AttributeCodecException.class,
                () -> codec.encode("cart", new File("x")));
        assertEquals(Reason.NOT_ALLOWED, e.reason());
        assertEquals("cart", e.attributeName());
        assertEquals("java.io.File", e.className());
        assertTrue(e.getMessage().contains("'cart'") && e.getMessage().contains("allowedClasses")
                && e.getMessage().contains("java.io.File"), e.getMessage());
        AttributeCodecException nested = assertThrows(AttributeCodecException.class,
                () -> codec.encode("m", new HashMap<>(Map.of("k", new StringBuilder("x")))));
        assertEquals("java.lang.StringBuilder", nested.className());
        AttributeCodecException lambda = assertThrows(AttributeCodecException.class,
                () -> codec.encode("f", (Runnable & Serializable) () -> { }));
        assertEquals("f", lambda.attributeName());
    }

    /** Bytes of {@code TwinAllowed} rewritten to name {@code TwinRefused}: same length, same shape. */
    private byte[] refusedBytes(Object holder) {
        byte[] bytes = codec.encode("x", holder);
        byte[] from = (FIX + "TwinAllowed").getBytes(StandardCharsets.UTF_8);
        byte[] to = (FIX + "TwinRefused").getBytes(StandardCharsets.UTF_8);
        int at = indexOf(bytes, from, 0);
        assertTrue(at >= 0);
        System.arraycopy(to, 0, bytes, at, to.length);
        return bytes;
    }

    @Test
    void aRefusedClassIsNeitherLoadedNorInitializedNorInstantiatedAlsoWhenNested() {
        RecordingClassLoader loader = new RecordingClassLoader(LOADER);
        List<Object> cases = List.of(new TwinAllowed("t", 1),
                new ArrayList<>(List.of("a", new TwinAllowed("t", 1))),
                new HashMap<>(Map.of("k", new TwinAllowed("t", 2))),
                new Object[] {new TwinAllowed("t", 3)});
        for (Object c : cases) {
            byte[] bytes = refusedBytes(c);
            AttributeCodecException e = assertThrows(AttributeCodecException.class,
                    () -> codec.decode("cart", bytes, loader));
            assertEquals(Reason.NOT_ALLOWED, e.reason());
            assertEquals(FIX + "TwinRefused", e.className());
            assertTrue(e.getMessage().contains("'cart'") && e.getMessage().contains("allowedClasses"), e.getMessage());
        }
        assertFalse(loader.requested.contains(FIX + "TwinRefused"), "the class loader was never asked");
        assertFalse(ProbeFlags.INITIALIZED.get(), "static initializer never ran");
        assertFalse(ProbeFlags.CONSTRUCTED.get(), "constructor never ran");
        // The same bytes with the class allowed do load it: the refusal above was the allowlist's doing.
        AttributeCodec permissive = new AttributeCodec(CodecConfig.builder().allow(FIX + "*").build());
        Object value = permissive.decode("cart", refusedBytes(new TwinAllowed("t", 1)), loader);
        assertEquals(FIX + "TwinRefused", value.getClass().getName());
        assertTrue(loader.requested.contains(FIX + "TwinRefused"));
    }

    @Test
    void javaSerializationOptInRoundTripsUnderTheFilterAndRefusesOthers() {
        Legacy legacy = new Legacy("abc");
        legacy.numbers.add(5);
        legacy.extra = new BigDecimal("1.5");
        Legacy back = (Legacy) roundTrip(legacy);
        assertEquals(legacy, back);
        assertEquals(3, back.derived(), "readObject ran");

        // A refused class smuggled inside the Java-serialized bytes: same-length name swap again.
        Legacy smuggler = new Legacy("abc");
        smuggler.extra = new Legacy("inner");
        byte[] bytes = codec.encode("l", smuggler);
        assertTrue(indexOf(bytes, "ObjectInputStream".getBytes(StandardCharsets.UTF_8), 0) < 0);
        RecordingClassLoader loader = new RecordingClassLoader(LOADER);
        AttributeCodec strict = new AttributeCodec(CodecConfig.builder().allow(FIX + "Cart").build());
        AttributeCodecException e = assertThrows(AttributeCodecException.class,
                () -> strict.decode("l", bytes, loader));
        assertEquals(Reason.NOT_ALLOWED, e.reason());
        assertFalse(loader.requested.contains(FIX + "Legacy"));
    }

    @Test
    void aClassWithItsOwnSerializationContractGoesThroughItWithoutAnOptIn() {
        AttributeCodec plain = new AttributeCodec(CodecConfig.builder().allow(FIX + "*").build());
        Legacy legacy = new Legacy("abcd");
        Legacy back = (Legacy) plain.decode("l", plain.encode("l", legacy), LOADER);
        assertEquals(legacy, back);
        assertEquals(4, back.derived(), "readObject ran: the class's own contract was honoured");
        byte[] javaMagic = {(byte) 0xAC, (byte) 0xED};
        assertTrue(indexOf(plain.encode("l", legacy), javaMagic, 0) >= 0);
        assertTrue(indexOf(plain.encode("c", new Cart("c", BigDecimal.ONE)), javaMagic, 0) < 0,
                "a class without a contract stays on Kryo's fast path");
    }

    @Test
    void aClassOutsideTheAllowlistInsideAJavaSerializedValueIsRefusedAtEncodeNamingIt() {
        Legacy legacy = new Legacy("x");
        legacy.extra = new File("secret");
        AttributeCodecException e = assertThrows(AttributeCodecException.class, () -> codec.encode("legacy", legacy));
        assertEquals(Reason.NOT_ALLOWED, e.reason());
        assertEquals("legacy", e.attributeName());
        assertEquals("java.io.File", e.className());
        assertTrue(e.getMessage().contains("allow(\"java.io.File\")"), e.getMessage());
    }

    @Test
    void aValueThatCannotBeDecodedNamesTheAttributeAndTheClassBeingRead() {
        Cart cart = new Cart("ann", BigDecimal.TEN);
        byte[] bytes = codec.encode("cart", cart);
        byte[] truncated = Arrays.copyOf(bytes, bytes.length - 3);
        AttributeCodecException e = assertThrows(AttributeCodecException.class,
                () -> codec.decode("cart", truncated, LOADER));
        assertEquals("cart", e.attributeName());
        assertTrue(e.className() != null && e.getMessage().contains("'cart'"), e.getMessage());
    }

    @Test
    void objectsSharedBetweenJavaSerializedPartsOfOneValueStayShared() {
        Legacy shared = new Legacy("shared");
        List<Object> value = new ArrayList<>(List.of(Collections.synchronizedList(new ArrayList<>(List.of(shared))),
                Collections.synchronizedList(new ArrayList<>(List.of(shared)))));
        List<?> back = (List<?>) roundTrip(value);
        assertSame(((List<?>) back.get(0)).get(0), ((List<?>) back.get(1)).get(0));
    }

    @Test
    void classNamesAreWrittenOncePerValue() {
        Cart cart = new Cart("c", BigDecimal.ONE);
        for (int i = 0; i < 5; i++) {
            cart.items.add(new Item("s" + i, "d", i, BigDecimal.ONE, Color.values()[i % 3]));
        }
        List<Object> list = new ArrayList<>(cart.items);
        list.add(cart);
        byte[] bytes = codec.encode("cart", list);
        assertEquals(1, count(bytes, (FIX + "Item").getBytes(StandardCharsets.UTF_8)));
        assertEquals(1, count(bytes, (FIX + "Cart").getBytes(StandardCharsets.UTF_8)));
        assertEquals(1, count(bytes, (FIX + "Color").getBytes(StandardCharsets.UTF_8)));
        assertEquals(0, count(bytes, "java.".getBytes(StandardCharsets.UTF_8)), "JDK types go by tag");
        assertEquals(list, codec.decode("cart", bytes, LOADER));
        // Every value is a message of its own: the next one names its classes again.
        assertEquals(1, count(codec.encode("cart", list), (FIX + "Item").getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void anIntegerIsTwoBytes() {
        assertEquals(2, codec.encode("n", 42).length);
    }

    // ---- caps and hostile lengths ----

    /** The first two bytes of the encoding of {@code sample}: its class tag and the "new object" reference marker. */
    private byte[] prefix(Object sample) {
        byte[] b = codec.encode("p", sample);
        assertTrue(b.length > 2 && b[0] > 1 && b[1] == 1, () -> "unexpected encoding " + Arrays.toString(b));
        return Arrays.copyOf(b, 2);
    }

    private static byte[] concat(byte[] a, byte[] b, int filler) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(a);
        out.writeBytes(b);
        out.writeBytes(new byte[filler]);
        return out.toByteArray();
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

    private void assertRefusedForLength(String what, byte[] bytes) {
        AttributeCodecException e = assertThrows(AttributeCodecException.class,
                () -> codec.decode("h", bytes, LOADER), what);
        assertEquals(Reason.LIMIT_EXCEEDED, e.reason(), () -> what + ": " + e.getMessage());
    }

    @Test
    void declaredLengthsBeyondTheCapOrTheRemainingBytesAreRefusedBeforeAllocation() {
        byte[] huge = varint(0x7FFF_FFFFL); // 2^31 - 1: length + 1, so 2^31 - 2 elements
        byte[] thousand = varint(1001);
        // Prefixes: [tag, reference marker] taken from real encodings with one short element.
        byte[] bytesPrefix = prefix(new byte[] {7});
        byte[] intsPrefix = prefix(new int[] {7});
        byte[] longsPrefix = prefix(new long[] {7});
        byte[] objectsPrefix = prefix(new Object[0]);
        byte[] stringsPrefix = prefix(new String[0]);
        byte[] listPrefix = prefix(new ArrayList<>(List.of(1)));
        byte[] mapPrefix = prefix(new HashMap<>(Map.of(1, 1)));
        byte[] treePrefix = prefix(new TreeSet<>(Set.of(1)));
        byte[] immutablePrefix = prefix(List.of(1));
        for (byte[] len : List.of(huge, thousand)) {
            assertRefusedForLength("byte[]", concat(bytesPrefix, len, 10));
            assertRefusedForLength("int[]", concat(intsPrefix, len, 10));
            assertRefusedForLength("long[]", concat(longsPrefix, len, 10));
            assertRefusedForLength("Object[]", concat(objectsPrefix, len, 10));
            assertRefusedForLength("String[]", concat(stringsPrefix, len, 10));
            assertRefusedForLength("ArrayList", concat(listPrefix, len, 10));
            assertRefusedForLength("HashMap", concat(mapPrefix, len, 10));
            assertRefusedForLength("TreeSet", concat(treePrefix, len, 10));
        }
        assertRefusedForLength("List.of", concat(immutablePrefix, varint(0x7FFF_FFFFL), 10));
        // A UTF-8 string declaring 2^31 - 2 characters: flag byte 0xC0 (UTF-8, more), then 7-bit groups.
        byte[] stringPrefix = prefix("\u00e9");
        byte[] utf8Huge = {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x0F};
        assertRefusedForLength("String", concat(stringPrefix, utf8Huge, 10));
        // A class name of 2^31 bytes.
        assertRefusedForLength("class name", concat(new byte[] {1}, huge, 10));
    }

    @Test
    void capsBelowTheInputSizeAreEnforcedBothWays() {
        AttributeCodec strict = new AttributeCodec(CodecConfig.builder().maxCollectionSize(10).maxArrayLength(10)
                .maxStringLength(16).build());
        AttributeCodec lenient = new AttributeCodec(CodecConfig.defaults());
        List<Object> tooBig = List.of(new ArrayList<>(Collections.nCopies(11, 1)),
                mapOf(11),
                new byte[11], new int[11], new String[11], "seventeen chars!!", "\u00e9".repeat(17));
        for (Object v : tooBig) {
            byte[] bytes = lenient.encode("v", v);
            AttributeCodecException e = assertThrows(AttributeCodecException.class,
                    () -> strict.decode("v", bytes, LOADER), () -> "decode " + v.getClass());
            assertEquals(Reason.LIMIT_EXCEEDED, e.reason(), e.getMessage());
        }
        assertThrows(AttributeCodecException.class, () -> strict.encode("v", new ArrayList<>(Collections.nCopies(11, 1))));
        assertEquals(Collections.nCopies(10, 1), strict.decode("v",
                strict.encode("v", new ArrayList<>(Collections.nCopies(10, 1))), LOADER));
    }

    @Test
    void tooDeepNestingIsRefusedOnWriteAndOnRead() {
        AttributeCodec strict = new AttributeCodec(CodecConfig.builder().maxDepth(20).build());
        AttributeCodec lenient = new AttributeCodec(CodecConfig.builder().maxDepth(200).build());
        List<Object> deep = new ArrayList<>();
        List<Object> cur = deep;
        for (int i = 0; i < 50; i++) {
            List<Object> next = new ArrayList<>();
            cur.add(next);
            cur = next;
        }
        AttributeCodecException w = assertThrows(AttributeCodecException.class, () -> strict.encode("d", deep));
        assertEquals(Reason.LIMIT_EXCEEDED, w.reason());
        byte[] bytes = lenient.encode("d", deep);
        AttributeCodecException r = assertThrows(AttributeCodecException.class, () -> strict.decode("d", bytes, LOADER));
        assertEquals(Reason.LIMIT_EXCEEDED, r.reason(), r.getMessage());
        assertTrue(r.getMessage().contains("maxDepth"), r.getMessage());
        assertEquals(deep, lenient.decode("d", bytes, LOADER));
    }

    @Test
    void truncatedAndGarbageInputGiveMalformedNeverAnError() {
        byte[] good = codec.encode("c", new Cart("x", BigDecimal.ONE));
        for (int cut = 0; cut < good.length; cut++) {
            byte[] truncated = Arrays.copyOf(good, cut);
            AttributeCodecException e = assertThrows(AttributeCodecException.class,
                    () -> codec.decode("c", truncated, LOADER));
            assertNotSame(null, e.reason());
        }
        Random random = new Random(7);
        for (int i = 0; i < 2000; i++) {
            byte[] junk = new byte[random.nextInt(40)];
            random.nextBytes(junk);
            try {
                codec.decode("j", junk, LOADER);
            } catch (AttributeCodecException expected) {
                assertNotSame(null, expected.reason());
            }
        }
        assertNull(codec.decode("n", codec.encode("n", null), LOADER));
    }

    @Test
    void configRefusesBadValuesNamingThem() {
        ConfigurationException e = assertThrows(ConfigurationException.class,
                () -> CodecConfig.builder().allow("com.example.**.x").build());
        assertTrue(e.getMessage().startsWith("allowedClasses=com.example.**.x is invalid"), e.getMessage());
        assertThrows(ConfigurationException.class, () -> CodecConfig.builder().allow("*").build());
        assertThrows(ConfigurationException.class, () -> CodecConfig.builder().maxDepth(1).build());
        e = assertThrows(ConfigurationException.class,
                () -> CodecConfig.builder().javaSerialization("com.example.Cart").build());
        assertTrue(e.getMessage().contains("javaSerializationClasses"), e.getMessage());
        assertTrue(CodecConfig.builder().allow("com.example.*").javaSerialization("com.example.Cart").build()
                .javaSerializationClasses().contains("com.example.Cart"));
    }

    @Test
    void allowlistPatterns() {
        ClassAllowlist a = ClassAllowlist.of(List.of("com.example.Cart", "org.shop.*", "net.app.**"));
        assertTrue(a.isAllowed("com.example.Cart"));
        assertFalse(a.isAllowed("com.example.Cart2"));
        assertFalse(a.isAllowed("com.example.Other"));
        assertTrue(a.isAllowed("org.shop.Order"));
        assertTrue(a.isAllowed("org.shop.Order$Line"));
        assertFalse(a.isAllowed("org.shop.sub.Order"));
        assertTrue(a.isAllowed("net.app.Order"));
        assertTrue(a.isAllowed("net.app.deep.er.Order"));
        assertFalse(a.isAllowed("net.apple.Order"));
        assertTrue(a.isAllowed("[Lcom.example.Cart;"));
        assertTrue(a.isAllowed("[[I"));
        assertTrue(a.isAllowed("[Ljava.lang.String;"));
        assertFalse(a.isAllowed("[Ljava.lang.Runtime;"));
        assertFalse(a.isAllowed("[X"));
        assertFalse(a.isAllowed("java.lang.Runtime"));
        assertTrue(a.isAllowed("java.lang.Integer"));
    }

    private static Map<Integer, Integer> mapOf(int n) {
        Map<Integer, Integer> m = new HashMap<>();
        for (int i = 0; i < n; i++) {
            m.put(i, i);
        }
        return m;
    }

    static int indexOf(byte[] hay, byte[] needle, int from) {
        outer:
        for (int i = from; i <= hay.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    static int count(byte[] hay, byte[] needle) {
        int n = 0;
        for (int i = indexOf(hay, needle, 0); i >= 0; i = indexOf(hay, needle, i + 1)) {
            n++;
        }
        return n;
    }

    /** Records every class name it is asked for. */
    static final class RecordingClassLoader extends ClassLoader {
        final Set<String> requested = Collections.synchronizedSet(new HashSet<>());

        RecordingClassLoader(ClassLoader parent) {
            super(parent);
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            requested.add(name);
            return super.loadClass(name, resolve);
        }
    }
}
