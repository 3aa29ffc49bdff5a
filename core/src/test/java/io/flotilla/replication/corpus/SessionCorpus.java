package io.flotilla.replication.corpus;

import java.io.Externalizable;
import java.io.IOException;
import java.io.ObjectInput;
import java.io.ObjectInputStream;
import java.io.ObjectOutput;
import java.io.ObjectOutputStream;
import java.io.ObjectStreamField;
import java.io.Serializable;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;
import java.net.URI;
import java.net.URL;
import java.sql.Time;
import java.sql.Timestamp;
import java.text.ChoiceFormat;
import java.text.DecimalFormat;
import java.text.MessageFormat;
import java.text.SimpleDateFormat;
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
import java.time.chrono.JapaneseDate;
import java.time.chrono.ThaiBuddhistDate;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Calendar;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.Currency;
import java.util.Date;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.GregorianCalendar;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Hashtable;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.LinkedList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.Properties;
import java.util.Queue;
import java.util.Set;
import java.util.SimpleTimeZone;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.Stack;
import java.util.TimeZone;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.Vector;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.springframework.security.authentication.BadCredentialsException;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.authority.AuthorityUtils;
import org.springframework.security.core.context.SecurityContextImpl;
import org.springframework.security.core.userdetails.User;

/**
 * The conformance corpus of issue 11: session attribute values of distinct shapes that real applications keep,
 * each with the behaviour a copy must show beyond equality. Used by Flotilla's corpus test (core) and by the
 * side-by-side test against stock {@code DeltaManager} (tomcat-adapter). The application classes below are
 * admitted with {@link #ALLOWED}.
 *
 * <p>Threading: {@link #shapes()} builds fresh values on each call.
 */
public final class SessionCorpus {
    /** The allowlist patterns the corpus needs beyond the defaults. */
    public static final List<String> ALLOWED = List.of("io.flotilla.replication.corpus.*",
            "org.springframework.security.**");

    private SessionCorpus() {
    }

    /**
     * One shape: a name, a fresh value, and an optional check of behaviour (null when the copy behaves).
     */
    public record Shape(String name, Supplier<Object> value, BiFunction<Object, Object, String> check) {
    }

    /** Two attributes of one session that share one object, the shape per-attribute codecs cannot keep. */
    public static Map<String, Object> sharedBetweenAttributes() {
        Cart cart = new Cart("shared");
        cart.add(new Line("sku-1", 2));
        Map<String, Object> attributes = new LinkedHashMap<>();
        attributes.put("cart", cart);
        attributes.put("lastCart", cart);
        return attributes;
    }

    /**
     * Several attributes of one session set in one request, and a check of the identities the copies must keep
     * (null when kept; the argument is the copies by attribute name).
     */
    public record SessionShape(String name, Supplier<Map<String, Object>> attributes,
            Function<Map<String, Object>, String> check) {
    }

    /** The shapes in which attributes of one session share objects (issue 11: "shared references between attributes"). */
    public static List<SessionShape> sessionShapes() {
        List<SessionShape> s = new ArrayList<>();
        s.add(new SessionShape("two attributes holding one object", SessionCorpus::sharedBetweenAttributes,
                c -> c.get("cart") == c.get("lastCart") ? null : "two copies"));
        s.add(new SessionShape("two attributes sharing a nested object", () -> {
            Line line = new Line("sku-1", 1);
            Cart a = new Cart("a");
            Cart b = new Cart("b");
            a.add(line);
            b.add(line);
            return attributes("a", a, "b", b);
        }, c -> ((Cart) c.get("a")).lines.get(0) == ((Cart) c.get("b")).lines.get(0) ? null : "two copies"));
        s.add(new SessionShape("cycle across two attributes", () -> {
            Node a = new Node("a");
            Node b = new Node("b");
            a.next = b;
            b.next = a;
            return attributes("a", a, "b", b);
        }, c -> ((Node) c.get("a")).next == c.get("b") && ((Node) c.get("b")).next == c.get("a") ? null
                : "cycle broken"));
        s.add(new SessionShape("object in a Java-serialized attribute and alone", () -> {
            Invariant shared = new Invariant("s");
            return attributes("list", Collections.synchronizedList(new ArrayList<>(List.of(shared))), "one", shared);
        }, c -> ((List<?>) c.get("list")).get(0) == c.get("one") ? null : "two copies"));
        s.add(new SessionShape("plain object in a JDK wrapper attribute and alone", () -> {
            Cart cart = new Cart("w");
            return attributes("carts", Collections.synchronizedList(new ArrayList<>(List.of(cart))), "cart", cart);
        }, c -> ((List<?>) c.get("carts")).get(0) == c.get("cart") ? null : "two copies"));
        s.add(new SessionShape("shared object plus an unrelated attribute", () -> {
            Map<String, Object> m = sharedBetweenAttributes();
            m.put("other", new Cart("other"));
            return m;
        }, c -> c.get("cart") == c.get("lastCart") && c.get("other") != c.get("cart") ? null : "sharing changed"));
        return s;
    }

