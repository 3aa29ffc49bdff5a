package io.flotilla.tomcat;

import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.MembershipListener;
import io.flotilla.Message;
import io.flotilla.MessageListener;
import io.flotilla.Node;
import io.flotilla.Registration;
import io.flotilla.View;
import io.flotilla.replication.ReplicationEngine;
import io.flotilla.replication.SessionCodec;
import io.flotilla.replication.SessionDelta;
import io.flotilla.replication.SessionOp;
import io.flotilla.replication.SessionRecord;
import jakarta.servlet.http.HttpSessionAttributeListener;
import jakarta.servlet.http.HttpSessionIdListener;
import jakarta.servlet.http.HttpSessionListener;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.apache.catalina.Context;
import org.apache.juli.logging.Log;
import org.apache.juli.logging.LogFactory;

/**
 * Stock {@code DeltaManager}'s {@code notifyListenersOnReplication} for one web application: as replication
 * arrives on this member, the application's {@link HttpSessionListener}s, {@link HttpSessionIdListener}s and {@link
 * HttpSessionAttributeListener}s (and {@code HttpSessionBindingListener} values) hear of the replicas it holds: a
 * session created, renamed, expired or gone, and attributes added, replaced and removed.
 *
 * <p>The engine keeps replicas as bytes and has no Tomcat session for them. For the listeners this class keeps one
 * Tomcat session per replica ({@link FlotillaSession#replicaView}), never registered with the manager (requests do
 * not find it), holding the decoded values, as stock's backup sessions do; it exists only when the cluster's {@code
 * notifyListenersOnReplication} is true and the application registered at least one such listener, so otherwise
 * nothing is decoded on replicas. Each replication message is seen around the engine's own handling of it (the
 * engine subscribes through {@link #wrap}): the replica before and after, compared per attribute by a hash of its
 * bytes, gives the events. A replica first seen here with a change (it came by state transfer, which stock does not
 * announce either) is taken in silently at its previous state, so the change itself is still announced.
 *
 * <p>Which messages name which session is read from the replication stream's documented framing (the namespace
 * prefix, the message kind, then {@link SessionCodec}'s delta or record, or a GONE's id). A message this class cannot
 * read is passed on to the engine untouched (the engine refuses and counts it).
 *
 * <p>Threading: messages arrive on the node's delivery threads, replica expiry on the engine's timer, take-overs on
 * request threads. One lock orders every change of the views and every listener call: listeners for one web
 * application's replicas run one at a time, with the web application's class loader as context class loader.
 */
final class ReplicaNotifier {
    private static final Log log = LogFactory.getLog(ReplicaNotifier.class);
    // The replication stream's framing (architecture.md, "Namespaces" and the message table).
    private static final byte NAMESPACED = 0x7F;
    private static final byte DELTA = 1;
    private static final byte FULL = 3;
    private static final byte GONE = 4;

    private final FlotillaManager manager;
    private final Context context;
    private final int topic;
    private final byte[] namespace;
    private final SessionCodec codec;
    private final ClassLoader loader;
    private final Object lock = new Object();
    private final Map<String, ReplicaView> views = new HashMap<>();
    private volatile ReplicationEngine engine;

    /** One replica as its listeners know it: the Tomcat session and a hash of each attribute's bytes. */
    private static final class ReplicaView {
        final FlotillaSession session;
        final Map<String, Long> hashes = new HashMap<>();

        ReplicaView(FlotillaSession session) {
            this.session = session;
        }
    }

    /** What one message says about one session. */
    private record Touch(String id, String renamedTo, boolean ends) {
    }

