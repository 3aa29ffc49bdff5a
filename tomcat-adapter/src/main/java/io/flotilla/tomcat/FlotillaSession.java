package io.flotilla.tomcat;

import io.flotilla.replication.AttributeCodecException;
import io.flotilla.replication.PrimarySession;
import io.flotilla.replication.SessionMetadata;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.catalina.Manager;
import org.apache.catalina.realm.GenericPrincipal;
import org.apache.catalina.session.StandardSession;
import org.apache.juli.logging.Log;
import org.apache.juli.logging.LogFactory;

/**
 * A Tomcat session that records its changes into the replication engine's {@link PrimarySession}: attributes set and
 * removed, max inactive interval, principal and auth type, the authenticators' notes ({@link AuthenticationNotes}:
 * a FORM login in progress survives a failover), and access. Tomcat's own attribute map stays the live
 * copy the web application reads; the primary holds the same values and encodes the changed ones into the next delta,
 * which {@link ReplicationValve} has the engine make when the request completes.
 *
 * <p>A value's class is checked against the allowlist before Tomcat stores it (so a refused class leaves the
 * session unchanged and the application gets the exception at {@code setAttribute}); the value itself is encoded
 * when the request ends, so changes made to it later in the request replicate ({@link PrimarySession}).
 *
 * <p>Threading: safe under concurrent requests on one session. After Tomcat stored a value, {@link #reconcile}
 * records whatever the map holds at that moment under {@link #lock}, so when two requests set one name at once the
 * replicated value is the one Tomcat kept.
 */
final class FlotillaSession extends StandardSession {
    private static final long serialVersionUID = 1L;
    private static final Log log = LogFactory.getLog(FlotillaSession.class);

    private final transient Object lock = new Object();
    private transient volatile PrimarySession primary;
    private transient volatile boolean localExpiry;
    /** Requests between access and endAccess that the engine counted ({@link PrimarySession#beginAccess}). */
    private final transient AtomicInteger accesses = new AtomicInteger();
    /** A replica's session for its listeners only ({@link ReplicaNotifier}); the manager never holds it. */
    private transient boolean replicaView;

    FlotillaSession(Manager manager) {
        super(manager);
    }

    PrimarySession primary() {
        return primary;
    }

    /** Starts recording into {@code p}; attributes set before (by a session listener) are recorded now. */
    void attach(PrimarySession p, boolean recordCurrent) {
        synchronized (lock) {
            primary = p;
            if (recordCurrent) {
                for (String name : keys()) {
                    reconcile(name);
                }
                recordNotes();
            }
        }
    }

    /**
     * A session standing for a replica held here, for the application's listeners ({@link ReplicaNotifier}): valid,
     * with the replica's id and times, never registered with the manager, recording nothing.
     */
    static FlotillaSession replicaView(Manager manager, String id, SessionMetadata md) {
        FlotillaSession s = new FlotillaSession(manager);
        s.replicaView = true;
        s.setValid(true);
        s.setCreationTime(md.creationTime());
        s.id = id;
        s.isNew = false;
        s.replicaMetadata(md);
        return s;
    }

    boolean isReplicaView() {
        return replicaView;
    }

    /** A replica view follows its replica's times and interval. */
    void replicaMetadata(SessionMetadata md) {
        this.lastAccessedTime = md.lastAccessedTime();
        this.thisAccessedTime = md.lastAccessedTime();
        this.maxInactiveInterval = md.maxInactiveIntervalSeconds();
    }

    /** A replica view follows its replica's new id (the listeners are told by the caller). */
    void replicaRenamed(String newId) {
        this.id = newId;
    }

    /** Puts a value without listeners (a replica view taken in at its current state). */
    void putSilently(String name, Object value) {
        attributes.put(name, value);
    }