    private static Map<String, Object> attributes(String k1, Object v1, String k2, Object v2) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(k1, v1);
        m.put(k2, v2);
        return m;
    }

    @SuppressWarnings("checkstyle:fullyQualifiedName") // java.util.Date is imported
    public static List<Shape> shapes() {
        List<Shape> s = new ArrayList<>();
        // java.lang and java.math values
        add(s, "Boolean", () -> true);
        add(s, "Byte", () -> (byte) -7);
        add(s, "Short", () -> (short) 300);
        add(s, "Character", () -> '\u2603');
        add(s, "Integer", () -> 42);
        add(s, "Long", () -> Long.MIN_VALUE);
        add(s, "Float NaN", () -> Float.NaN);
        add(s, "Double -0.0", () -> -0.0d);
        add(s, "String empty", () -> "");
        add(s, "String unicode", () -> "h\u00e9llo \ud83d\ude00 \u4e16\u754c");
        add(s, "BigDecimal scale", () -> new BigDecimal("12.3400"));
        add(s, "BigInteger", () -> new BigInteger("-123456789012345678901234567890"));
        add(s, "MathContext", () -> new MathContext(7, RoundingMode.HALF_EVEN));
        add(s, "RoundingMode", () -> RoundingMode.CEILING);
        // java.time
        add(s, "Duration", () -> Duration.ofSeconds(90061, 5));
        add(s, "Instant", () -> Instant.ofEpochSecond(1_700_000_000L, 123_456_789));
        add(s, "LocalDate", () -> LocalDate.of(2024, 2, 29));
        add(s, "LocalTime", () -> LocalTime.of(23, 59, 59, 999_999_999));
        add(s, "LocalDateTime", () -> LocalDateTime.of(2024, 1, 2, 3, 4, 5, 6));
        add(s, "OffsetTime", () -> OffsetTime.of(1, 2, 3, 4, ZoneOffset.ofHoursMinutes(5, 30)));
        add(s, "OffsetDateTime", () -> OffsetDateTime.of(2024, 1, 2, 3, 4, 5, 0, ZoneOffset.ofHours(-8)));
        add(s, "ZonedDateTime region", () -> ZonedDateTime.of(2024, 7, 14, 12, 0, 0, 0, ZoneId.of("Europe/Paris")));
        add(s, "ZonedDateTime DST overlap later offset", () -> ZonedDateTime.of(2024, 10, 27, 2, 30, 0, 0,
                ZoneId.of("Europe/Paris")).withLaterOffsetAtOverlap());
        add(s, "ZonedDateTime offset zone", () -> ZonedDateTime.of(2024, 1, 1, 0, 0, 0, 0, ZoneOffset.ofHours(3)));
        add(s, "ZoneOffset", () -> ZoneOffset.ofHoursMinutes(-3, -30));
        add(s, "ZoneRegion", () -> ZoneId.of("America/New_York"));
        add(s, "Year", () -> Year.of(2024));
        add(s, "YearMonth", () -> YearMonth.of(2024, 5));
        add(s, "MonthDay", () -> MonthDay.of(2, 29));
        add(s, "Period", () -> Period.of(1, -2, 3));
        add(s, "DayOfWeek", () -> DayOfWeek.SUNDAY);
        add(s, "Month", () -> Month.FEBRUARY);
        add(s, "ChronoUnit", () -> ChronoUnit.MILLIS);
        add(s, "JapaneseDate", () -> JapaneseDate.of(2024, 3, 1));
        add(s, "ThaiBuddhistDate", () -> ThaiBuddhistDate.of(2567, 3, 1));
        // java.util and java.sql dates, calendars and zones
        add(s, "Date", () -> new Date(1_700_000_000_123L));
        add(s, "sql Timestamp nanos", () -> {
            Timestamp t = new Timestamp(1_700_000_000_000L);
            t.setNanos(123_456_789);
            return t;
        });
        add(s, "sql Date", () -> java.sql.Date.valueOf("2024-02-29"));
        add(s, "sql Time", () -> Time.valueOf("13:14:15"));
        add(s, "GregorianCalendar", () -> {
            GregorianCalendar c = new GregorianCalendar(TimeZone.getTimeZone("Asia/Tokyo"), Locale.JAPAN);
            c.setTimeInMillis(1_700_000_000_000L);
            c.setFirstDayOfWeek(Calendar.MONDAY);
            return c;
        }, (a, b) -> ((Calendar) a).get(Calendar.YEAR) == ((Calendar) b).get(Calendar.YEAR) ? null : "year");
        add(s, "Buddhist calendar", () -> {
            Calendar c = Calendar.getInstance(TimeZone.getTimeZone("Asia/Bangkok"), new Locale("th", "TH"));
            c.setTimeInMillis(1_700_000_000_000L);
            return c;
        }, (a, b) -> ((Calendar) a).get(Calendar.YEAR) == ((Calendar) b).get(Calendar.YEAR) ? null
                : "year " + ((Calendar) b).get(Calendar.YEAR) + " instead of " + ((Calendar) a).get(Calendar.YEAR));
        add(s, "Japanese imperial calendar", () -> {
            Calendar c = Calendar.getInstance(TimeZone.getTimeZone("Asia/Tokyo"), new Locale("ja", "JP", "JP"));
            c.setTimeInMillis(1_700_000_000_000L);
            return c;
        }, (a, b) -> ((Calendar) a).get(Calendar.ERA) == ((Calendar) b).get(Calendar.ERA) ? null : "era");
        add(s, "TimeZone", () -> TimeZone.getTimeZone("Europe/Berlin"));
        add(s, "SimpleTimeZone", () -> new SimpleTimeZone(3_600_000, "custom", Calendar.MARCH, -1, Calendar.SUNDAY,
                7_200_000, Calendar.OCTOBER, -1, Calendar.SUNDAY, 7_200_000));
        // Locale, Currency, UUID, net, text, regex
        add(s, "Locale en_US", () -> Locale.US);
        add(s, "Locale root", () -> Locale.ROOT);
        add(s, "Locale ja_JP_JP", () -> new Locale("ja", "JP", "JP"));
        add(s, "Locale th_TH_TH", () -> new Locale("th", "TH", "TH"));
        add(s, "Locale script", () -> Locale.forLanguageTag("zh-Hant-TW"));
        add(s, "Locale extensions", () -> Locale.forLanguageTag("de-DE-u-co-phonebk-x-lvariant-POSIX"));
        add(s, "Locale unicode keyword", () -> Locale.forLanguageTag("th-TH-u-nu-thai"));
        add(s, "Currency", () -> Currency.getInstance("JPY"));
        add(s, "UUID", () -> new UUID(0x1234_5678_9abc_def0L, 0x0fed_cba9_8765_4321L));
        add(s, "URI", () -> URI.create("https://user@127.0.0.1:8443/p/a%20th?q=1#frag"));
        add(s, "URL", () -> {
            try {
                return new URL("http://127.0.0.1:8080/shop?x=1");
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        add(s, "Pattern with flags", () -> Pattern.compile("a+b*", Pattern.CASE_INSENSITIVE | Pattern.MULTILINE),
                (a, b) -> ((Pattern) b).matcher("AAB").matches() && ((Pattern) a).flags() == ((Pattern) b).flags()
                        ? null : "pattern behaves differently");
        add(s, "SimpleDateFormat", () -> new SimpleDateFormat("yyyy-MM-dd HH:mm zzz", Locale.GERMANY),
                (a, b) -> ((SimpleDateFormat) a).format(new Date(0)).equals(((SimpleDateFormat) b).format(new Date(0)))
                        ? null : "formats differently");
        add(s, "DecimalFormat", () -> new DecimalFormat("#,##0.00;(#)"),
                (a, b) -> ((DecimalFormat) a).format(-1234.5).equals(((DecimalFormat) b).format(-1234.5)) ? null
                        : "formats differently");
        add(s, "MessageFormat", () -> new MessageFormat("{0} has {1,number,integer} items", Locale.US));
        add(s, "ChoiceFormat", () -> new ChoiceFormat("0#none|1#one|1<many"));
        // atomics
        add(s, "AtomicInteger", () -> new AtomicInteger(5), (a, b) -> ((AtomicInteger) b).get() == 5 ? null : "value");
        add(s, "AtomicLong", () -> new AtomicLong(-5), (a, b) -> ((AtomicLong) b).get() == -5 ? null : "value");
        add(s, "AtomicBoolean", () -> new AtomicBoolean(true), (a, b) -> ((AtomicBoolean) b).get() ? null : "value");
        add(s, "AtomicReference", () -> new AtomicReference<>("ref"),
                (a, b) -> "ref".equals(((AtomicReference<?>) b).get()) ? null : "value");
        add(s, "AtomicIntegerArray", () -> new AtomicIntegerArray(new int[] {1, 2, 3}),
                (a, b) -> a.toString().equals(b.toString()) ? null : "values");
        add(s, "AtomicLongArray", () -> new AtomicLongArray(new long[] {4, 5}),
                (a, b) -> a.toString().equals(b.toString()) ? null : "values");
        add(s, "LongAdder", () -> {
            LongAdder a = new LongAdder();
            a.add(41);
            a.increment();
            return a;
        }, (a, b) -> ((LongAdder) b).sum() == 42 ? null : "sum");
        // java.util collections
        add(s, "ArrayList with null", () -> new ArrayList<>(Arrays.asList(1, null, "x")));
        add(s, "LinkedList", () -> new LinkedList<>(List.of(3, 1, 2)));
        add(s, "ArrayDeque", () -> new ArrayDeque<>(List.of("a", "b")),
                (a, b) -> new ArrayList<>((Collection<?>) a).equals(new ArrayList<>((Collection<?>) b)) ? null
                        : "order");
        add(s, "HashMap", () -> hashMap("a", 1, "b", 2, "c", 3));
        add(s, "HashMap null key", () -> {
            Map<String, Integer> m = new HashMap<>();
            m.put(null, 0);
            m.put("k", null);
            return m;
        });
        add(s, "HashMap 13 entries", () -> {
            Map<Integer, Integer> m = new HashMap<>();
            for (int i = 0; i < 13; i++) {
                m.put(i * 31, i);
            }
            return m;
        }, SessionCorpus::sameIterationOrder);
        add(s, "LinkedHashMap insertion order", () -> {
            Map<String, Integer> m = new LinkedHashMap<>();
            m.put("z", 1);
            m.put("a", 2);
            return m;
        }, SessionCorpus::sameIterationOrder);
        add(s, "LinkedHashMap access order", () -> {
            LinkedHashMap<String, Integer> m = new LinkedHashMap<>(16, 0.75f, true);
            m.put("a", 1);
            m.put("b", 2);
            m.put("c", 3);
            m.get("a");
            return m;
        }, SessionCorpus::accessOrderKept);
        add(s, "LinkedHashMap access order empty", () -> new LinkedHashMap<String, Integer>(16, 0.75f, true),
                SessionCorpus::accessOrderKept);
        add(s, "LRU LinkedHashMap subclass", () -> {
            LruCache c = new LruCache(2);
            c.put("a", 1);
            c.put("b", 2);
            c.get("a");
            return c;
        }, (a, b) -> {
            LruCache c = (LruCache) b;
            c.put("c", 3);
            return c.keySet().equals(Set.of("a", "c")) ? null : "evicted " + c.keySet();
        });
        add(s, "TreeMap natural", () -> new TreeMap<>(Map.of("b", 2, "a", 1)));
        add(s, "TreeMap reverseOrder", () -> {
            TreeMap<String, Integer> m = new TreeMap<>(Comparator.reverseOrder());
            m.put("a", 1);
            m.put("b", 2);
            return m;
        }, SessionCorpus::sortedMapOrder);
        add(s, "TreeMap CASE_INSENSITIVE_ORDER", () -> {
            TreeMap<String, Integer> m = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
            m.put("B", 1);
            m.put("a", 2);
            return m;
        }, SessionCorpus::sortedMapOrder);
        add(s, "TreeMap application comparator", () -> {
            TreeMap<String, Integer> m = new TreeMap<>(new ByLength());
            m.put("ccc", 3);
            m.put("a", 1);
            return m;
        }, SessionCorpus::sortedMapOrder);
        add(s, "TreeSet natural", () -> new TreeSet<>(Set.of(3, 1, 2)));
        add(s, "TreeSet reverseOrder(cmp)", () -> {
            TreeSet<String> t = new TreeSet<>(Collections.reverseOrder(new ByLength()));
            t.addAll(List.of("a", "bbb", "cc"));
            return t;
        }, SessionCorpus::sortedSetOrder);
        add(s, "TreeSet nullsFirst(naturalOrder)", () -> {
            TreeSet<String> t = new TreeSet<>(Comparator.nullsFirst(Comparator.<String>naturalOrder()));
            t.addAll(List.of("b", "a"));
            return t;
        }, SessionCorpus::sortedSetOrder);
        add(s, "HashSet", () -> filled(new HashSet<>(), "x", "y", "z"));
        add(s, "LinkedHashSet", () -> filled(new LinkedHashSet<>(), "z", "a", "m"), SessionCorpus::sameIterationOrder);
        add(s, "EnumSet some", () -> EnumSet.of(Level.LOW, Level.HIGH));
        add(s, "EnumSet none", () -> EnumSet.noneOf(Level.class), (a, b) -> {
            @SuppressWarnings("unchecked")
            EnumSet<Level> copy = (EnumSet<Level>) b;
            copy.add(Level.MID);
            return copy.contains(Level.MID) ? null : "element type";
        });
        add(s, "EnumSet all", () -> EnumSet.allOf(Level.class));
        add(s, "EnumSet of 70 constants", () -> EnumSet.of(Wide.W0, Wide.W69));
        add(s, "EnumMap", () -> new EnumMap<>(Map.of(Level.LOW, "l", Level.HIGH, "h")));
        add(s, "EnumMap empty", () -> new EnumMap<Level, String>(Level.class), (a, b) -> {
            @SuppressWarnings("unchecked")
            EnumMap<Level, String> copy = (EnumMap<Level, String>) b;
            copy.put(Level.MID, "m");
            return "m".equals(copy.get(Level.MID)) ? null : "key type";
        });
        add(s, "IdentityHashMap", () -> new IdentityHashMap<>(Map.of("k", 1)));
        add(s, "Hashtable", () -> {
            Hashtable<String, Integer> t = new Hashtable<>();
            t.put("k", 1);
            t.put("j", 2);
            return t;
        });
        add(s, "Vector", () -> new Vector<>(List.of(1, 2)));
        add(s, "Stack", () -> {
            Stack<String> st = new Stack<>();
            st.push("a");
            st.push("b");
            return st;
        });
        add(s, "Properties with defaults", () -> {
            Properties defaults = new Properties();
            defaults.setProperty("colour", "blue");
            Properties p = new Properties(defaults);
            p.setProperty("size", "L");
            return p;
        }, (a, b) -> "blue".equals(((Properties) b).getProperty("colour")) ? null : "defaults lost");
        add(s, "BitSet", () -> BitSet.valueOf(new long[] {0b1011, 1L << 63}));
        add(s, "PriorityQueue natural", () -> new PriorityQueue<>(List.of(5, 1, 3)), SessionCorpus::pollOrder);
        add(s, "PriorityQueue comparator", () -> {
            PriorityQueue<Integer> q = new PriorityQueue<>(Comparator.reverseOrder());
            q.addAll(List.of(5, 1, 3));
            return q;
        }, SessionCorpus::pollOrder);
        add(s, "ConcurrentHashMap", () -> new ConcurrentHashMap<>(Map.of("a", 1, "b", 2)));
        add(s, "ConcurrentSkipListMap comparator", () -> {
            ConcurrentSkipListMap<String, Integer> m = new ConcurrentSkipListMap<>(Comparator.reverseOrder());
            m.put("a", 1);
            m.put("b", 2);
            return m;
        }, SessionCorpus::sortedMapOrder);
        add(s, "ConcurrentSkipListSet", () -> new ConcurrentSkipListSet<>(List.of(3, 1)));
        add(s, "CopyOnWriteArrayList", () -> new CopyOnWriteArrayList<>(List.of(1, 2)));
        add(s, "CopyOnWriteArraySet", () -> new CopyOnWriteArraySet<>(List.of(1, 2)));
        add(s, "ConcurrentLinkedQueue", () -> new ConcurrentLinkedQueue<>(List.of(1, 2)), SessionCorpus::pollOrder);
        add(s, "ConcurrentLinkedDeque", () -> new ConcurrentLinkedDeque<>(List.of(1, 2)), SessionCorpus::pollOrder);
        add(s, "LinkedBlockingQueue", () -> new LinkedBlockingQueue<>(List.of(1, 2)), SessionCorpus::pollOrder);
        add(s, "LinkedBlockingDeque", () -> new LinkedBlockingDeque<>(List.of(1, 2)), SessionCorpus::pollOrder);
        add(s, "ArrayBlockingQueue", () -> new ArrayBlockingQueue<>(4, true, List.of(1, 2)), (a, b) ->
                ((ArrayBlockingQueue<?>) b).remainingCapacity() == 2 ? pollOrder(a, b) : "capacity");
        add(s, "PriorityBlockingQueue", () -> new PriorityBlockingQueue<>(List.of(3, 1, 2)), SessionCorpus::pollOrder);
        // wrappers, views and immutable collections
        add(s, "unmodifiableCollection", () -> Collections.unmodifiableCollection(new ArrayList<>(List.of(1, 2))),
                SessionCorpus::sameIterationOrder);
        add(s, "unmodifiableList(ArrayList)", () -> Collections.unmodifiableList(new ArrayList<>(List.of(1, 2))));
        add(s, "unmodifiableList(LinkedList)", () -> Collections.unmodifiableList(new LinkedList<>(List.of(1, 2))));
        add(s, "unmodifiableSet(TreeSet)", () -> Collections.unmodifiableSet(new TreeSet<>(Set.of(2, 1))));
        add(s, "unmodifiableSortedSet", () -> Collections.unmodifiableSortedSet(new TreeSet<>(Set.of(2, 1))));
        add(s, "unmodifiableNavigableSet", () -> Collections.unmodifiableNavigableSet(new TreeSet<>(Set.of(2, 1))));
        add(s, "unmodifiableMap(LinkedHashMap)", () -> Collections.unmodifiableMap(hashMap(1, 2)));
        add(s, "unmodifiableSortedMap", () -> Collections.unmodifiableSortedMap(new TreeMap<>(Map.of(1, 2))));
        add(s, "unmodifiableNavigableMap", () -> Collections.unmodifiableNavigableMap(new TreeMap<>(Map.of(1, 2))));
        add(s, "synchronizedCollection", () -> Collections.synchronizedCollection(new ArrayList<>(List.of(1))),
                SessionCorpus::mutexWorks);
        add(s, "synchronizedList", () -> Collections.synchronizedList(new ArrayList<>(List.of(1))),
                SessionCorpus::mutexWorks);
        add(s, "synchronizedList(LinkedList)", () -> Collections.synchronizedList(new LinkedList<>(List.of(1))),
                SessionCorpus::mutexWorks);
        add(s, "synchronizedSet (JSP cart)", () -> Collections.synchronizedSet(filled(new HashSet<>(), "book")),
                SessionCorpus::mutexWorks);
        add(s, "synchronizedSortedSet", () -> Collections.synchronizedSortedSet(new TreeSet<>(Set.of(1))),
                SessionCorpus::mutexWorks);
        add(s, "synchronizedNavigableSet", () -> Collections.synchronizedNavigableSet(new TreeSet<>(Set.of(1))),
                SessionCorpus::mutexWorks);
        add(s, "synchronizedMap", () -> Collections.synchronizedMap(hashMap("k", 1)),
                SessionCorpus::mutexWorks);
        add(s, "synchronizedSortedMap", () -> Collections.synchronizedSortedMap(new TreeMap<>(Map.of("k", 1))),
                SessionCorpus::mutexWorks);
        add(s, "synchronizedNavigableMap", () -> Collections.synchronizedNavigableMap(new TreeMap<>(Map.of("k", 1))),
                SessionCorpus::mutexWorks);
        add(s, "checkedCollection", () -> Collections.checkedCollection(new ArrayList<>(List.of("a")), String.class),
                SessionCorpus::typeChecked);
        add(s, "checkedList", () -> Collections.checkedList(new ArrayList<>(List.of("a")), String.class),
                SessionCorpus::typeChecked);
        add(s, "checkedSet", () -> Collections.checkedSet(filled(new HashSet<>(), "a"), String.class),
                SessionCorpus::typeChecked);
        add(s, "checkedSortedSet", () -> Collections.checkedSortedSet(new TreeSet<>(Set.of("a")), String.class),
                SessionCorpus::typeChecked);
        add(s, "checkedNavigableSet", () -> Collections.checkedNavigableSet(new TreeSet<>(Set.of("a")), String.class),
                SessionCorpus::typeChecked);
        add(s, "checkedQueue", () -> Collections.checkedQueue(new ArrayDeque<>(List.of("a")), String.class),
                SessionCorpus::typeChecked);
        add(s, "checkedMap", () -> Collections.checkedMap(hashMap("a", 1), String.class,
                Integer.class), SessionCorpus::typeChecked);
        add(s, "checkedSortedMap", () -> Collections.checkedSortedMap(new TreeMap<>(Map.of("a", 1)), String.class,
                Integer.class), SessionCorpus::typeChecked);
        add(s, "checkedNavigableMap", () -> Collections.checkedNavigableMap(new TreeMap<>(Map.of("a", 1)),
                String.class, Integer.class), SessionCorpus::typeChecked);
        add(s, "emptyList", Collections::emptyList, SessionCorpus::sameInstance);
        add(s, "emptySet", Collections::emptySet, SessionCorpus::sameInstance);
        add(s, "emptyMap", Collections::emptyMap, SessionCorpus::sameInstance);
        add(s, "emptySortedSet", Collections::emptySortedSet);
        add(s, "emptyNavigableSet", Collections::emptyNavigableSet);
        add(s, "emptySortedMap", Collections::emptySortedMap);
        add(s, "emptyNavigableMap", Collections::emptyNavigableMap);
        add(s, "singleton", () -> Collections.singleton("one"));
        add(s, "singletonList", () -> Collections.singletonList("one"));
        add(s, "singletonMap", () -> Collections.singletonMap("k", "v"));
        add(s, "nCopies", () -> Collections.nCopies(3, "x"));
        add(s, "Arrays.asList", () -> Arrays.asList("a", "b"), (a, b) -> {
            @SuppressWarnings("unchecked")
            List<String> copy = (List<String>) b;
            copy.set(0, "c");
            return "c".equals(copy.get(0)) ? null : "not writable";
        });
        add(s, "List.of()", List::of);
        add(s, "List.of(1)", () -> List.of(1));
        add(s, "List.of(1,2,3)", () -> List.of(1, 2, 3));
        add(s, "Set.of()", Set::of);
        add(s, "Set.of(1)", () -> Set.of(1));
        add(s, "Set.of(1,2,3)", () -> Set.of(1, 2, 3));
        add(s, "Map.of()", Map::of);
        add(s, "Map.of(1 entry)", () -> Map.of("a", 1));
        add(s, "Map.ofEntries(3)", () -> Map.ofEntries(Map.entry("a", 1), Map.entry("b", 2), Map.entry("c", 3)));
        add(s, "List.copyOf", () -> List.copyOf(new ArrayList<>(List.of("x", "y"))));
        add(s, "Collections.reverseOrder()", Collections::reverseOrder, SessionCorpus::sameInstance);
        add(s, "Comparator.naturalOrder()", Comparator::naturalOrder, SessionCorpus::sameInstance);
        add(s, "String.CASE_INSENSITIVE_ORDER", () -> String.CASE_INSENSITIVE_ORDER, SessionCorpus::sameInstance);
        add(s, "nested immutables", () -> Map.of("k", List.of(Set.of(1), Map.of("n", List.of()))));
        // arrays
        add(s, "int[]", () -> new int[] {1, -2, Integer.MAX_VALUE});
        add(s, "byte[]", () -> new byte[] {1, -2});
        add(s, "long[]", () -> new long[] {Long.MIN_VALUE});
        add(s, "double[]", () -> new double[] {Double.NaN, 1.5});
        add(s, "char[]", () -> "chars".toCharArray());
        add(s, "boolean[]", () -> new boolean[] {true, false});
        add(s, "String[] with null", () -> new String[] {"a", null});
        add(s, "Object[] mixed", () -> new Object[] {1, "s", List.of(2), null});
        add(s, "int[][]", () -> new int[][] {{1}, {2, 3}, null});
        add(s, "Integer[]", () -> new Integer[] {1, null});
        add(s, "enum[]", () -> new Level[] {Level.HIGH, Level.LOW});
        add(s, "application object[]", () -> new Line[] {new Line("a", 1), new Line("b", 2)});
        // application classes
        add(s, "Serializable POJO", () -> {
            Cart c = new Cart("ann");
            c.add(new Line("sku-1", 1));
            c.add(new Line("sku-2", 3));
            return c;
        });
        add(s, "record", () -> new Money(new BigDecimal("9.99"), Currency.getInstance("EUR")));
        add(s, "record with compact constructor", () -> new Range(1, 5));
        add(s, "record with readResolve", () -> new Tag("a"), (a, b) -> ((Tag) b).name().equals("A") ? null
                : "readResolve not applied");
        add(s, "enum", () -> Level.MID);
        add(s, "enum with constant body", () -> Operation.PLUS,
                (a, b) -> a == b && ((Operation) b).apply(2, 3) == 5 ? null : "different constant");
        add(s, "writeObject/readObject invariant", () -> new Invariant("abc"),
                (a, b) -> ((Invariant) b).length() == 3 ? null : "readObject did not run");
        add(s, "readResolve singleton", () -> Singleton.INSTANCE, SessionCorpus::sameInstance);
        add(s, "Externalizable", () -> new Ext("payload", 7));
        add(s, "serialPersistentFields", () -> new Persistent("kept", "dropped"),
                (a, b) -> ((Persistent) b).transientLike == null ? null : "a field outside serialPersistentFields");
        add(s, "non-serializable parent", () -> new Child("c", 42));
        add(s, "transient field", () -> new WithTransient("v"));
        add(s, "final fields no default constructor", () -> new Line("sku-9", 9));
        add(s, "cyclic graph", () -> {
            Node a = new Node("a");
            Node b = new Node("b");
            a.next = b;
            b.next = a;
            return a;
        }, (a, b) -> ((Node) b).next.next == b ? null : "cycle broken");
        add(s, "self-containing list", () -> {
            List<Object> l = new ArrayList<>();
            l.add("x");
            l.add(l);
            return l;
        }, (a, b) -> ((List<?>) b).get(1) == b ? null : "cycle broken");
        add(s, "shared reference within a value", () -> {
            Line line = new Line("shared", 1);
            return new ArrayList<>(List.of(line, line));
        }, (a, b) -> ((List<?>) b).get(0) == ((List<?>) b).get(1) ? null : "copies instead of one object");
        add(s, "shared reference inside Java-serialized values", () -> {
            Invariant shared = new Invariant("s");
            return new ArrayList<>(List.of(Collections.synchronizedList(new ArrayList<>(List.of(shared))),
                    Collections.synchronizedList(new ArrayList<>(List.of(shared)))));
        }, (a, b) -> ((List<?>) ((List<?>) b).get(0)).get(0) == ((List<?>) ((List<?>) b).get(1)).get(0) ? null
                : "copies instead of one object");
        add(s, "plain class holding a list and its unmodifiable view", () -> {
            Order o = new Order();
            o.items.add("first");
            return o;
        }, (a, b) -> {
            Order o = (Order) b;
            o.items.add("second");
            return o.view.size() == 2 ? null : "the view wraps a copy of the list";
        });
        add(s, "non-Serializable objects in a synchronizedList", () -> {
            Note outer = new Note("outer");
            Note inner = new Note("inner");
            outer.counts.put("n", 1);
            outer.children.add(inner);
            return Collections.synchronizedList(new ArrayList<>(List.of(outer, inner)));
        }, (a, b) -> {
            List<?> l = (List<?>) b;
            Note outer = (Note) l.get(0);
            return outer.counts.get("n").equals(1) && outer.children.get(0) == l.get(1) ? null
                    : "contents or sharing lost";
        });
        add(s, "subclass of ArrayList with a field", () -> {
            Basket k = new Basket("owner");
            k.add("apple");
            return k;
        }, (a, b) -> "owner".equals(((Basket) b).owner) ? null : "field lost");
        add(s, "subclass of HashMap", () -> {
            Attributes m = new Attributes();
            m.put("k", "v");
            return m;
        });
        add(s, "exception with cause and stack trace", () -> new IllegalStateException("boom",
                new ArithmeticException("root")), SessionCorpus::sameStackTrace);
        add(s, "application exception", () -> {
            CheckoutException e = new CheckoutException("declined");
            e.addSuppressed(new CheckoutException("retry"));
            return e;
        }, SessionCorpus::sameStackTrace);
        add(s, "Spring SecurityContextImpl", () -> new SecurityContextImpl(
                UsernamePasswordAuthenticationToken.authenticated(
                        User.withUsername("ann").password("{noop}secret").roles("USER", "ADMIN").build(), null,
                        AuthorityUtils.createAuthorityList("ROLE_USER", "ROLE_ADMIN"))),
                (a, b) -> ((SecurityContextImpl) b).getAuthentication().isAuthenticated() ? null : "not authenticated");
        add(s, "Spring BadCredentialsException", () -> new BadCredentialsException("bad"),
                SessionCorpus::sameStackTrace);
        // large values
        add(s, "large byte[] 1 MiB", () -> {
            byte[] b = new byte[1 << 20];
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) (i * 31);
            }
            return b;
        });
        add(s, "large String 200k chars", () -> "0123456789".repeat(20_000));
        add(s, "large ArrayList 50k", () -> {
            List<Integer> l = new ArrayList<>();
            for (int i = 0; i < 50_000; i++) {
                l.add(i);
            }
            return l;
        });
        add(s, "large HashMap 20k", () -> {
            Map<String, Integer> m = new HashMap<>();
            for (int i = 0; i < 20_000; i++) {
                m.put("k" + i, i);
            }
            return m;
        }, SessionCorpus::sameIterationOrder);
        add(s, "deep linked nodes", () -> {
            Node head = new Node("0");
            Node n = head;
            for (int i = 1; i < 25; i++) {
                n.next = new Node(Integer.toString(i));
                n = n.next;
            }
            return head;
        });
        return s;
    }

    private static void add(List<Shape> s, String name, Supplier<Object> value) {
        add(s, name, value, null);
    }

    private static void add(List<Shape> s, String name, Supplier<Object> value, BiFunction<Object, Object, String> c) {
        s.add(new Shape(name, value, c));
    }

    /** A map built as applications build them: put by put (its table grows as such a map's does). */
    @SuppressWarnings("unchecked")
    private static <K, V> HashMap<K, V> hashMap(Object... keysAndValues) {
        HashMap<K, V> m = new HashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            m.put((K) keysAndValues[i], (V) keysAndValues[i + 1]);
        }
        return m;
    }

    private static <C extends Collection<String>> C filled(C c, String... elements) {
        c.addAll(Arrays.asList(elements));
        return c;
    }

    // ---- behaviour checks ----

    private static String sameInstance(Object a, Object b) {
        return a == b ? null : "a second instance of a singleton";
    }

    private static String sameIterationOrder(Object a, Object b) {
        Iterator<?> x = (a instanceof Map<?, ?> m ? m.keySet() : (Collection<?>) a).iterator();
        Iterator<?> y = (b instanceof Map<?, ?> m ? m.keySet() : (Collection<?>) b).iterator();
        while (x.hasNext() && y.hasNext()) {
            if (!Objects.equals(x.next(), y.next())) {
                return "iteration order";
            }
        }
        return x.hasNext() == y.hasNext() ? null : "size";
    }

    @SuppressWarnings("unchecked")
    private static String accessOrderKept(Object a, Object b) {
        LinkedHashMap<String, Integer> m = (LinkedHashMap<String, Integer>) b;
        m.put("x", 1);
        m.put("y", 2);
        m.get("x");
        List<String> keys = new ArrayList<>(m.keySet());
        return keys.get(keys.size() - 1).equals("x") ? null : "insertion order instead of access order";
    }

    @SuppressWarnings("unchecked")
    private static String sortedMapOrder(Object a, Object b) {
        SortedMap<String, Integer> m = (SortedMap<String, Integer>) b;
        m.put("bb", 0);
        m.put("A", 0);
        SortedMap<String, Integer> o = new TreeMap<>(((SortedMap<String, Integer>) a).comparator());
        o.putAll((SortedMap<String, Integer>) a);
        o.put("bb", 0);
        o.put("A", 0);
        return new ArrayList<>(o.keySet()).equals(new ArrayList<>(m.keySet())) ? null : "comparator lost";
    }

    @SuppressWarnings("unchecked")
    private static String sortedSetOrder(Object a, Object b) {
        SortedSet<String> copy = (SortedSet<String>) b;
        SortedSet<String> o = new TreeSet<>(((SortedSet<String>) a).comparator());
        o.addAll((SortedSet<String>) a);
        copy.add("dddd");
        o.add("dddd");
        return new ArrayList<>(o).equals(new ArrayList<>(copy)) ? null : "comparator lost";
    }

    @SuppressWarnings("unchecked")
    private static String pollOrder(Object a, Object b) {
        Queue<Integer> copy = (Queue<Integer>) b;
        List<Integer> expected = new ArrayList<>();
        Queue<Integer> original = (Queue<Integer>) a;
        for (Integer i : List.of(4, 0)) {
            copy.add(i);
        }
        List<Integer> all = new ArrayList<>(original);
        all.addAll(List.of(4, 0));
        if (a instanceof PriorityQueue<?> p) {
            all.sort((Comparator<Integer>) p.comparator());
            if (p.comparator() == null) {
                Collections.sort(all);
            }
        } else if (a instanceof PriorityBlockingQueue<?>) {
            Collections.sort(all);
        }
        expected.addAll(all);
        List<Integer> polled = new ArrayList<>();
        for (Integer i = copy.poll(); i != null; i = copy.poll()) {
            polled.add(i);
        }
        return polled.equals(expected) ? null : "poll order " + polled + " instead of " + expected;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static String mutexWorks(Object a, Object b) {
        try {
            if (b instanceof Map m) {
                synchronized (m) {
                    m.put("added", 2);
                }
                return m.containsKey("added") ? null : "put lost";
            }
            Collection c = (Collection) b;
            Object element = c.iterator().next();
            c.add(element instanceof String ? "added" : Integer.valueOf(9));
            return c.size() == ((Collection) a).size() + 1 ? null : "add lost";
        } catch (NullPointerException e) {
            return "broken wrapper: " + e.getMessage();
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static String typeChecked(Object a, Object b) {
        try {
            if (b instanceof Map m) {
                m.put(1, 1);
            } else {
                ((Collection) b).add(1);
            }
            return "accepts an element of the wrong type";
        } catch (ClassCastException expected) {
            return null;
        }
    }

    private static String sameStackTrace(Object a, Object b) {
        Throwable x = (Throwable) a;
        Throwable y = (Throwable) b;
        if (!Arrays.equals(x.getStackTrace(), y.getStackTrace())) {
            return "stack trace lost";
        }
        if (!Objects.equals(x.getMessage(), y.getMessage()) || (x.getCause() == null) != (y.getCause() == null)
                || x.getSuppressed().length != y.getSuppressed().length) {
            return "message, cause or suppressed lost";
        }
        return null;
    }

    // ---- application classes ----

    /** A plain Serializable value with no serialization contract: Kryo's fast path. */
    public static final class Cart implements Serializable {
        private static final long serialVersionUID = 1L;
        final String owner;
        final List<Line> lines = new ArrayList<>();

        Cart(String owner) {
            this.owner = owner;
        }

        void add(Line l) {
            lines.add(l);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Cart c && c.owner.equals(owner) && c.lines.equals(lines);
        }

        @Override
        public int hashCode() {
            return owner.hashCode();
        }
    }

    /** Final fields and no no-argument constructor. */
    public static final class Line implements Serializable {
        private static final long serialVersionUID = 1L;
        final String sku;
        final int quantity;

        Line(String sku, int quantity) {
            this.sku = sku;
            this.quantity = quantity;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Line l && l.sku.equals(sku) && l.quantity == quantity;
        }

        @Override
        public int hashCode() {
            return sku.hashCode() * 31 + quantity;
        }
    }

    public record Money(BigDecimal amount, Currency currency) implements Serializable {
    }

    public record Range(int from, int to) implements Serializable {
        public Range {
            if (from > to) {
                throw new IllegalArgumentException("from > to");
            }
        }
    }

    /** A record whose readResolve canonicalizes. */
    public record Tag(String name) implements Serializable {
        private Object readResolve() {
            return new Tag(name.toUpperCase(Locale.ROOT));
        }
    }

    public enum Level { LOW, MID, HIGH }

    public enum Wide {
        W0, W1, W2, W3, W4, W5, W6, W7, W8, W9, W10, W11, W12, W13, W14, W15, W16, W17, W18, W19, W20, W21, W22, W23,
        W24, W25, W26, W27, W28, W29, W30, W31, W32, W33, W34, W35, W36, W37, W38, W39, W40, W41, W42, W43, W44, W45,
        W46, W47, W48, W49, W50, W51, W52, W53, W54, W55, W56, W57, W58, W59, W60, W61, W62, W63, W64, W65, W66, W67,
        W68, W69
    }

    public enum Operation {
        PLUS {
            @Override
            int apply(int a, int b) {
                return a + b;
            }
        },
        TIMES {
            @Override
            int apply(int a, int b) {
                return a * b;
            }
        };

        abstract int apply(int a, int b);
    }

    /** A transient field rebuilt by readObject: the invariant Kryo would break. */
    public static final class Invariant implements Serializable {
        private static final long serialVersionUID = 1L;
        private final String text;
        private transient int length;

        Invariant(String text) {
            this.text = text;
            this.length = text.length();
        }

        int length() {
            return length;
        }

        private void writeObject(ObjectOutputStream out) throws IOException {
            out.defaultWriteObject();
        }

        private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
            in.defaultReadObject();
            length = text.length();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Invariant i && i.text.equals(text) && i.length == length;
        }

        @Override
        public int hashCode() {
            return text.hashCode();
        }
    }

    public static final class Singleton implements Serializable {
        private static final long serialVersionUID = 1L;
        public static final Singleton INSTANCE = new Singleton();

        private Singleton() {
        }

        private Object readResolve() {
            return INSTANCE;
        }
    }

    public static final class Ext implements Externalizable {
        private static final long serialVersionUID = 1L;
        private String payload;
        private int count;

        public Ext() {
        }

        Ext(String payload, int count) {
            this.payload = payload;
            this.count = count;
        }

        @Override
        public void writeExternal(ObjectOutput out) throws IOException {
            out.writeUTF(payload);
            out.writeInt(count);
        }

        @Override
        public void readExternal(ObjectInput in) throws IOException {
            payload = in.readUTF();
            count = in.readInt();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Ext e && e.payload.equals(payload) && e.count == count;
        }

        @Override
        public int hashCode() {
            return payload.hashCode();
        }
    }

    public static final class Persistent implements Serializable {
        private static final long serialVersionUID = 1L;
        private static final ObjectStreamField[] serialPersistentFields = {
            new ObjectStreamField("kept", String.class)};
        private final String kept;
        private final String transientLike;

        Persistent(String kept, String transientLike) {
            this.kept = kept;
            this.transientLike = transientLike;
        }
    }

    /** A non-serializable parent: Java serialization runs its constructor instead of restoring its field. */
    public static class Base {
        int baseValue;

        public Base() {
            baseValue = 7;
        }
    }

    public static final class Child extends Base implements Serializable {
        private static final long serialVersionUID = 1L;
        final String name;

        Child(String name, int baseValue) {
            this.name = name;
            this.baseValue = baseValue;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Child c && c.name.equals(name) && c.baseValue == baseValue;
        }

        @Override
        public int hashCode() {
            return name.hashCode();
        }
    }

    public static final class WithTransient implements Serializable {
        private static final long serialVersionUID = 1L;
        final String value;
        transient String cache = "computed";

        WithTransient(String value) {
            this.value = value;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof WithTransient w && w.value.equals(value);
        }

        @Override
        public int hashCode() {
            return value.hashCode();
        }
    }

    public static final class Node implements Serializable {
        private static final long serialVersionUID = 1L;
        final String name;
        Node next;

        Node(String name) {
            this.name = name;
        }
    }

    public static final class ByLength implements Comparator<String>, Serializable {
        private static final long serialVersionUID = 1L;

        @Override
        public int compare(String a, String b) {
            return a.length() != b.length() ? Integer.compare(a.length(), b.length()) : a.compareTo(b);
        }
    }

    public static final class LruCache extends LinkedHashMap<String, Integer> {
        private static final long serialVersionUID = 1L;
        private final int capacity;

        LruCache(int capacity) {
            super(16, 0.75f, true);
            this.capacity = capacity;
        }

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Integer> eldest) {
            return size() > capacity;
        }
    }

    /** A plain class (Kryo) whose second field is a JDK view (Java serialization) of its first. */
    public static final class Order implements Serializable {
        private static final long serialVersionUID = 1L;
        final List<String> items = new ArrayList<>();
        final List<String> view = Collections.unmodifiableList(items);

        @Override
        public boolean equals(Object o) {
            return o instanceof Order other && other.items.equals(items) && other.view.equals(view);
        }

        @Override
        public int hashCode() {
            return items.hashCode();
        }
    }

    /** Not Serializable (stock cannot replicate it); holds a JDK wrapper that Flotilla writes with Java. */
    public static final class Note {
        final String text;
        final Map<String, Integer> counts = Collections.synchronizedMap(new HashMap<>());
        final List<Note> children = Collections.synchronizedList(new ArrayList<>());

        Note(String text) {
            this.text = text;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Note n && n.text.equals(text) && n.counts.equals(counts) && n.children.equals(children);
        }

        @Override
        public int hashCode() {
            return text.hashCode();
        }
    }

    public static final class Basket extends ArrayList<String> {
        private static final long serialVersionUID = 1L;
        final String owner;

        Basket(String owner) {
            this.owner = owner;
        }
    }

    public static final class Attributes extends HashMap<String, String> {
        private static final long serialVersionUID = 1L;
    }

    public static final class CheckoutException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        CheckoutException(String message) {
            super(message);
        }
    }
}