    ReplicaNotifier(FlotillaManager manager, Context context, int topic, String namespace, SessionCodec codec,
            ClassLoader loader) {
        this.manager = manager;
        this.context = context;
        this.topic = topic;
        this.namespace = namespace.getBytes(StandardCharsets.UTF_8);
        this.codec = codec;
        this.loader = loader;
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

    /** The engine whose replicas are watched; messages before this pass through unseen. */
    void engine(ReplicationEngine e) {
        engine = e;
    }

    /** {@code node} as the engine should see it: its replication topic's listener runs inside {@link #around}. */
    Node wrap(Node node) {
        return new WatchingNode(node);
    }

    // ------------------------------------------------------------------------------------------ messages

    private void around(Message m, MessageListener engineListener) throws Exception {
        ReplicationEngine e = engine;
        Touch t = e == null ? null : read(m.payload());
        SessionRecord before = t == null ? null : e.replica(t.id()).orElse(null);
        engineListener.onMessage(m);
        if (t != null) {
            try {
                applied(e, t, before);
            } catch (RuntimeException ex) {
                log.warn("session listeners on a replica of " + manager.getNamespace() + " failed: " + ex, ex);
            }
        }
    }

    /** The session a replication message of this web application is about, or null. */
    private Touch read(ByteBuffer payload) {
        ByteBuffer in = payload.duplicate();
        try {
            if (!in.hasRemaining() || in.get() != NAMESPACED || (in.get() & 0xFF) != namespace.length) {
                return null;
            }
            for (byte b : namespace) {
                if (in.get() != b) {
                    return null;
                }
            }
            byte kind = in.get();
            if (kind == DELTA) {
                SessionDelta d = codec.decodeDelta(rest(in));
                String renamed = null;
                for (SessionOp op : d.ops()) {
                    if (op instanceof SessionOp.ChangeId c) {
                        renamed = c.newId();
                    }
                }
                return new Touch(d.sessionId(), renamed, d.expires());
            } else if (kind == FULL) {
                return new Touch(codec.decodeRecord(rest(in)).id(), null, false);
            } else if (kind == GONE) {
                byte[] id = new byte[Short.toUnsignedInt(in.getShort())];
                in.get(id);
                return new Touch(new String(id, StandardCharsets.UTF_8), null, true);
            }
            return null; // requests and ownership announcements change no replica by themselves
        } catch (RuntimeException ex) {
            // Never in the engine's way: it refuses the same message and counts it (dropped{reason=malformed}).
            if (log.isDebugEnabled()) {
                log.debug("a replication message of " + manager.getNamespace() + " could not be read: " + ex);
            }
            return null;
        }
    }

    private static byte[] rest(ByteBuffer in) {
        byte[] b = new byte[in.remaining()];
        in.get(b);
        return b;
    }

    /** Tells the listeners what the engine did with {@code t}'s session, given the replica before it. */
    private void applied(ReplicationEngine e, Touch t, SessionRecord before) {
        String currentId = t.renamedTo() != null ? t.renamedTo() : t.id();
        SessionRecord after = e.replica(currentId).orElse(null);
        withContext(() -> {
            synchronized (lock) {
                ReplicaView v = views.get(t.id());
                if (v == null) {
                    if (after == null) {
                        return; // nothing to announce (or taken over here meanwhile)
                    } else if (before != null) {
                        v = seed(before); // known here (state transfer) before listeners saw it: silently
                        views.put(t.id(), v);
                    } else {
                        v = new ReplicaView(FlotillaSession.replicaView(manager, after.id(), after.metadata()));
                        views.put(after.id(), v);
                        v.session.tellNew();
                        update(v, after);
                        return;
                    }
                }
                if (t.renamedTo() != null && after != null && !t.renamedTo().equals(t.id())) {
                    views.remove(t.id());
                    views.put(t.renamedTo(), v);
                    v.session.replicaRenamed(t.renamedTo());
                    v.session.tellChangedSessionId(t.renamedTo(), t.id(), true, true);
                }
                if (after != null) {
                    update(v, after);
                } else if (t.ends() && e.replica(t.id()).isEmpty()) {
                    views.remove(t.id());
                    v.session.expire(true);
                }
                // else: not applied (early, duplicate, or waiting for a full copy): the next message tells
            }
        });
    }

    /** Adds, replaces and removes what differs between {@code v} and {@code r}, with the listeners. */
    private void update(ReplicaView v, SessionRecord r) {
        v.session.replicaMetadata(r.metadata());
        for (String name : r.attributeNames()) {
            long h = hash(r.attributeBytes(name));
            Long previous = v.hashes.get(name);
            if (previous != null && previous == h) {
                continue;
            }
            Object value = decode(r, name);
            if (value == null) {
                continue;
            }
            v.hashes.put(name, h);
            v.session.setAttribute(name, value, true);
        }
        for (String name : List.copyOf(v.hashes.keySet())) {
            if (!r.attributeNames().contains(name)) {
                v.hashes.remove(name);
                v.session.removeAttribute(name, true);
            }
        }
    }

    private ReplicaView seed(SessionRecord r) {
        ReplicaView v = new ReplicaView(FlotillaSession.replicaView(manager, r.id(), r.metadata()));
        for (String name : r.attributeNames()) {
            Object value = decode(r, name);
            if (value != null) {
                v.hashes.put(name, hash(r.attributeBytes(name)));
                v.session.putSilently(name, value);
            }
        }
        return v;
    }

    private Object decode(SessionRecord r, String name) {
        try {
            return r.attribute(name, engine.codec(), loader);
        } catch (RuntimeException ex) {
            log.warn("replicated attribute '" + name + "' of " + manager.getNamespace() + " could not be decoded for "
                    + "its listeners: " + ex.getMessage());
            return null;
        }
    }

    // ------------------------------------------------------------------------------------------ from the manager

    /**
     * The replica {@code id} becomes a session owned here (failover): its view goes without events.
     *
     * @return whether the listeners knew the session (then they must not hear of it as new)
     */
    boolean takenOver(String id) {
        synchronized (lock) {
            return views.remove(id) != null;
        }
    }

    /** The engine expired the replica {@code id} (its owner is gone and it was idle): the listeners hear of it. */
    void replicaExpired(String id) {
        withContext(() -> {
            synchronized (lock) {
                ReplicaView v = views.remove(id);
                if (v != null) {
                    v.session.expire(true);
                }
            }
        });
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

    /** FNV-1a, 64 bits, with the length mixed in: tells a changed value from an unchanged one. */
    private static long hash(byte[] b) {
        long h = 0xcbf29ce484222325L ^ b.length;
        for (byte x : b) {
            h ^= x & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }

    /** The node with the replication topic's listeners run inside {@link #around}; everything else as is. */
    private final class WatchingNode implements Node {
        private final Node node;

        WatchingNode(Node node) {
            this.node = node;
        }

        @Override
        public Member localMember() {
            return node.localMember();
        }

        @Override
        public View view() {
            return node.view();
        }

        @Override
        public CompletionStage<Void> send(Member to, int t, ByteBuffer payload, Delivery delivery) {
            return node.send(to, t, payload, delivery);
        }

        @Override
        public CompletionStage<Void> send(Collection<Member> to, int t, ByteBuffer payload, Delivery delivery) {
            return node.send(to, t, payload, delivery);
        }

        @Override
        public void suspect(Member member, String reason) {
            node.suspect(member, reason);
        }

        @Override
        public Registration addMessageListener(int t, MessageListener listener) {
            return t == topic ? node.addMessageListener(t, m -> around(m, listener))
                    : node.addMessageListener(t, listener);
        }

        @Override
        public Registration addMembershipListener(MembershipListener listener) {
            return node.addMembershipListener(listener);
        }

        /** The engine does not close its node; neither does this view of it. */
        @Override
        public void close() {
        }

        @Override
        public String toString() {
            return node.toString();
        }
    }
}
