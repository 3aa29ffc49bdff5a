package io.flotilla.replication.corpus;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;

/**
 * Compares a value that crossed a replication path with its original by behaviour: the same class, equality where
 * the class defines it, the Java serialization of both byte for byte, and the shape's own check (access order,
 * comparator, mutex, identity of a singleton).
 *
 * <p>Threading: stateless.
 */
public final class Fidelity {
    private Fidelity() {
    }

    /** Null when {@code copy} behaves as {@code original}; else what differs. */
    public static String differences(SessionCorpus.Shape shape, Object original, Object copy) {
        if (original == null || copy == null) {
            return original == copy ? null : "null on one side";
        }
        if (original.getClass() != copy.getClass()) {
            return "class " + copy.getClass().getName() + " instead of " + original.getClass().getName();
        }
        if (original.getClass().isArray()) {
            if (!Arrays.deepEquals(new Object[] {original}, new Object[] {copy})) {
                return "array contents differ";
            }
        } else if (definesEquals(original.getClass()) && !equalsOrCyclic(original, copy)) {
            return "not equal";
        }
        if (original instanceof Serializable) {
            byte[] a = javaBytes(original);
            if (a != null && !Arrays.equals(a, javaBytes(copy))) {
                return "Java serialization differs";
            }
        }
        return shape.check() == null ? null : shape.check().apply(original, copy);
    }

    /**
     * Null when every copy behaves as its original ({@code copies} by attribute name) and the copies keep the
     * identities {@code shape} checks; else what differs.
     */
    public static String differences(SessionCorpus.SessionShape shape, Map<String, Object> originals,
            Map<String, Object> copies) {
        for (Map.Entry<String, Object> e : originals.entrySet()) {
            String differs = differences(new SessionCorpus.Shape(e.getKey(), null, null), e.getValue(),
                    copies.get(e.getKey()));
            if (differs != null) {
                return "'" + e.getKey() + "': " + differs;
            }
        }
        return shape.check().apply(copies);
    }

    /** A collection that contains itself recurses forever in equals: its bytes and its check decide. */
    private static boolean equalsOrCyclic(Object a, Object b) {
        try {
            return Objects.equals(a, b);
        } catch (StackOverflowError cyclic) {
            return true;
        }
    }

    private static boolean definesEquals(Class<?> c) {
        try {
            return c.getMethod("equals", Object.class).getDeclaringClass() != Object.class;
        } catch (NoSuchMethodException e) {
            throw new AssertionError(e);
        }
    }

    /** The Java serialization of {@code value}, or null when Java serialization cannot write it. */
    public static byte[] javaBytes(Object value) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(value);
        } catch (IOException e) {
            return null;
        }
        return bytes.toByteArray();
    }
}
