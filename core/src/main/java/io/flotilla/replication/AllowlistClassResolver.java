package io.flotilla.replication;

import com.esotericsoftware.kryo.ClassResolver;
import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Registration;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import io.flotilla.replication.CodecException.Reason;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Kryo {@link ClassResolver} that puts class <em>names</em> on the wire, never registration ids, so nodes need
 * no shared registration order. The class tag of a value is a varint:
 * <pre>
 *   0            null
 *   1            a class new to this message: varint length + UTF-8 binary name; it gets the next index
 *   2 .. 2+W-1   one of the W {@linkplain WellKnownTypes well-known JDK types}, a fixed, append-only table
 *   2+W+i        the class that got index i earlier in this message
 * </pre>
 * On reading, a name is checked against the allowlist before any {@code Class.forName}, and loaded with
 * {@code initialize=false} through the caller's class loader. On writing, a class outside the allowlist is
 * refused as well, so the failure surfaces at {@code setAttribute} on the primary, not on the replicas.
 *
 * <p>Threading: belongs to one Kryo instance, one thread at a time.
 */
final class AllowlistClassResolver implements ClassResolver {
    static final int MAX_NAME_BYTES = 1024;
    private static final int NULL_TAG = 0;
    private static final int NEW_NAME_TAG = 1;
    static final int FIRST_WELL_KNOWN_TAG = 2;

    private final ClassAllowlist allowlist;
    private final CodecConfig config;
    private final SerializationRules rules;
    private final FilteredJavaSerializer java;
    private Kryo kryo;
    private ClassLoader classLoader;

    private final Map<Class<?>, Registration> byClass = new HashMap<>();
    private final Map<Class<?>, Integer> wellKnownTags = new IdentityHashMap<>();
    private Registration[] wellKnown = new Registration[0];
    private final Map<String, Class<?>> loaded = new HashMap<>();

    // Per message (cleared by reset()).
    private final Map<Class<?>, Integer> written = new IdentityHashMap<>();
    private final List<Registration> read = new ArrayList<>();

    /** The first and the last class the input being read named, for error messages; null before the first. */
    private Class<?> firstRead;
    private Class<?> lastRead;

    AllowlistClassResolver(CodecConfig config, SerializationRules rules, Limits limits) {
        this.config = config;
        this.allowlist = config.allowlist();
        this.rules = rules;
        this.java = new FilteredJavaSerializer(config, limits, this::classLoader);
        this.classLoader = AllowlistClassResolver.class.getClassLoader();
    }

    /** Installs the well-known table; call once the Kryo instance has its default serializers. */
    void installWellKnown(List<WellKnownTypes.Entry> entries) {
        wellKnown = new Registration[entries.size()];
        for (int i = 0; i < entries.size(); i++) {
            WellKnownTypes.Entry e = entries.get(i);
            Registration r = new Registration(e.aliases().get(0), e.serializer(), -1);
            wellKnown[i] = r;
            for (Class<?> alias : e.aliases()) {
                wellKnownTags.put(alias, i);
                byClass.put(alias, r);
            }
        }
    }

    /** The class loader names are resolved with from now on; clears the name cache when it changes. */
    void useClassLoader(ClassLoader loader) {
        if (loader != classLoader) {
            classLoader = loader;
            loaded.clear();
        }
    }

    ClassLoader classLoader() {
        return classLoader;
    }

    /** The Java-serialization route of this Kryo instance: one object stream per value. */
    FilteredJavaSerializer javaSerializer() {
        return java;
    }

    /** The class of the value being read (the first the input named), or null before it. */
    String valueClass() {
        return firstRead == null ? null : firstRead.getName();
    }

    /** Where a failing decode was: the value's class, and the class it was reading when that differs. */
    String readingWhere() {
        if (firstRead == null) {
            return "";
        }
        return " (reading " + firstRead.getName() + (lastRead != firstRead ? ", at " + lastRead.getName() : "") + ")";
    }

    @Override
    public void setKryo(Kryo kryo) {
        this.kryo = kryo;
    }

    @Override
    public Registration register(Registration registration) {
        byClass.put(registration.getType(), registration);
        return registration;
    }

    @Override
    public Registration unregister(int classID) {
        return null; // no numeric ids
    }

    @Override
    @SuppressWarnings("rawtypes")
    public Registration registerImplicit(Class type) {
        String name = type.getName();
        if (!allowlist.isAllowed(name)) {
            throw notAllowed(name);
        }
        Serializer<?> serializer = rules.route(type) == SerializationRules.Route.JAVA ? java
                : kryo.getDefaultSerializer(type);
        Registration r = new Registration(type, serializer, -1);
        byClass.put(type, r);
        return r;
    }

