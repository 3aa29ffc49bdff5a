package io.flotilla.replication;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.serializers.DefaultSerializers;
import io.flotilla.replication.CheckedSerializers.ViewKind;
import io.flotilla.replication.CheckedSerializers.ViewSerializer;
import java.math.BigDecimal;
import java.math.BigInteger;
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
import java.net.URI;
import java.util.ArrayDeque;
import java.util.ArrayList;
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
import java.util.Set;
import java.util.TimeZone;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.Arrays;
import java.util.BitSet;
import java.util.GregorianCalendar;
import java.util.Hashtable;
import java.util.PriorityQueue;
import java.util.Properties;
import java.util.Vector;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The fixed table of JDK types written as a one-byte tag instead of a name. It is part of the wire format: entries
 * are only ever appended, never reordered or removed. Several JDK classes may share one entry (every
 * {@code List.of} implementation class is an immutable list on the wire).
 *
 * <p>Threading: stateless; {@link #entries} builds serializers for one Kryo instance.
 */
final class WellKnownTypes {
    private WellKnownTypes() {
    }

    /** One tag: the classes written with it (the first is the one read back) and its serializer. */
    record Entry(List<Class<?>> aliases, Serializer<?> serializer) {
    }

    static List<Entry> entries(Kryo kryo, Limits limits, FilteredJavaSerializer java) {
        List<Entry> e = new ArrayList<>();
        // Order is the wire format. Append only.
        add(e, new DefaultSerializers.StringSerializer(), String.class);
        add(e, new DefaultSerializers.IntSerializer(), Integer.class);
        add(e, new DefaultSerializers.LongSerializer(), Long.class);
        add(e, new DefaultSerializers.BooleanSerializer(), Boolean.class);
        add(e, new DefaultSerializers.DoubleSerializer(), Double.class);
        add(e, new DefaultSerializers.FloatSerializer(), Float.class);
        add(e, new DefaultSerializers.ShortSerializer(), Short.class);
        add(e, new DefaultSerializers.ByteSerializer(), Byte.class);
        add(e, new DefaultSerializers.CharSerializer(), Character.class);
        add(e, new DefaultSerializers.BigDecimalSerializer(), BigDecimal.class);
        add(e, new DefaultSerializers.BigIntegerSerializer(), BigInteger.class);
        add(e, new DefaultSerializers.UUIDSerializer(), UUID.class);
        add(e, new DefaultSerializers.DateSerializer(), Date.class);
        add(e, new DefaultSerializers.LocaleSerializer(), Locale.class);
        add(e, new DefaultSerializers.CurrencySerializer(), Currency.class);
        for (Class<?> c : List.of(ArrayList.class, LinkedList.class, HashMap.class, LinkedHashMap.class,
                TreeMap.class, HashSet.class, LinkedHashSet.class, TreeSet.class, ArrayDeque.class)) {
            add(e, kryo.getDefaultSerializer(c), c);
        }
        add(e, new DefaultSerializers.EnumSetSerializer(), EnumSet.class);
        add(e, new CheckedSerializers.EnumMapSerializer(limits, java), EnumMap.class);
        add(e, new ViewSerializer(limits, ViewKind.IMMUTABLE_LIST), List.of().getClass(), List.of(1).getClass(),
                List.of(1, 2, 3).getClass(), List.of(1, 2, 3).subList(0, 2).getClass());
        add(e, new ViewSerializer(limits, ViewKind.IMMUTABLE_SET), Set.of().getClass(), Set.of(1).getClass(),
                Set.of(1, 2, 3).getClass());
        add(e, new ViewSerializer(limits, ViewKind.IMMUTABLE_MAP), Map.of().getClass(), Map.of(1, 1).getClass(),
                Map.of(1, 1, 2, 2).getClass());
        add(e, new ViewSerializer(limits, ViewKind.UNMODIFIABLE_LIST),
                Collections.unmodifiableList(new ArrayList<>()).getClass(),
                Collections.unmodifiableList(new LinkedList<>()).getClass());
        add(e, new ViewSerializer(limits, ViewKind.UNMODIFIABLE_SET),
                Collections.unmodifiableSet(new HashSet<>()).getClass());
        add(e, new ViewSerializer(limits, ViewKind.UNMODIFIABLE_MAP),
                Collections.unmodifiableMap(new HashMap<>()).getClass());
        add(e, new ViewSerializer(limits, ViewKind.UNMODIFIABLE_COLLECTION),
                Collections.unmodifiableCollection(new ArrayList<>()).getClass());
        add(e, new DefaultSerializers.CollectionsEmptyListSerializer(), Collections.emptyList().getClass());
        add(e, new DefaultSerializers.CollectionsEmptySetSerializer(), Collections.emptySet().getClass());
        add(e, new DefaultSerializers.CollectionsEmptyMapSerializer(), Collections.emptyMap().getClass());
        add(e, new DefaultSerializers.CollectionsSingletonListSerializer(), Collections.singletonList(1).getClass());
        add(e, new DefaultSerializers.CollectionsSingletonSetSerializer(), Collections.singleton(1).getClass());
        add(e, new DefaultSerializers.CollectionsSingletonMapSerializer(), Collections.singletonMap(1, 1).getClass());
        for (Class<?> c : List.of(Duration.class, Instant.class, LocalDate.class, LocalTime.class,
                LocalDateTime.class, OffsetTime.class, OffsetDateTime.class, ZonedDateTime.class, ZoneOffset.class,
                ZoneId.of("Europe/Paris").getClass(), Year.class, YearMonth.class, MonthDay.class, Period.class,
                DayOfWeek.class, Month.class)) {
            add(e, kryo.getDefaultSerializer(c), c);
        }
        for (Class<?> c : List.of(byte[].class, short[].class, int[].class, long[].class, float[].class,
                double[].class, char[].class, boolean[].class, String[].class, Object[].class)) {
            add(e, kryo.getDefaultSerializer(c), c);
        }
        // Entries above whose serializer was not faithful; a later entry takes over writing the class, the earlier
        // tag stays readable.
        add(e, new CheckedSerializers.CheckedLinkedHashMap(limits), LinkedHashMap.class);
        add(e, new CheckedSerializers.LocaleSerializer(java), Locale.class);
        add(e, new CheckedSerializers.ZonedDateTimeSerializer(), ZonedDateTime.class);
        // JDK classes whose own serialization is the faithful one (SerializationRules): a tag saves the class name.
        // (java.sql types are left to the rule: a runtime without the java.sql module must still build this table.)
        for (Object v : List.of(Collections.unmodifiableList(new ArrayList<>()),
                Collections.unmodifiableList(new LinkedList<>()), Collections.unmodifiableSet(new HashSet<>()),
                Collections.unmodifiableMap(new HashMap<>()), Collections.unmodifiableCollection(new ArrayList<>()),
                Collections.unmodifiableSortedSet(new TreeSet<>()), Collections.unmodifiableSortedMap(new TreeMap<>()),
                Collections.unmodifiableNavigableSet(new TreeSet<>()),
                Collections.unmodifiableNavigableMap(new TreeMap<>()),
                Collections.synchronizedList(new ArrayList<>()), Collections.synchronizedList(new LinkedList<>()),
                Collections.synchronizedSet(new HashSet<>()), Collections.synchronizedMap(new HashMap<>()),
                Collections.synchronizedCollection(new ArrayList<>()),
                Collections.synchronizedSortedSet(new TreeSet<>()), Collections.synchronizedSortedMap(new TreeMap<>()),
                Collections.synchronizedNavigableSet(new TreeSet<>()),
                Collections.synchronizedNavigableMap(new TreeMap<>()),
                Arrays.asList(1), Collections.nCopies(1, 1), new PriorityQueue<>(), new ConcurrentHashMap<>(),
                new Vector<>(), new Hashtable<>(), new Properties(), new BitSet(), new AtomicInteger(),
                new AtomicLong(), new AtomicBoolean(), new AtomicReference<>(), new GregorianCalendar(TimeZone.getTimeZone("UTC"), Locale.ROOT),
                URI.create("x:y"))) {
            add(e, java, v.getClass());
        }
        AttributeGroup.addTo(e, limits); // several attributes of one session in one graph
        return e;
    }

    private static void add(List<Entry> e, Serializer<?> serializer, Class<?>... aliases) {
        e.add(new Entry(List.of(aliases), serializer));
    }
}
