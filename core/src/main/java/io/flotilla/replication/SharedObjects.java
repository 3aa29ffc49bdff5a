package io.flotilla.replication;

import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Which values of one batch (the attributes one replication encodes) reach a common object: every object Kryo or a
 * value's Java object stream writes is noted with the value it was written for, and two values that write one
 * object are joined (union-find over the values' indexes). Immutable JDK values (strings, boxed primitives, enum
 * constants) are left out: their identity means nothing, and the JDK shares them freely.
 *
 * <p>Threading: confined to the encoding thread.
 */
final class SharedObjects {
    private Map<Object, Integer> firstValue; // made at the first object that has an identity
    private final int[] parent;
    private int current;
    private boolean joined;

    SharedObjects(int values) {
        parent = new int[values];
        for (int i = 0; i < values; i++) {
            parent[i] = i;
        }
    }

    /** The objects noted from now on belong to value {@code index}. */
    void startValue(int index) {
        current = index;
    }

    void note(Object o) {
        if (o == null || o instanceof String || o instanceof Number || o instanceof Boolean
                || o instanceof Character || o instanceof Enum<?>) {
            return;
        }
        if (firstValue == null) {
            firstValue = new IdentityHashMap<>();
        }
        Integer first = firstValue.putIfAbsent(o, current);
        if (first != null && first != current) {
            parent[root(first)] = root(current);
            joined = true;
        }
    }

    /** Whether any two values share an object. */
    boolean joined() {
        return joined;
    }

    /** The representative of the values {@code index} shares objects with (itself when it shares none). */
    int root(int index) {
        int r = index;
        while (parent[r] != r) {
            r = parent[r];
        }
        while (parent[index] != r) { // path compression
            int next = parent[index];
            parent[index] = r;
            index = next;
        }
        return r;
    }
}