    /**
     * Restores the Tomcat side from a primary taken over from a replica (no listener runs). Every value is decoded
     * here: Tomcat's activation of the session reads each one anyway (for activation listeners).
     *
     * @throws SessionRestoreException when a value does not decode here; this session must then not be used
     */
    void restore(PrimarySession p, SessionMetadata md) {
        setValid(true);
        setCreationTime(p.creationTime());
        this.lastAccessedTime = p.lastAccessedTime();
        this.thisAccessedTime = p.lastAccessedTime();
        this.maxInactiveInterval = p.maxInactiveInterval();
        this.isNew = p.isNew();
        String failedName = null;
        AttributeCodecException failure = null;
        int otherFailures = 0;
        for (String name : p.attributeNames()) {
            try {
                Object v = p.getAttribute(name);
                if (v != null) {
                    attributes.put(name, v);
                }
            } catch (AttributeCodecException e) {
                // never served without it: the engine counted and logged it (once), the bytes stay replicated
                if (failure == null) {
                    failedName = name;
                    failure = e;
                } else {
                    otherFailures++;
                }
            }
        }
        if (failure != null) {
            throw new SessionRestoreException(failedName, failure, otherFailures);
        }
        if (md != null) {
            this.principal = decodePrincipal(md.principal());
            byte[] auth = md.authType();
            this.authType = auth == null ? null : new String(auth, StandardCharsets.UTF_8);
            try {
                notes.putAll(AuthenticationNotes.decode(md.notes()));
            } catch (IllegalArgumentException e) {
                log.warn("replicated authentication notes could not be read (" + e.getMessage() + "); a login in "
                        + "progress on the failed node must start again");
            }
        }
        primary = p;
    }

    // ------------------------------------------------------------------------------------------ attributes

    @Override
    public boolean isAttributeDistributable(String name, Object value) {
        return true; // the codec and its allowlist decide, with a clearer message than "not Serializable"
    }

    @Override
    protected boolean exclude(String name, Object value) {
        if (super.exclude(name, value)) {
            return true;
        }
        return getManager() instanceof FlotillaManager fm && !fm.replicatesName(name);
    }

    @Override
    public void setAttribute(String name, Object value, boolean notify) {
        if (name == null || value == null) {
            super.setAttribute(name, value, notify);
            return;
        }
        PrimarySession p = primary;
        boolean record = p != null && isValidInternal() && !exclude(name, value);
        if (record) {
            synchronized (lock) {
                try {
                    p.setAttribute(name, value);
                } catch (AttributeCodecException e) {
                    if (getManager() instanceof FlotillaManager fm) {
                        fm.refused();
                    }
                    throw new IllegalArgumentException(e.getMessage(), e);
                } catch (IllegalStateException handedOver) {
                    record = false; // the primary is gone (invalidated or handed to an older owner)
                }
            }
        }
        super.setAttribute(name, value, notify);
        if (record) {
            reconcile(name);
        }
    }

    @Override
    public void removeAttribute(String name, boolean notify) {
        super.removeAttribute(name, notify);
        reconcile(name);
    }

    /** Records what Tomcat's map holds for {@code name} now, when it differs from what the primary has. */
    private void reconcile(String name) {
        PrimarySession p = primary;
        if (p == null || name == null) {
            return;
        }
        synchronized (lock) {
            Object current = attributes.get(name);
            try {
                if (current == null) {
                    if (p.attributeNames().contains(name)) {
                        p.removeAttribute(name);
                    }
                } else if (!exclude(name, current) && p.getAttribute(name) != current) {
                    p.setAttribute(name, current);
                }
            } catch (IllegalStateException gone) {
                // invalidated meanwhile: nothing more replicates for this session
            } catch (AttributeCodecException e) {
                log.warn("session attribute '" + name + "' not replicated: " + e.getMessage());
            }
        }
    }

    // ------------------------------------------------------------------------------------------ notes

    /** Tomcat's notes stay local, except the authenticators' ({@link AuthenticationNotes}), which replicate. */
    @Override
    public void setNote(String name, Object value) {
        super.setNote(name, value);
        if (AuthenticationNotes.replicates(name)) {
            recordNotes();
        }
    }