    @Override
    @SuppressWarnings("rawtypes")
    public Registration getRegistration(Class type) {
        Registration r = byClass.get(type);
        if (r == null) {
            if (Proxy.isProxyClass(type)) {
                throw new AttributeCodecException(Reason.NOT_ALLOWED, null, type.getName(),
                        "dynamic proxy " + type.getName() + " cannot be replicated", null);
            }
            if (type.getName().indexOf('/') >= 0) {
                throw new AttributeCodecException(Reason.NOT_SERIALIZABLE, null, type.getName(),
                        "lambda " + type.getName() + " cannot be replicated: store data, not code, in the session",
                        null);
            }
        }
        return r;
    }

    @Override
    public Registration getRegistration(int classID) {
        return null; // no numeric ids
    }

    @Override
    @SuppressWarnings("rawtypes")
    public Registration writeClass(Output output, Class type) {
        if (type == null) {
            output.writeVarInt(NULL_TAG, true);
            return null;
        }
        Registration r = kryo.getRegistration(type);
        Integer tag = wellKnownTags.get(r.getType());
        if (tag != null) {
            output.writeVarInt(FIRST_WELL_KNOWN_TAG + tag, true);
            return r;
        }
        Class<?> wireType = r.getType();
        Integer index = written.get(wireType);
        if (index != null) {
            output.writeVarInt(FIRST_WELL_KNOWN_TAG + wellKnown.length + index, true);
            return r;
        }
        written.put(wireType, written.size());
        byte[] name = wireType.getName().getBytes(StandardCharsets.UTF_8);
        output.writeVarInt(NEW_NAME_TAG, true);
        output.writeVarInt(name.length, true);
        output.writeBytes(name);
        return r;
    }

    @Override
    public Registration readClass(Input input) {
        int tag = input.readVarInt(true);
        if (tag == NULL_TAG) {
            return null;
        }
        if (tag == NEW_NAME_TAG) {
            int length = input.readVarInt(true);
            int left = input.limit() - input.position();
            if (length <= 0 || length > MAX_NAME_BYTES || length > left) {
                throw new CodecException(length > left ? Reason.LIMIT_EXCEEDED : Reason.MALFORMED,
                        "class name of " + Integer.toUnsignedLong(length) + " bytes (1-" + MAX_NAME_BYTES
                                + " allowed, " + left + " left in the input)");
            }
            String name = new String(input.readBytes(length), StandardCharsets.UTF_8);
            Registration r = kryo.getRegistration(load(name));
            read.add(r);
            return track(r);
        }
        int wellKnownIndex = tag - FIRST_WELL_KNOWN_TAG;
        if (wellKnownIndex >= 0 && wellKnownIndex < wellKnown.length) {
            return track(wellKnown[wellKnownIndex]);
        }
        int index = wellKnownIndex - wellKnown.length;
        if (index < 0 || index >= read.size()) {
            throw new CodecException(Reason.MALFORMED, "class tag " + Integer.toUnsignedLong(tag)
                    + " refers to name #" + index + " but only " + read.size() + " names came before it");
        }
        return track(read.get(index));
    }

    private Registration track(Registration r) {
        if (r.getType() == AttributeGroup.class) {
            return r; // the values inside name the classes that matter
        }
        lastRead = r.getType();
        if (firstRead == null) {
            firstRead = lastRead;
        }
        return r;
    }

    /** Checks the name against the allowlist, then loads it without initializing it. */
    private Class<?> load(String name) {
        Class<?> c = loaded.get(name);
        if (c != null) {
            return c;
        }
        if (!allowlist.isAllowed(name)) {
            throw notAllowed(name);
        }
        try {
            c = Class.forName(name, false, classLoader);
        } catch (ClassNotFoundException | LinkageError e) {
            throw new AttributeCodecException(Reason.NOT_SERIALIZABLE, null, name, "class " + name
                    + " is allowed but cannot be loaded here (" + e + "): deploy the same application on every node",
                    e);
        }
        loaded.put(name, c);
        return c;
    }

    private AttributeCodecException notAllowed(String name) {
        return new AttributeCodecException(Reason.NOT_ALLOWED, null, name, "class " + name
                + " is not on the replication allowlist: " + config.howToAllow(name), null);
    }

    @Override
    public void reset() {
        written.clear();
        read.clear();
    }

    /**
     * Before each value: forgets the previous value's Java object stream and where it was reading (Kryo resets the
     * class tables itself after each value; a slot that failed mid-value is discarded).
     */
    void startValue() {
        java.reset();
        firstRead = null;
        lastRead = null;
    }
}
