package io.flotilla.replication;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.serializers.CollectionSerializer;
import com.esotericsoftware.kryo.serializers.DefaultSerializers;
import com.esotericsoftware.kryo.serializers.MapSerializer;
import io.flotilla.replication.CodecException.Reason;
import java.lang.reflect.Array;
import java.util.ArrayList;
import java.util.Collection;
import java.time.DateTimeException;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Serializers that check a declared size against the caps and the bytes left before they allocate, and
 * serializers for JDK types Kryo can only reach through reflection into {@code java.util}.
 *
 * <p>Threading: each instance belongs to one Kryo instance and so to one thread at a time.
 */
final class CheckedSerializers {
    private CheckedSerializers() {
    }

    static int remaining(Input input) {
        return input instanceof BoundedInput b ? b.remaining() : Integer.MAX_VALUE;
    }

    /** Collections: the declared size is checked before {@code create} sizes the new collection. */
    @SuppressWarnings({"rawtypes", "unchecked"})
    static final class CheckedCollection extends CollectionSerializer {
        private final Limits limits;

        CheckedCollection(Limits limits) {
            this.limits = limits;
        }

        @Override
        public void write(Kryo kryo, Output output, Collection collection) {
            limits.collectionOnWrite(collection.size());
            super.write(kryo, output, collection);
        }

        @Override
        protected Collection create(Kryo kryo, Input input, Class type, int size) {
            limits.collection(size, remaining(input), 1);
            if (type == HashSet.class) {
                return new HashSet(hashSetCapacity(size));
            }
            if (type == LinkedHashSet.class) {
                return new LinkedHashSet(hashSetCapacity(size));
            }
            return super.create(kryo, input, type, size);
        }
    }

    /**
     * The capacity {@code HashMap.readObject} gives a map of {@code mappings} entries (default load factor), so a
     * copy has the table, and so the iteration order, that stock's Java-serialized copy has.
     */
    static int hashMapCapacity(int mappings) {
        float fc = mappings / 0.75f + 1.0f;
        return fc < 16 ? 16 : fc >= (1 << 30) ? 1 << 30 : Integer.highestOneBit((int) fc - 1) << 1;
    }

    /** The initial capacity {@code HashSet.readObject} asks for (default load factor), as above. */
    static int hashSetCapacity(int size) {
        return (int) Math.min(size * Math.min(1 / 0.75f, 4.0f), 1 << 30);
    }

    /** Maps: as {@link CheckedCollection}, each entry taking at least two bytes. */
    @SuppressWarnings({"rawtypes", "unchecked"})
    static class CheckedMap extends MapSerializer {
        final Limits limits;

        CheckedMap(Limits limits) {
            this.limits = limits;
        }

        @Override
        public void write(Kryo kryo, Output output, Map map) {
            limits.collectionOnWrite(map.size());
            super.write(kryo, output, map);
        }

        @Override
        protected Map create(Kryo kryo, Input input, Class type, int size) {
            limits.collection(size, remaining(input), 2);
            if (type == HashMap.class) {
                return size == 0 ? new HashMap() : new HashMap(hashMapCapacity(size));
            }
            return super.create(kryo, input, type, size);
        }
    }

    /**
     * {@link LinkedHashMap}: as {@link CheckedMap}, with its ordering mode in the header, so a map in access order
     * (an LRU cache) stays one. The mode has no getter: it is read off a clone, which is as costly as the write.
     */
    @SuppressWarnings({"rawtypes", "unchecked"})
    static final class CheckedLinkedHashMap extends CheckedMap {
        CheckedLinkedHashMap(Limits limits) {
            super(limits);
        }

        @Override
        protected void writeHeader(Kryo kryo, Output output, Map map) {
            output.writeBoolean(inAccessOrder((LinkedHashMap) map));
        }

        @Override
        protected Map create(Kryo kryo, Input input, Class type, int size) {
            boolean accessOrder = input.readBoolean();
            limits.collection(size, remaining(input), 2);
            return size == 0 ? new LinkedHashMap(16, 0.75f, accessOrder)
                    : new LinkedHashMap(hashMapCapacity(size), 0.75f, accessOrder);
        }

