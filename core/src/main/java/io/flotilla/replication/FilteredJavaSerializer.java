package io.flotilla.replication;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import io.flotilla.replication.CodecException.Reason;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InvalidClassException;
import java.io.InvalidObjectException;
import java.io.NotSerializableException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.ObjectStreamClass;
import java.io.Serializable;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Java serialization for the values {@link SerializationRules} routes to it, inside a Kryo value. All such objects
 * of one value share one object stream (a chunk per object, in Kryo's order), so references between them stay
 * shared as Java serialization keeps them. Writing refuses, at {@code setAttribute}, every class (superclasses and
 * the classes of fields included) that the allowlist does not admit, so what the primary accepts a replica can
 * read. Reading runs under an {@link ObjectInputFilter} that admits only allowlisted classes, with depth, array,
 * reference and byte limits, and resolves each class by name through the allowlist before loading it, without
 * initializing it, with the caller's class loader: no {@code ObjectInputStream} ever sees a class outside the
 * allowlist. An object Kryo wrote earlier in the value, or one that is not {@code Serializable}, goes in the stream as
 * a marker ({@link KryoBackReference}, {@link KryoWritten}) and is written and read by Kryo, in the value's graph.
 *
 * <p>Threading: belongs to one Kryo instance, one thread at a time; {@link #reset()} before each value.
 */
final class FilteredJavaSerializer extends Serializer<Object> {
    private final ClassAllowlist allowlist;
    private final CodecConfig config;
    private final Limits limits;
    private final Supplier<ClassLoader> loader;

    /** The two classes of Flotilla's own that object streams carry (markers, see below). */
    private static final Set<String> MARKERS = Set.of(KryoBackReference.class.getName(),
            KryoWritten.class.getName());

    /**
     * Stands, inside a Java-serialized object, for an object Kryo wrote earlier in the same value (the list a plain
     * class holds in one field, wrapped by {@code Collections.unmodifiableList} in another), so the copy shares it
     * as the original does.
     */
    record KryoBackReference(int id) implements Serializable {
    }

    /**
     * Stands, inside a Java-serialized object, for an object that is not {@code Serializable} (an application class
     * only Kryo can write, in a {@code Collections.synchronizedList}, say): its Kryo bytes, in the value's Kryo
     * graph, read back where the marker is.
     */
    record KryoWritten(byte[] bytes) implements Serializable {
    }

    /**
     * The object stream of one value. A non-Serializable object inside it is written by Kryo, and a Java-routed
     * object inside that gets a stream of its own: a stack, the same when reading as when writing.
     */
    private static final class Streams {
        Object top;
        Bytes written;
        AllowlistObjectOutputStream out;
        final ChunkStream chunks = new ChunkStream();
        AllowlistObjectInputStream in;
        String rejected;
        String refusedOnWrite;
    }

    private Kryo kryo;
    private Streams s = new Streams();

    FilteredJavaSerializer(CodecConfig config, Limits limits, Supplier<ClassLoader> loader) {
        this.allowlist = config.allowlist();
        this.config = config;
        this.limits = limits;
        this.loader = loader;
    }

    /** Forgets the streams of the previous value (nothing to do when it had no Java-serialized part). */
    void reset() {
        kryo = null;
        if (s.top != null || s.in != null) {
            s = new Streams();
        }
    }

    private boolean admits(String name) {
        return allowlist.isAllowed(name) || MARKERS.contains(name);
    }

    @Override
    public void write(Kryo kryo, Output output, Object value) {
        try {
            this.kryo = kryo;
            s.top = value;
            int mark = 0; // the first chunk carries the stream header
            if (s.out == null) {
                s.written = new Bytes();
                s.out = new AllowlistObjectOutputStream(s.written);
            } else {
                mark = s.written.size();
            }
            s.out.writeObject(value);
            s.out.flush();
            int length = s.written.size() - mark;
            limits.arrayOnWrite(length);
            output.writeVarInt(length, true);
            output.writeBytes(s.written.buffer(), mark, length);
        } catch (NotSerializableException e) {
            if (s.refusedOnWrite != null) {
                throw notAllowed(s.refusedOnWrite, e);
            }
            throw new AttributeCodecException(Reason.NOT_SERIALIZABLE, null, e.getMessage(), "class " + e.getMessage()
                    + " inside a value of " + value.getClass().getName() + " is not Serializable, and "
                    + value.getClass().getName() + " is written with Java serialization (it defines its own"
                    + " serialization or is a JDK class): make it Serializable", e);
        } catch (IOException e) {
            throw new CodecException(Reason.NOT_SERIALIZABLE, "Java serialization of " + value.getClass().getName()
                    + " failed: " + e, e);
        }
    }

    @Override
    public Object read(Kryo kryo, Input input, Class<? extends Object> type) {
        s.rejected = null;
        this.kryo = kryo;
        int length = input.readVarInt(true);
        s.chunks.add(input.readBytes(length)); // checked against the caps and the bytes left
        try {
            if (s.in == null) {
                s.in = new AllowlistObjectInputStream(s.chunks);
                s.in.setObjectInputFilter(this::check);
            }
            Object value = s.in.readObject();
            if (s.chunks.available() != 0) {
                throw new CodecException(Reason.MALFORMED, s.chunks.available() + " bytes left after a Java-serialized "
                        + type.getName());
            }
            if (value != null && !type.isInstance(value)) {
                throw new CodecException(Reason.MALFORMED, "Java-serialized value of " + value.getClass().getName()
                        + " where " + type.getName() + " was announced");
            }
            return value;
        } catch (InvalidClassException e) {
            if (s.rejected != null && !s.rejected.startsWith("class ")) {
                throw new CodecException(Reason.LIMIT_EXCEEDED, "Java deserialization of " + type.getName()
                        + " exceeded a limit: " + s.rejected, e);
            }
            String refused = s.rejected != null ? s.rejected.substring(6) : e.classname != null ? e.classname
                    : type.getName();
            throw notAllowed(refused, e);
        } catch (IOException | ClassNotFoundException e) {
            throw new CodecException(Reason.MALFORMED, "Java deserialization of " + type.getName() + " failed: " + e, e);
        }
    }

    private AttributeCodecException notAllowed(String className, Exception cause) {
        return new AttributeCodecException(Reason.NOT_ALLOWED, null, className, "class " + className
                + " is not on the replication allowlist: " + config.howToAllow(className), cause);
    }

    private ObjectInputFilter.Status check(ObjectInputFilter.FilterInfo info) {
        if (info.depth() > limits.maxDepth || info.arrayLength() > limits.maxArrayLength
                || info.references() > limits.maxCollectionSize || info.streamBytes() > s.chunks.total) {
            s.rejected = "depth " + info.depth() + " (maxDepth=" + limits.maxDepth + "), array length "
                    + info.arrayLength() + " (maxArrayLength=" + limits.maxArrayLength + "), references "
                    + info.references() + " (maxCollectionSize=" + limits.maxCollectionSize + "), stream bytes "
                    + info.streamBytes() + " of " + s.chunks.total;
            return ObjectInputFilter.Status.REJECTED;
        }
        Class<?> c = info.serialClass();
        if (c == null) {
            return ObjectInputFilter.Status.UNDECIDED;
        }
        if (admits(c.getName())) { // arrays: by their element type, as ClassAllowlist decides
            return ObjectInputFilter.Status.ALLOWED;
        }
        s.rejected = "class " + ClassAllowlist.narrowestPattern(c.getName());
        return ObjectInputFilter.Status.REJECTED;
    }

    private static String elementName(String name) {
        String element = name;
        while (element.startsWith("[")) {
            element = element.substring(1);
        }
        return element.length() == 1 && !name.equals(element) ? null : name;
    }

    /** The object stream's bytes, readable without a copy. */
    private static final class Bytes extends ByteArrayOutputStream {
        Bytes() {
            super(256);
        }

        byte[] buffer() {
            return buf;
        }
    }

    private final class AllowlistObjectOutputStream extends ObjectOutputStream {
        AllowlistObjectOutputStream(ByteArrayOutputStream bytes) throws IOException {
            super(bytes);
            enableReplaceObject(true);
        }

        @Override
        protected Object replaceObject(Object obj) {
            if (kryo.getReferenceResolver() instanceof KryoSlot.SharingReferences r && r.sharing != null) {
                r.sharing.note(obj); // an object inside the stream that another attribute may hold too
            }
            if (obj == s.top) {
                return obj;
            }
            int id = kryo.getReferenceResolver().getWrittenId(obj);
            if (id >= 0) {
                return new KryoBackReference(id);
            }
            if (obj instanceof Serializable) {
                return obj;
            }
            Output nested = new Output(64, limits.maxValueBytes);
            Streams outer = s;
            s = new Streams();
            try {
                kryo.writeClassAndObject(nested, obj);
            } finally {
                s = outer;
            }
            return new KryoWritten(nested.toBytes());
        }

        @Override
        protected void annotateClass(Class<?> cl) throws IOException {
            if (s.refusedOnWrite != null) {
                return; // the stream is failing and writes its exception: the refusal is already recorded
            }
            String name = elementName(cl.getName());
            if (name != null && !admits(name)) {
                s.refusedOnWrite = name;
                throw new NotSerializableException(name + " (not on the replication allowlist)");
            }
        }

        @Override
        protected void annotateProxyClass(Class<?> cl) throws IOException {
            if (s.refusedOnWrite == null) {
                s.refusedOnWrite = cl.getName();
                throw new NotSerializableException("dynamic proxy " + cl.getName());
            }
        }
    }

    private final class AllowlistObjectInputStream extends ObjectInputStream {
        AllowlistObjectInputStream(InputStream in) throws IOException {
            super(in);
            enableResolveObject(true);
        }

        @Override
        protected Object resolveObject(Object obj) throws IOException {
            if (obj instanceof KryoWritten w) {
                BoundedInput nested = new BoundedInput(limits);
                nested.setBuffer(w.bytes());
                Streams outer = s;
                s = new Streams();
                Object value;
                try {
                    value = kryo.readClassAndObject(nested);
                } finally {
                    s = outer;
                }
                if (nested.remaining() != 0) {
                    throw new InvalidObjectException(nested.remaining() + " bytes left after an embedded value");
                }
                return value;
            }
            if (!(obj instanceof KryoBackReference r)) {
                return obj;
            }
            Object earlier;
            try {
                earlier = kryo.getReferenceResolver().getReadObject(Object.class, r.id());
            } catch (RuntimeException e) {
                earlier = null;
            }
            if (earlier == null) {
                throw new InvalidObjectException("reference to object #" + r.id()
                        + ", which the value has not read");
            }
            return earlier;
        }

        @Override
        protected Class<?> resolveClass(ObjectStreamClass desc) throws IOException, ClassNotFoundException {
            String name = desc.getName();
            String element = elementName(name);
            if (element != null && !admits(element)) {
                s.rejected = "class " + element;
                throw new InvalidClassException(element, "not on the replication allowlist");
            }
            return Class.forName(name, false, loader.get());
        }

        @Override
        protected Class<?> resolveProxyClass(String[] interfaces) throws IOException {
            s.rejected = "class dynamic proxy";
            throw new InvalidClassException("dynamic proxy", "proxies are never replicated");
        }
    }

    /** The chunks of one value's object stream, handed to the reader one at a time; never reads ahead. */
    private static final class ChunkStream extends InputStream {
        private byte[] chunk = new byte[0];
        private int position;
        long total;

        void add(byte[] next) {
            chunk = next;
            position = 0;
            total += next.length;
        }

        @Override
        public int read() {
            return position < chunk.length ? chunk[position++] & 0xFF : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (len == 0) {
                return 0;
            }
            int n = Math.min(len, chunk.length - position);
            if (n <= 0) {
                return -1;
            }
            System.arraycopy(chunk, position, b, off, n);
            position += n;
            return n;
        }

        @Override
        public int available() {
            return chunk.length - position;
        }
    }
}
