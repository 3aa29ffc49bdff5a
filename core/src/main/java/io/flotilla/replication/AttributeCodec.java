package io.flotilla.replication;

import com.esotericsoftware.kryo.KryoException;
import io.flotilla.replication.CodecException.Reason;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.BiConsumer;

/**
 * Turns session attribute values into bytes and back with Kryo, admitting only the classes of a
 * {@link ClassAllowlist}. A class with its own serialization contract, and a JDK class Flotilla has no serializer
 * for, is written inside the Kryo value with Java serialization under the same allowlist
 * ({@code SerializationRules}, decided once per class). Class names (not registration ids) go on the wire, each once per value; names are
 * checked against the allowlist before any class is loaded, and loaded without initialization through the
 * class loader the caller gives (the webapp's). Depth, collection, array and string sizes are capped, and every
 * declared size is also checked against the bytes left before anything is allocated for it. Values of one session
 * that share objects can be written as one graph ({@link #encodeAll}, an {@link AttributeGroup}) and read back with
 * their identities ({@link #decodeAll}); {@link #decode} of one of them gives that attribute's value.
 *
 * <p>Use one codec per class loader (per webapp): its pooled Kryo instances cache the classes they met.
 *
 * <p>Threading: safe from any thread. Each call borrows a Kryo instance from a bounded pool and returns it;
 * Kryo instances are never used by two threads at once.
 */
public final class AttributeCodec {
    private static final int MAX_POOLED = 64;

    private final CodecConfig config;
    private final ClassAllowlist allowlist;
    private final Limits limits;
    private final SerializationRules rules;
    private final SlotPool<KryoSlot> pool;

    public AttributeCodec(CodecConfig config) {
        this.config = Objects.requireNonNull(config, "config");
        this.allowlist = config.allowlist();
        this.limits = new Limits(config);
        this.rules = new SerializationRules(config.javaSerializationClasses());
        this.pool = new SlotPool<>(MAX_POOLED, () -> new KryoSlot(config, rules, limits));
    }

    /** The settings this codec was built with. */
    CodecConfig config() {
        return config;
    }

    /** The classes this codec admits. */
    ClassAllowlist allowlist() {
        return allowlist;
    }

    /**
     * Encodes one attribute value (null included).
     *
     * @throws AttributeCodecException naming the attribute and the class when the value is not allowed, cannot be
     *     serialized, or exceeds a cap
     */
    public byte[] encode(String attributeName, Object value) {
        KryoSlot slot = pool.obtain();
        boolean reusable = false;
        try {
            byte[] bytes = write(slot, value);
            reusable = true;
            return bytes;
        } catch (RuntimeException e) {
            throw failure(attributeName, value == null ? null : value.getClass().getName(), e, true, "");
        } finally {
            release(slot, reusable);
        }
    }

    private static byte[] write(KryoSlot slot, Object value) {
        slot.output.reset();
        slot.resolver.startValue();
        slot.kryo.writeClassAndObject(slot.output, value);
        return slot.output.toBytes();
    }