    @Override
    public void removeNote(String name) {
        super.removeNote(name);
        if (AuthenticationNotes.replicates(name)) {
            recordNotes();
        }
    }

    private void recordNotes() {
        PrimarySession p = primary;
        if (p != null) {
            synchronized (lock) {
                try {
                    p.notes(AuthenticationNotes.encode(notes::get));
                } catch (IllegalStateException gone) {
                    // invalidated: nothing more replicates
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------ metadata

    @Override
    public void setMaxInactiveInterval(int interval) {
        super.setMaxInactiveInterval(interval);
        PrimarySession p = primary;
        if (p != null) {
            try {
                p.maxInactiveInterval(interval);
            } catch (IllegalStateException gone) {
                // invalidated: nothing more replicates
            }
        }
    }

    @Override
    public void setPrincipal(Principal principal) {
        super.setPrincipal(principal);
        recordPrincipal();
    }

    @Override
    public void setAuthType(String authType) {
        super.setAuthType(authType);
        recordPrincipal();
    }

    private void recordPrincipal() {
        PrimarySession p = primary;
        if (p != null) {
            try {
                p.principal(encodePrincipal(getPrincipal()),
                        getAuthType() == null ? null : getAuthType().getBytes(StandardCharsets.UTF_8));
            } catch (IllegalStateException gone) {
                // invalidated: nothing more replicates
            }
        }
    }

    @Override
    public void access() {
        PrimarySession p = primary;
        if (p != null) {
            if (p.beginAccess()) {
                accesses.incrementAndGet(); // until endAccess, the engine hands the session to no other member
            } else if (p.isHandedOver()) {
                // another member asked for it between this request's findSession and now: it lives there
                throw new IllegalStateException("session " + FlotillaManager.redact(getIdInternal())
                        + " moved to another member while this request started; retry the request");
            }
        }
        super.access(); // after the check: a request refused above never ends its access here
        recordAccess();
    }

    @Override
    public void endAccess() {
        super.endAccess();
        recordAccess();
        PrimarySession p = primary;
        if (p != null && accesses.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0) {
            p.endAccess();
        }
    }

    private void recordAccess() {
        PrimarySession p = primary;
        if (p != null && isValidInternal()) {
            try {
                p.access(isNew);
            } catch (IllegalStateException gone) {
                // invalidated meanwhile
            }
        }
    }

    // ------------------------------------------------------------------------------------------ expiry

    @Override
    public void expire(boolean notify) {
        super.expire(notify);
        PrimarySession p = primary;
        if (p != null && !localExpiry) {
            p.invalidate(); // replicates the end of the session (asynchronously)
        }
    }

    /** Ends the session here only (the node stops; the others keep it). */
    void expireLocally() {
        localExpiry = true;
        expire(true);
    }

    /**
     * Drops the local copy of a session that moved to another member: it lives on there, so the application's
     * listeners here are not told it ended (as Tomcat does not when a session is passivated).
     */
    void movedAway() {
        localExpiry = true;
        expire(false);
    }

    // ------------------------------------------------------------------------------------------ principal bytes

    /** A principal as its name and roles: what Tomcat's realms put in a {@link GenericPrincipal}. */
    static byte[] encodePrincipal(Principal p) {
        if (p == null) {
            return null;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeUTF(p.getName());
            String[] roles = p instanceof GenericPrincipal gp ? gp.getRoles() : new String[0];
            out.writeShort(roles.length);
            for (String r : roles) {
                out.writeUTF(r);
            }
        } catch (IOException e) {
            throw new IllegalStateException("in-memory stream", e);
        }
        return bytes.toByteArray();
    }

    static Principal decodePrincipal(byte[] b) {
        if (b == null) {
            return null;
        }
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(b))) {
            String name = in.readUTF();
            int n = in.readUnsignedShort();
            List<String> roles = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                roles.add(in.readUTF());
            }
            return CatalinaApi.principal(name, roles);
        } catch (IOException e) {
            log.warn("replicated principal could not be read (" + e.getMessage() + "); the session is anonymous");
            return null;
        }
    }
}
