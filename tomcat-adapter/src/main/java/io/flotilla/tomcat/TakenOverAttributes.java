package io.flotilla.tomcat;

import io.flotilla.replication.PrimarySession;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.juli.logging.Log;
import org.apache.juli.logging.LogFactory;

/**
 * The attribute map of a Tomcat session taken over from a replica: it holds every name at once, but decodes a value
 * only when Tomcat first reads it ({@code get}, or the old value a {@code put} or {@code remove} hands to the
 * listeners), through the {@link PrimarySession}, which decodes each replicated value once with the web application's
 * class loader. A take-over of a session with many attributes therefore decodes only those the request uses. A value
 * that cannot be decoded is logged and dropped, as if it had never been replicated.
 *
 * <p>{@code StandardSession} reaches its map only through {@code get}, {@code put}, {@code remove}, {@code keySet}
 * and {@code clear}; those are what this class answers for (bulk views such as {@code values()} would show the
 * placeholder of a value not yet decoded).
 *
 * <p>Threading: safe from any thread (a {@link ConcurrentHashMap}); two threads reading one undecoded name both
 * get the value the primary decoded once.
 */
final class TakenOverAttributes extends ConcurrentHashMap<String, Object> {
    private static final long serialVersionUID = 1L;
    private static final Log log = LogFactory.getLog(TakenOverAttributes.class);
    /** A value still held only as the replicated bytes (in the primary). */
    private static final Object UNDECODED = new Object();

    private final transient PrimarySession primary;

    TakenOverAttributes(PrimarySession primary) {
        this.primary = primary;
        for (String name : primary.attributeNames()) {
            super.put(name, UNDECODED);
        }
    }

    @Override
    public Object get(Object key) {
        Object v = super.get(key);
        return v == UNDECODED ? decode((String) key) : v;
    }

    @Override
    public Object put(String key, Object value) {
        Object old = super.put(key, value);
        return old == UNDECODED ? decoded(key) : old;
    }

    @Override
    public Object remove(Object key) {
        Object old = super.remove(key);
        return old == UNDECODED ? decoded((String) key) : old;
    }

    /** Decodes {@code name} in place; null (and the name dropped) when it cannot be decoded. */
    private Object decode(String name) {
        Object v = decoded(name);
        if (v == null) {
            super.remove(name, UNDECODED);
            return null;
        }
        super.replace(name, UNDECODED, v);
        Object now = super.get(name);
        return now == UNDECODED ? v : now;
    }

    private Object decoded(String name) {
        try {
            return primary.getAttribute(name);
        } catch (RuntimeException e) {
            log.warn("session attribute '" + name + "' could not be restored after failover: " + e.getMessage());
            return null;
        }
    }
}
