package io.flotilla.bench;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@code key=value} arguments of the child-JVM programs ({@link ChildNode}, {@link TomcatNodeMain},
 * {@link StateTransferNode}).
 *
 * <p>Threading: static methods, safe from any thread.
 */
final class ChildArgs {
    private ChildArgs() {
    }

    /** The arguments as a map, in order; an argument without {@code =} or without a key is refused. */
    static Map<String, String> parse(String[] args) {
        Map<String, String> opts = new LinkedHashMap<>();
        for (String a : args) {
            int eq = a.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("expected key=value, got " + a);
            }
            opts.put(a.substring(0, eq), a.substring(eq + 1));
        }
        return opts;
    }

    /** The value of {@code key}, which must be there and not empty. */
    static String require(Map<String, String> opts, String key) {
        String v = opts.get(key);
        if (v == null || v.isEmpty()) {
            throw new IllegalArgumentException(key + "=<value> is required");
        }
        return v;
    }
}
