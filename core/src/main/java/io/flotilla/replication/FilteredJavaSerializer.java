package io.flotilla.replication;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import io.flotilla.replication.CodecException.Reason;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InvalidClassException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.ObjectStreamClass;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Java serialization for the classes the application opted in (allowlisted {@code Serializable} classes Kryo
 * cannot handle). Reading runs under an {@link ObjectInputFilter} that admits only allowlisted classes (and the
 * few JDK classes Java serialization itself needs to describe them), with depth, array and reference limits, and
 * resolves classes by name through the allowlist before loading them, without initializing them, with the
 * caller's class loader.
 *
 * <p>Threading: belongs to one Kryo instance, one thread at a time.
 */
final class FilteredJavaSerializer extends Serializer<Object> {
    /**
     * JDK classes Java serialization needs to describe allowed ones: supertypes, serial proxies, and Object (as the
     * element type of the arrays collections check, never instantiable itself).
     */
    private static final Set<String> SERIAL_HELPERS = Set.of("java.lang.Object", "java.lang.Number", "java.lang.Enum",
            "java.time.Ser", "java.util.ImmutableCollections$CollSer");

    private final ClassAllowlist allowlist;
    private final Limits limits;
    private final Supplier<ClassLoader> loader;

    FilteredJavaSerializer(ClassAllowlist allowlist, Limits limits, Supplier<ClassLoader> loader) {
        this.allowlist = allowlist;
        this.limits = limits;
        this.loader = loader;
    }

    private boolean admits(String name) {
        return allowlist.isAllowed(name) || SERIAL_HELPERS.contains(name);
    }

    @Override
    public void write(Kryo kryo, Output output, Object value) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(value);
        } catch (IOException e) {
            throw new CodecException(Reason.NOT_SERIALIZABLE, "Java serialization of " + value.getClass().getName()
                    + " failed: " + e, e);
        }
        output.writeVarInt(bytes.size(), true);
        output.writeBytes(bytes.toByteArray());
    }

    @Override
    public Object read(Kryo kryo, Input input, Class<? extends Object> type) {
        int length = input.readVarInt(true);
        byte[] data = input.readBytes(length); // checked against the caps and the bytes left
        String[] rejected = new String[1];
        ObjectInputFilter filter = info -> {
            if (info.depth() > limits.maxDepth || info.arrayLength() > limits.maxArrayLength
                    || info.references() > limits.maxCollectionSize || info.streamBytes() > length) {
                rejected[0] = "depth " + info.depth() + " (maxDepth=" + limits.maxDepth + "), array length "
                        + info.arrayLength() + " (maxArrayLength=" + limits.maxArrayLength + "), references "
                        + info.references() + ", stream bytes " + info.streamBytes() + " of " + length;
                return ObjectInputFilter.Status.REJECTED;
            }
            Class<?> c = info.serialClass();
            if (c == null) {
                return ObjectInputFilter.Status.UNDECIDED;
            }
            while (c.isArray()) {
                c = c.getComponentType();
            }
            if (c.isPrimitive() || admits(c.getName())) {
                return ObjectInputFilter.Status.ALLOWED;
            }
            rejected[0] = "class " + c.getName();
            return ObjectInputFilter.Status.REJECTED;
        };
        try (ObjectInputStream in = new AllowlistObjectInputStream(new ByteArrayInputStream(data))) {
            in.setObjectInputFilter(filter);
            Object value = in.readObject();
            if (value != null && !type.isInstance(value)) {
                throw new CodecException(Reason.MALFORMED, "Java-serialized value of " + value.getClass().getName()
                        + " where " + type.getName() + " was announced");
            }
            return value;
        } catch (InvalidClassException e) {
            if (rejected[0] != null && !rejected[0].startsWith("class ")) {
                throw new CodecException(Reason.LIMIT_EXCEEDED, "Java deserialization of " + type.getName()
                        + " exceeded a limit: " + rejected[0], e);
            }
            String refused = rejected[0] != null ? rejected[0].substring(6)
                    : e.classname != null ? e.classname : type.getName();
            throw new AttributeCodecException(Reason.NOT_ALLOWED, null, refused, "Java deserialization refused class "
                    + refused + ": " + ClassAllowlist.howToAllow(refused), e);
        } catch (IOException | ClassNotFoundException e) {
            throw new CodecException(Reason.MALFORMED, "Java deserialization of " + type.getName() + " failed: " + e, e);
        }
    }

    private final class AllowlistObjectInputStream extends ObjectInputStream {
        AllowlistObjectInputStream(ByteArrayInputStream in) throws IOException {
            super(in);
        }

        @Override
        protected Class<?> resolveClass(ObjectStreamClass desc) throws IOException, ClassNotFoundException {
            String name = desc.getName();
            String element = name;
            while (element.startsWith("[")) {
                element = element.substring(1);
            }
            boolean primitiveArray = element.length() == 1 && !name.equals(element);
            if (!primitiveArray && !admits(name)) {
                throw new InvalidClassException(name, "not on the replication allowlist");
            }
            return Class.forName(name, false, loader.get());
        }

        @Override
        protected Class<?> resolveProxyClass(String[] interfaces) throws IOException {
            throw new InvalidClassException("dynamic proxy", "proxies are never replicated");
        }
    }
}