        static boolean inAccessOrder(LinkedHashMap<?, ?> map) {
            LinkedHashMap<Object, Object> probe = (LinkedHashMap<Object, Object>) map.clone();
            probe.clear();
            Object first = new Object();
            Object second = new Object();
            probe.put(first, null);
            probe.put(second, null);
            probe.get(first);
            return probe.keySet().iterator().next() == second;
        }
    }

    /**
     * {@link Locale}: language, country and variant when the three-argument constructor rebuilds it exactly (the
     * common case, legacy locales such as {@code ja_JP_JP} included); else its BCP 47 tag when that round-trips
     * (scripts, extensions); else Java serialization.
     */
    static final class LocaleSerializer extends Serializer<Locale> {
        private static final int PARTS = 0;
        private static final int TAG = 1;
        private static final int JAVA = 2;
        private final FilteredJavaSerializer java;

        LocaleSerializer(FilteredJavaSerializer java) {
            super(false, true);
            this.java = java;
        }

        @Override
        public void write(Kryo kryo, Output output, Locale locale) {
            if (new Locale(locale.getLanguage(), locale.getCountry(), locale.getVariant()).equals(locale)) {
                output.writeVarInt(PARTS, true);
                output.writeString(locale.getLanguage());
                output.writeString(locale.getCountry());
                output.writeString(locale.getVariant());
                return;
            }
            String tag = locale.toLanguageTag();
            if (Locale.forLanguageTag(tag).equals(locale)) {
                output.writeVarInt(TAG, true);
                output.writeString(tag);
            } else {
                output.writeVarInt(JAVA, true);
                java.write(kryo, output, locale);
            }
        }

        @Override
        public Locale read(Kryo kryo, Input input, Class<? extends Locale> type) {
            int form = input.readVarInt(true);
            switch (form) {
                case PARTS:
                    return new Locale(input.readString(), input.readString(), input.readString());
                case TAG:
                    return Locale.forLanguageTag(input.readString());
                case JAVA:
                    return (Locale) java.read(kryo, input, Locale.class);
                default:
                    throw new CodecException(Reason.MALFORMED, "unknown Locale form " + form);
            }
        }
    }

    /**
     * {@link ZonedDateTime}: local date-time, offset and zone, rebuilt with the offset preferred, so a time in the
     * overlap of a daylight-saving change keeps its offset (Kryo's own serializer drops it: an hour moves).
     */
    static final class ZonedDateTimeSerializer extends Serializer<ZonedDateTime> {
        ZonedDateTimeSerializer() {
            super(false, true);
        }

        @Override
        public void write(Kryo kryo, Output output, ZonedDateTime value) {
            LocalDateTime t = value.toLocalDateTime();
            output.writeVarInt(t.getYear(), false);
            output.writeByte(t.getMonthValue());
            output.writeByte(t.getDayOfMonth());
            output.writeVarLong(t.toLocalTime().toNanoOfDay(), true);
            output.writeVarInt(value.getOffset().getTotalSeconds(), false);
            output.writeString(value.getZone().getId());
        }

        @Override
        public ZonedDateTime read(Kryo kryo, Input input, Class<? extends ZonedDateTime> type) {
            try {
                LocalDateTime t = LocalDateTime.of(LocalDate.of(input.readVarInt(false), input.readByte(),
                        input.readByte()), LocalTime.ofNanoOfDay(input.readVarLong(true)));
                ZoneOffset offset = ZoneOffset.ofTotalSeconds(input.readVarInt(false));
                return ZonedDateTime.ofLocal(t, ZoneId.of(input.readString()), offset);
            } catch (DateTimeException e) {
                throw new CodecException(Reason.MALFORMED, "bad ZonedDateTime: " + e.getMessage(), e);
            }
        }
    }

    @SuppressWarnings({"rawtypes", "unchecked"})
    static final class CheckedTreeMap extends DefaultSerializers.TreeMapSerializer {
        private final Limits limits;

