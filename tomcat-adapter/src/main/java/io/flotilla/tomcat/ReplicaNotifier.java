package io.flotilla.tomcat;

import io.flotilla.replication.ReplicaChange;
import io.flotilla.replication.ReplicaListener;
import io.flotilla.replication.SessionRecord;
import jakarta.servlet.http.HttpSessionAttributeListener;
import jakarta.servlet.http.HttpSessionIdListener;
import jakarta.servlet.http.HttpSessionListener;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.apache.catalina.Context;
import org.apache.juli.logging.Log;
import org.apache.juli.logging.LogFactory;

/**
 * Stock {@code DeltaManager}'s {@code notifyListenersOnReplication} for one web application: as replication
 * arrives on this member, the application's {@link HttpSessionListener}s, {@link HttpSessionIdListener}s and {@link
 * HttpSessionAttributeListener}s (and {@code HttpSessionBindingListener} values) hear of the replicas it holds: a
 * session created, renamed, ended or gone, and attributes added, replaced and removed.
 *
 * <p>The engine keeps replicas as bytes and has no Tomcat session for them. For the listeners this class keeps one
 * Tomcat session per replica ({@link FlotillaSession#replicaView}), never registered with the manager (requests do
 * not find it), holding the decoded values, as stock's backup sessions do; it exists only when the cluster's {@code
 * notifyListenersOnReplication} is true and the application registered at least one such listener, so otherwise
 * nothing is decoded on replicas. It is the engine's {@link ReplicaListener}: each change names its cause and the
 * attributes whose value changed, and only those are decoded. A replica first seen here with a change (it came by
 * state transfer, which stock does not announce either) is taken in silently at its previous state, so the change
 * itself is still announced.
 *
 * <p>Threading: the engine calls {@link #onChange} one change at a time, in apply order (delivery threads, the
 * expiry timer, request threads at a take-over); the manager calls {@link #takenOver} and {@link #stop}. One lock
 * orders every change of the views and every listener call, with the web application's class loader as context
 * class loader.
 */
final class ReplicaNotifier implements ReplicaListener {
    private static final Log log = LogFactory.getLog(ReplicaNotifier.class);

    private final FlotillaManager manager;
    private final Context context;
    private final Object lock = new Object();
    private final Map<String, ReplicaView> views = new HashMap<>();

    /** One replica as its listeners know it: the Tomcat session and the names it holds. */
    private static final class ReplicaView {
        final FlotillaSession session;
        final Set<String> names = new HashSet<>();

        ReplicaView(FlotillaSession session) {
            this.session = session;
        }
    }

    ReplicaNotifier(FlotillaManager manager, Context context) {
        this.manager = manager;
        this.context = context;
    }

    /** Whether {@code ctx} registered a listener this class would call. */
    static boolean hasSessionListeners(Context ctx) {
        for (Object l : ctx.getApplicationLifecycleListeners()) {
            if (l instanceof HttpSessionListener || l instanceof HttpSessionIdListener) {
                return true;
            }
        }
        for (Object l : ctx.getApplicationEventListeners()) {
            if (l instanceof HttpSessionAttributeListener || l instanceof HttpSessionIdListener) {
                return true;
            }
        }
        return false;
    }

    // ------------------------------------------------------------------------------------------ from the engine

    @Override
    public void onChange(ReplicaChange c) {
        withContext(() -> {
            synchronized (lock) {
                try {
                    apply(c);
                } catch (RuntimeException ex) {
                    log.warn("session listeners on a replica of " + manager.getNamespace() + " failed: " + ex, ex);
                }
            }
        });
    }

    private void apply(ReplicaChange c) {
        switch (c.cause()) {
            case TAKEN_OVER -> { } // the manager takes the view out itself ({@link #takenOver})
            case ENDED, EXPIRED, REMOVED -> {
                ReplicaView v = views.remove(c.id());
                if (v != null) {
                    v.session.expire(true);
                }
            }
            case TRANSFERRED -> {
                ReplicaView v = views.get(c.id());
                if (v != null) {
                    update(v, c); // known to the listeners already: they hear what the transfer changed
                }
            }
            case CREATED, UPDATED -> changed(c);
        }
    }

    private void changed(ReplicaChange c) {
        String was = c.previousId().orElse(c.id());
        ReplicaView v = views.get(was);
        if (v == null) {
            if (c.before() == null) {
                v = new ReplicaView(FlotillaSession.replicaView(manager, c.id(), c.after().metadata()));
                views.put(c.id(), v);
                v.session.tellNew();
                update(v, c);
                return;
            }
            v = seed(c); // known here (state transfer) before listeners saw it: silently
            views.put(was, v);
        }
        if (!was.equals(c.id())) {
            views.remove(was);
            views.put(c.id(), v);
            v.session.replicaRenamed(c.id());
            v.session.tellChangedSessionId(c.id(), was, true, true);
        }
        update(v, c);
    }

    /** Adds, replaces and removes the changed attributes, with the listeners. */
    private void update(ReplicaView v, ReplicaChange c) {
        SessionRecord after = c.after();
        v.session.replicaMetadata(after.metadata());
        for (String name : c.changedNames()) {
            if (after.attributeNames().contains(name)) {
                Object value = decode(name, () -> c.value(name));
                if (value != null) {
                    v.names.add(name);
                    v.session.setAttribute(name, value, true);
                }
            } else if (v.names.remove(name)) {
                v.session.removeAttribute(name, true);
            }
        }
    }

    /** A view of the replica as it was before {@code c}, taken in without listeners. */
    private ReplicaView seed(ReplicaChange c) {
        SessionRecord r = c.before();
        ReplicaView v = new ReplicaView(FlotillaSession.replicaView(manager, r.id(), r.metadata()));
        for (String name : r.attributeNames()) {
            Object value = decode(name, () -> c.previousValue(name));
            if (value != null) {
                v.names.add(name);
                v.session.putSilently(name, value);
            }
        }
        return v;
    }

    private Object decode(String name, Supplier<Object> value) {
        try {
            return value.get();
        } catch (RuntimeException ex) {
            // the replica keeps the bytes (a take-over decodes them again and fails its request if it still cannot);
            // only the listeners here miss the change: counted, and the message names the fix
            manager.undecodableForListeners();
            log.warn("replicated attribute '" + name + "' of " + manager.getNamespace() + " could not be decoded for "
                    + "its listeners: " + ex.getMessage());
            return null;
        }
    }

    // ------------------------------------------------------------------------------------------ from the manager

    /**
     * The replica {@code id} became a session owned here (failover): its view goes without events.
     *
     * @return whether the listeners knew the session (then they must not hear of it as new)
     */
    boolean takenOver(String id) {
        synchronized (lock) {
            return views.remove(id) != null;
        }
    }

    /** The web application stops: every replica view ends, with the listeners, as stock's backup sessions do. */
    void stop() {
        withContext(() -> {
            synchronized (lock) {
                for (ReplicaView v : List.copyOf(views.values())) {
                    try {
                        v.session.expire(true);
                    } catch (RuntimeException ex) {
                        log.warn("a replica's session listeners failed at stop: " + ex);
                    }
                }
                views.clear();
            }
        });
    }

    int size() {
        synchronized (lock) {
            return views.size();
        }
    }

    private void withContext(Runnable r) {
        ClassLoader previous = context.bind(false, null); // no security manager (gone in Tomcat 11)
        try {
            r.run();
        } finally {
            context.unbind(false, previous);
        }
    }
}