    /**
     * Encodes several attribute values of one session (the attributes one replication carries), keeping the objects
     * they share shared: each value is written on its own, unless it reaches an object another value reaches too
     * (two attributes holding one object, or sharing a nested one); each such set of values is written as one graph
     * (an {@link AttributeGroup}), and every member's name maps to that one array. {@link #decode} of a member's
     * name gives its value; {@link #decodeAll} gives the members one graph, so the copies share what the originals
     * shared.
     *
     * @throws AttributeCodecException for the first value (in iteration order) that cannot be encoded
     */
    public Map<String, byte[]> encodeAll(Map<String, Object> values) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        encodeAll(values, out::put);
        return out;
    }

    /**
     * {@link #encodeAll(Map)}, handing each name and its bytes to {@code out} in iteration order (a recorder's
     * {@code setAttribute}) instead of building a map.
     *
     * @throws AttributeCodecException for the first value (in iteration order) that cannot be encoded; nothing was
     *     handed to {@code out} then
     */
    public void encodeAll(Map<String, Object> values, BiConsumer<String, byte[]> out) {
        if (values.size() == 1) {
            for (Map.Entry<String, Object> only : values.entrySet()) {
                out.accept(only.getKey(), encode(only.getKey(), only.getValue()));
            }
            return;
        }
        List<String> names = new ArrayList<>(values.keySet());
        List<Object> objects = new ArrayList<>(values.values());
        Batch batch = encodeEach(names, objects);
        int[] all = new int[names.size()];
        for (int i = 0; i < all.length; i++) {
            if (batch.failures[i] != null) {
                throw batch.failures[i];
            }
            all[i] = i;
        }
        grouped(names, objects, batch, all, out);
    }

    /**
     * The values of a batch, each encoded on its own ({@code bytes[i]}, or {@code failures[i]}), and their sharing
     * (null for one value).
     */
    record Batch(byte[][] bytes, AttributeCodecException[] failures, SharedObjects sharing) {
    }

    /** Encodes each value on its own, noting (for two values or more) which of them reach a common object. */
    Batch encodeEach(List<String> names, List<Object> values) {
        int n = names.size();
        Batch batch = new Batch(new byte[n][], new AttributeCodecException[n], n > 1 ? new SharedObjects(n) : null);
        KryoSlot slot = pool.obtain();
        boolean done = false;
        try {
            for (int i = 0; i < n; i++) {
                Object value = values.get(i);
                if (n > 1) {
                    slot.references.sharing = batch.sharing;
                    batch.sharing.startValue(i);
                }
                try {
                    batch.bytes[i] = write(slot, value);
                } catch (RuntimeException e) {
                    batch.failures[i] = failure(names.get(i), value == null ? null : value.getClass().getName(), e,
                            true, "");
                    slot.references.sharing = null;
                    slot = pool.obtain(); // the failed one may be mid-graph: let it go
                }
            }
            done = true;
        } finally {
            slot.references.sharing = null;
            release(slot, done);
        }
        return batch;
    }

    /**
     * Hands {@code out} the bytes of the values {@code which} (indexes into the batch, all encoded), in that order: a
     * value's own bytes, or, for each set of two or more of them that share objects, the bytes of their group, one
     * array for all of them. A group that cannot be encoded (larger than {@code maxValueBytes} together) falls back
     * to its values' own bytes: equal copies, as each value alone would arrive.
     */
    void grouped(List<String> names, List<Object> values, Batch batch, int[] which, BiConsumer<String, byte[]> out) {
        int[] members = null; // per root, how many of which: only when some values share objects
        if (batch.sharing != null && batch.sharing.joined()) {
            members = new int[names.size()];
            for (int i : which) {
                members[batch.sharing.root(i)]++;
            }
        }
        Map<Integer, byte[]> groups = null;
        for (int i : which) {
            byte[] bytes = batch.bytes[i];
            if (members != null && members[batch.sharing.root(i)] > 1) {
                if (groups == null) {
                    groups = new HashMap<>();
                }
                byte[] group = groups.computeIfAbsent(batch.sharing.root(i),
                        root -> encodeGroup(names, values, batch.sharing, which, root));
                bytes = group.length > 0 ? group : bytes;
            }
            out.accept(names.get(i), bytes);
        }
    }

    /**
     * Whether a group writes {@code value} after the others: an object Kryo wrote earlier in a graph is shared with a
     * Java-serialized object that holds it ({@code FilteredJavaSerializer}'s back reference), not the other way round.
     */
    private boolean javaLast(Object value) {
        return value != null && rules.route(value.getClass()) == SerializationRules.Route.JAVA;
    }

    /** One graph of the values of {@code which} under {@code root}, or an empty array when it cannot be encoded. */
    private byte[] encodeGroup(List<String> names, List<Object> values, SharedObjects sharing, int[] which, int root) {
        Map<String, Object> members = new LinkedHashMap<>();
        for (boolean java : new boolean[] {false, true}) {
            for (int i : which) { // values written with Java serialization last (see javaLast)
                if (sharing.root(i) == root && javaLast(values.get(i)) == java) {
                    members.put(names.get(i), values.get(i));
                }
            }
        }
        try {
            return encode(String.join(", ", members.keySet()), new AttributeGroup(members));
        } catch (AttributeCodecException e) {
            return new byte[0];
        }
    }

    /**
     * Checks, without encoding anything, that the allowlist admits the class {@code value} would be written as
     * (as {@link #encode} resolves it: an enum constant's enum, an {@code EnumSet}'s base class); cheap after the
     * first value of a class. Classes nested inside the value are checked when it is encoded.
     *
     * @throws AttributeCodecException naming the attribute and the class when it does not
     */
    void checkClass(String attributeName, Object value) {
        KryoSlot slot = pool.obtain();
        boolean reusable = false;
        try {
            slot.resolver.startValue();
            slot.kryo.getRegistration(value.getClass());
            reusable = true;
        } catch (RuntimeException e) {
            throw failure(attributeName, value.getClass().getName(), e, true, "");
        } finally {
            release(slot, reusable);
        }
    }

    /**
     * Decodes one attribute value, loading classes with {@code classLoader}.
     *
     * @throws AttributeCodecException when the bytes name a class outside the allowlist, exceed a cap or are
     *     malformed; nothing of a refused class is loaded, initialized or instantiated
     */
    public Object decode(String attributeName, byte[] bytes, ClassLoader classLoader) {
        Object value = read(attributeName, bytes, classLoader);
        return value instanceof AttributeGroup g ? member(attributeName, g.values) : value;
    }

    /**
     * Decodes the values {@link #encodeAll} made: each group once, so its members share what the originals shared.
     *
     * @throws AttributeCodecException for the first value (in iteration order) that does not decode
     */
    public Map<String, Object> decodeAll(Map<String, byte[]> encoded, ClassLoader classLoader) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> e : encoded.entrySet()) {
            String name = e.getKey();
            if (out.containsKey(name)) {
                continue;
            }
            byte[] bytes = e.getValue();
            if (!AttributeGroup.isGroup(bytes)) {
                out.put(name, decode(name, bytes, classLoader));
                continue;
            }
            Map<String, Object> group = decodeGroup(name, bytes, classLoader);
            group.forEach((member, value) -> {
                if (AttributeGroup.sameGroup(encoded.get(member), bytes)) {
                    out.put(member, value);
                }
            });
        }
        return out;
    }

    /**
     * The members of the group whose bytes attribute {@code attributeName} holds, name to value, decoded as one graph
     * (the caller gives each member whose attribute holds the same bytes its value from it).
     *
     * @throws AttributeCodecException as {@link #decode}, also when {@code attributeName} is not a member
     */
    Map<String, Object> decodeGroup(String attributeName, byte[] bytes, ClassLoader classLoader) {
        Object value = read(attributeName, bytes, classLoader);
        if (!(value instanceof AttributeGroup g)) {
            throw new AttributeCodecException(Reason.MALFORMED, attributeName, value == null ? null
                    : value.getClass().getName(), "attribute bytes are not an attribute group (attribute '"
                    + attributeName + "')", null);
        }
        member(attributeName, g.values);
        return g.values;
    }

    /** The value of {@code attributeName} in a decoded group; malformed when the group has none for it. */
    static Object member(String attributeName, Map<String, Object> group) {
        if (!group.containsKey(attributeName)) {
            throw new AttributeCodecException(Reason.MALFORMED, attributeName, null, "the attribute group held by '"
                    + attributeName + "' has no value for it (members " + group.keySet() + ")", null);
        }
        return group.get(attributeName);
    }

    private Object read(String attributeName, byte[] bytes, ClassLoader classLoader) {
        Objects.requireNonNull(bytes, "bytes");
        Objects.requireNonNull(classLoader, "classLoader");
        KryoSlot slot = pool.obtain();
        boolean reusable = false;
        try {
            slot.resolver.useClassLoader(classLoader);
            slot.kryo.setClassLoader(classLoader);
            slot.input.setBuffer(bytes);
            slot.resolver.startValue();
            Object value = slot.kryo.readClassAndObject(slot.input);
            if (slot.input.position() != bytes.length) {
                throw new CodecException(Reason.MALFORMED, (bytes.length - slot.input.position())
                        + " bytes left after the value");
            }
            reusable = true;
            return value;
        } catch (RuntimeException e) {
            throw failure(attributeName, slot.resolver.valueClass(), e, false, slot.resolver.readingWhere());
        } finally {
            release(slot, reusable);
        }
    }

    private void release(KryoSlot slot, boolean reusable) {
        if (reusable) {
            slot.trim();
            pool.free(slot);
        }
        // After a failure the Kryo instance may be mid-graph: let it go, the pool makes a fresh one.
    }

    private AttributeCodecException failure(String attribute, String valueClass, RuntimeException e,
            boolean writing, String reading) {
        String where = " (attribute '" + attribute + "')";
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof AttributeCodecException a) {
                return new AttributeCodecException(a.reason(), attribute,
                        a.className() != null ? a.className() : valueClass, a.getMessage() + where, e);
            }
            if (t instanceof CodecException c) {
                return new AttributeCodecException(c.reason(), attribute, valueClass, c.getMessage() + reading + where,
                        e);
            }
        }
        String message = String.valueOf(e.getMessage());
        if (e instanceof KryoException && message.startsWith("Max depth exceeded")) {
            return new AttributeCodecException(Reason.LIMIT_EXCEEDED, attribute, valueClass,
                    "objects nested deeper than maxDepth=" + limits.maxDepth + where, e);
        }
        if (writing && e instanceof KryoException && message.startsWith("Buffer overflow")) {
            return new AttributeCodecException(Reason.LIMIT_EXCEEDED, attribute, valueClass,
                    "value of " + valueClass + " is larger than maxValueBytes=" + limits.maxValueBytes + where, e);
        }
        if (writing) {
            return new AttributeCodecException(Reason.NOT_SERIALIZABLE, attribute, valueClass,
                    "value of " + valueClass + " could not be serialized" + where + ": " + firstLine(message)
                            + "; make it Serializable, or, if it is, name it in javaSerializationClasses so its own"
                            + " Java serialization is used", e);
        }
        return new AttributeCodecException(Reason.MALFORMED, attribute, valueClass,
                "attribute bytes could not be read" + reading + where + ": " + firstLine(message), e);
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
