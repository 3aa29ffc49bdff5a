package io.flotilla.replication;

import java.io.Externalizable;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Decides, once per class, whether a value travels through Kryo or through Java serialization. Kryo is the fast
 * path, and faithful for a class whose whole state is its fields; a class that defines what serialization means
 * for it, or whose state Kryo cannot reach, goes through Java serialization (under the allowlist as an
 * {@code ObjectInputFilter}), which is exactly the contract the class was written against. In order:
 * <ol>
 *   <li>a class named in {@code javaSerializationClasses}: Java;
 *   <li>arrays, enums (with or without constant bodies) and classes that are not {@code Serializable}: Kryo (Java
 *       serialization cannot write them; stock Tomcat cannot replicate them at all);
 *   <li>{@code Externalizable}: Java;
 *   <li>a class of a named module (the JDK: {@code java.util.concurrent.atomic.AtomicLong}, {@code URI},
 *       {@code PriorityQueue}, the {@code Collections.synchronized*} wrappers, ...) that Flotilla has no dedicated
 *       serializer for: Java, because Kryo cannot reflect into it without {@code --add-opens}, and its own
 *       serialization is what keeps its invariants (comparators, mutexes, element types, caches);
 *   <li>a {@code Serializable} collection or map of the application: Java, because Kryo would rebuild it from its
 *       elements alone and drop its other state;
 *   <li>a class with {@code writeObject}, {@code readObject}, {@code readObjectNoData} or
 *       {@code serialPersistentFields} on itself or a serializable superclass, or a {@code writeReplace} or
 *       {@code readResolve} Java serialization would call: Java;
 *   <li>anything else: Kryo.
 * </ol>
 * The JDK types Flotilla writes itself ({@link WellKnownTypes}) never reach this rule.
 *
 * <p>Threading: safe from any thread; the decisions are cached in a concurrent map shared by every Kryo instance
 * of one codec.
 */
final class SerializationRules {
    /** How the values of one class are written. */
    enum Route {
        KRYO, JAVA
    }

    private final Set<String> javaSerializationClasses;
    private final Map<Class<?>, Route> decided = new ConcurrentHashMap<>();

    SerializationRules(Set<String> javaSerializationClasses) {
        this.javaSerializationClasses = javaSerializationClasses;
    }

    Route route(Class<?> type) {
        return decided.computeIfAbsent(type, this::decide);
    }

    private Route decide(Class<?> c) {
        if (javaSerializationClasses.contains(c.getName())) {
            return Route.JAVA;
        }
        if (c.isArray() || c.isPrimitive() || Enum.class.isAssignableFrom(c) || !Serializable.class.isAssignableFrom(c)) {
            return Route.KRYO;
        }
        if (Externalizable.class.isAssignableFrom(c) || c.getModule().isNamed()
                || Collection.class.isAssignableFrom(c) || Map.class.isAssignableFrom(c)) {
            return Route.JAVA;
        }
        try {
            return hasSerializationContract(c) ? Route.JAVA : Route.KRYO;
        } catch (LinkageError e) {
            // A method signature names a class this loader cannot load: Java serialization would fail the same
            // way, so Kryo (fields only) is the one that may still work.
            return Route.KRYO;
        }
    }

    private static boolean hasSerializationContract(Class<?> c) {
        for (Class<?> k = c; k != null && Serializable.class.isAssignableFrom(k); k = k.getSuperclass()) {
            if (privateMethod(k, "writeObject", ObjectOutputStream.class)
                    || privateMethod(k, "readObject", ObjectInputStream.class)
                    || privateMethod(k, "readObjectNoData")) {
                return true;
            }
            try {
                k.getDeclaredField("serialPersistentFields");
                return true;
            } catch (NoSuchFieldException e) {
                // none declared: the default field layout applies
            }
        }
        return inheritableMethod(c, "writeReplace") || inheritableMethod(c, "readResolve");
    }

    private static boolean privateMethod(Class<?> k, String name, Class<?>... params) {
        try {
            Method m = k.getDeclaredMethod(name, params);
            return Modifier.isPrivate(m.getModifiers()) && !Modifier.isStatic(m.getModifiers());
        } catch (NoSuchMethodException e) {
            return false;
        }
    }

    /** As {@code ObjectStreamClass} finds them: declared anywhere up the hierarchy, private only on the class. */
    private static boolean inheritableMethod(Class<?> c, String name) {
        for (Class<?> k = c; k != null; k = k.getSuperclass()) {
            try {
                Method m = k.getDeclaredMethod(name);
                int mods = m.getModifiers();
                if (Modifier.isStatic(mods) || Modifier.isAbstract(mods)) {
                    return false;
                }
                if (Modifier.isPublic(mods) || Modifier.isProtected(mods)) {
                    return true;
                }
                return Modifier.isPrivate(mods) ? k == c : samePackage(k, c);
            } catch (NoSuchMethodException e) {
                // look further up
            }
        }
        return false;
    }

    private static boolean samePackage(Class<?> a, Class<?> b) {
        return a.getClassLoader() == b.getClassLoader() && a.getPackageName().equals(b.getPackageName());
    }
}
