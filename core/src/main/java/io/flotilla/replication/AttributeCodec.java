package io.flotilla.replication;

import com.esotericsoftware.kryo.KryoException;
import com.esotericsoftware.kryo.util.Pool;
import io.flotilla.replication.CodecException.Reason;
import java.util.Objects;

/**
 * Turns session attribute values into bytes and back with Kryo, admitting only the classes of a
 * {@link ClassAllowlist}. A class with its own serialization contract, and a JDK class Flotilla has no serializer
 * for, is written inside the Kryo value with Java serialization under the same allowlist
 * ({@code SerializationRules}, decided once per class). Class names (not registration ids) go on the wire, each once per value; names are
 * checked against the allowlist before any class is loaded, and loaded without initialization through the
 * class loader the caller gives (the webapp's). Depth, collection, array and string sizes are capped, and every
 * declared size is also checked against the bytes left before anything is allocated for it.
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
    private final Pool<KryoSlot> pool;

    public AttributeCodec(CodecConfig config) {
        this.config = Objects.requireNonNull(config, "config");
        this.allowlist = config.allowlist();
        this.limits = new Limits(config);
        this.rules = new SerializationRules(config.javaSerializationClasses());
        this.pool = new Pool<>(true, false, MAX_POOLED) {
            @Override
            protected KryoSlot create() {
                return new KryoSlot(config, rules, limits);
            }
        };
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
            slot.output.reset();
            slot.resolver.startValue();
            slot.kryo.writeClassAndObject(slot.output, value);
            byte[] bytes = slot.output.toBytes();
            reusable = true;
            return bytes;
        } catch (RuntimeException e) {
            throw failure(attributeName, value == null ? null : value.getClass().getName(), e, true, "");
        } finally {
            release(slot, reusable);
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