        CheckedTreeMap(Limits limits) {
            this.limits = limits;
        }

        @Override
        public void write(Kryo kryo, Output output, TreeMap map) {
            limits.collectionOnWrite(map.size());
            super.write(kryo, output, map);
        }

        @Override
        protected TreeMap create(Kryo kryo, Input input, Class type, int size) {
            limits.collection(size, remaining(input), 2);
            return super.create(kryo, input, type, size);
        }
    }

    @SuppressWarnings({"rawtypes", "unchecked"})
    static final class CheckedTreeSet extends DefaultSerializers.TreeSetSerializer {
        private final Limits limits;

        CheckedTreeSet(Limits limits) {
            this.limits = limits;
        }

        @Override
        public void write(Kryo kryo, Output output, TreeSet collection) {
            limits.collectionOnWrite(collection.size());
            super.write(kryo, output, collection);
        }

        @Override
        protected TreeSet create(Kryo kryo, Input input, Class type, int size) {
            limits.collection(size, remaining(input), 1);
            return super.create(kryo, input, type, size);
        }
    }

    /** Arrays of reference types: length (plus one; 0 is null), then each element with its class. */
    static final class CheckedObjectArray extends Serializer<Object> {
        private final Limits limits;

        CheckedObjectArray(Limits limits) {
            super(true);
            this.limits = limits;
        }

        @Override
        public void write(Kryo kryo, Output output, Object array) {
            if (array == null) {
                output.writeVarInt(0, true);
                return;
            }
            int length = Array.getLength(array);
            limits.arrayOnWrite(length);
            output.writeVarInt(length + 1, true);
            Object[] elements = (Object[]) array;
            for (Object e : elements) {
                kryo.writeClassAndObject(output, e);
            }
        }

        @Override
        public Object read(Kryo kryo, Input input, Class<? extends Object> type) {
            int declared = input.readVarInt(true);
            if (declared == 0) {
                return null;
            }
            int length = declared - 1;
            limits.array(length, remaining(input), 1);
            Object[] array = (Object[]) Array.newInstance(type.getComponentType(), length);
            kryo.reference(array);
            for (int i = 0; i < length; i++) {
                array[i] = kryo.readClassAndObject(input);
            }
            return array;
        }
    }

    /** What a {@link ViewSerializer} builds when it reads. */
    enum ViewKind {
        IMMUTABLE_LIST(false), IMMUTABLE_SET(false), IMMUTABLE_MAP(true),
        UNMODIFIABLE_LIST(false), UNMODIFIABLE_SET(false), UNMODIFIABLE_MAP(true), UNMODIFIABLE_COLLECTION(false);

        final boolean map;

        ViewKind(boolean map) {
            this.map = map;
        }
    }

    /**
     * JDK immutable ({@code List.of}) and unmodifiable ({@code Collections.unmodifiableList}) views, written by
     * their public API (elements or entries in iteration order) and rebuilt with the same factories.
     */
    static final class ViewSerializer extends Serializer<Object> {
        private final Limits limits;
        private final ViewKind kind;

        ViewSerializer(Limits limits, ViewKind kind) {
            this.limits = limits;
            this.kind = kind;
            setImmutable(kind.ordinal() <= ViewKind.IMMUTABLE_MAP.ordinal());
        }

        @Override
        public void write(Kryo kryo, Output output, Object value) {
            if (kind.map) {
                Map<?, ?> map = (Map<?, ?>) value;
                limits.collectionOnWrite(map.size());
                output.writeVarInt(map.size(), true);
                for (Map.Entry<?, ?> e : map.entrySet()) {
                    kryo.writeClassAndObject(output, e.getKey());
                    kryo.writeClassAndObject(output, e.getValue());
                }
            } else {
                Collection<?> c = (Collection<?>) value;
                limits.collectionOnWrite(c.size());
                output.writeVarInt(c.size(), true);
                for (Object e : c) {
                    kryo.writeClassAndObject(output, e);
                }
            }
        }

        @Override
        public Object read(Kryo kryo, Input input, Class<? extends Object> type) {
            int size = input.readVarInt(true);
            limits.collection(size, remaining(input), kind.map ? 2 : 1);
            if (kind.map) {
                Map<Object, Object> map = new LinkedHashMap<>(Math.max(16, (int) (size / 0.75f) + 1));
                for (int i = 0; i < size; i++) {
                    Object k = kryo.readClassAndObject(input);
                    map.put(k, kryo.readClassAndObject(input));
                }
                if (map.size() != size) {
                    throw new CodecException(Reason.MALFORMED, "map declared " + size + " entries but holds "
                            + map.size() + " distinct keys");
                }
                if (kind == ViewKind.IMMUTABLE_MAP) {
                    return map.containsKey(null) || map.containsValue(null) ? Collections.unmodifiableMap(map)
                            : Map.copyOf(map);
                }
                return Collections.unmodifiableMap(map);
            }
            List<Object> list = new ArrayList<>(size);
            for (int i = 0; i < size; i++) {
                list.add(kryo.readClassAndObject(input));
            }
            switch (kind) {
                case IMMUTABLE_LIST:
                    return list.contains(null) ? Collections.unmodifiableList(list) : List.copyOf(list);
                case IMMUTABLE_SET: {
                    Set<Object> set = new LinkedHashSet<>(list);
                    return set.contains(null) ? Collections.unmodifiableSet(set) : Set.copyOf(set);
                }
                case UNMODIFIABLE_LIST:
                    return Collections.unmodifiableList(list);
                case UNMODIFIABLE_SET:
                    return Collections.unmodifiableSet(new LinkedHashSet<>(list));
                default:
                    return Collections.unmodifiableCollection(list);
            }
        }
    }

    /**
     * {@link EnumMap}: size, key enum class, then ordinal and value per entry. The key type of an empty EnumMap
     * is only reachable through reflection into {@code java.util}: an empty one is written as size 0 followed by
     * its Java serialization.
     */
    @SuppressWarnings({"rawtypes", "unchecked"})
    static final class EnumMapSerializer extends Serializer<EnumMap> {
        private final Limits limits;
        private final FilteredJavaSerializer java;

        EnumMapSerializer(Limits limits, FilteredJavaSerializer java) {
            this.limits = limits;
            this.java = java;
        }

        @Override
        public void write(Kryo kryo, Output output, EnumMap map) {
            if (map.isEmpty()) {
                output.writeVarInt(0, true);
                java.write(kryo, output, map);
                return;
            }
            limits.collectionOnWrite(map.size());
            output.writeVarInt(map.size(), true);
            Enum<?> first = (Enum<?>) map.keySet().iterator().next();
            kryo.writeClass(output, first.getDeclaringClass());
            for (Object o : map.entrySet()) {
                Map.Entry<Enum<?>, Object> e = (Map.Entry<Enum<?>, Object>) o;
                output.writeVarInt(e.getKey().ordinal(), true);
                kryo.writeClassAndObject(output, e.getValue());
            }
        }

        @Override
        public EnumMap read(Kryo kryo, Input input, Class<? extends EnumMap> type) {
            int size = input.readVarInt(true);
            if (size == 0) {
                return (EnumMap) java.read(kryo, input, EnumMap.class);
            }
            limits.collection(size, remaining(input), 2);
            Class keyType = kryo.readClass(input).getType();
            if (!keyType.isEnum()) {
                throw new CodecException(Reason.MALFORMED, "EnumMap key type " + keyType.getName() + " is not an enum");
            }
            Object[] constants = keyType.getEnumConstants();
            EnumMap map = new EnumMap(keyType);
            for (int i = 0; i < size; i++) {
                int ordinal = input.readVarInt(true);
                if (ordinal >= constants.length) {
                    throw new CodecException(Reason.MALFORMED, "ordinal " + ordinal + " out of range for "
                            + keyType.getName());
                }
                map.put((Enum) constants[ordinal], kryo.readClassAndObject(input));
            }
            return map;
        }
    }
}
