package io.flotilla.tomcat;

import io.flotilla.Delivery;
import io.flotilla.replication.DrainReport;
import io.flotilla.replication.PrimarySession;
import io.flotilla.replication.ReplicationConfig;
import io.flotilla.replication.ReplicationEngine;
import io.flotilla.replication.ReplicationStats;
import io.flotilla.replication.SessionMetadata;
import io.flotilla.replication.StateTransfer;
import io.flotilla.replication.TakeOverException;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import org.apache.catalina.Cluster;
import org.apache.catalina.Context;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.LifecycleState;
import org.apache.catalina.Session;
import org.apache.catalina.session.ManagerBase;
import org.apache.catalina.session.StandardSession;
import org.apache.juli.logging.Log;
import org.apache.juli.logging.LogFactory;

/**
 * The session manager of a {@code <distributable/>} web application on a {@link FlotillaCluster}: what
 * {@link FlotillaCluster#createManager} returns, or named in a context's own {@code <Manager
 * className="io.flotilla.tomcat.FlotillaManager"/>} (a Flotilla cluster must then be configured on its Host or
 * Engine). Each web application has its own replication engine on the cluster's node, namespaced by host and context
 * name, so applications share the node but never each other's sessions.
 *
 * <p>Sessions are {@link FlotillaSession}s owned by this member. {@link #findSession} of an id this member holds
 * only as a replica takes the session over when its owner has left the view (failover), its values decoded with
 * the web application's class loader; while the owner is alive it returns null (route requests to the owner with
 * {@code jvmRoute}). Expiry by the engine ends the Tomcat session with its listeners; a node that stops ends its
 * sessions locally only, the others keep them.
 *
 * <p>Threading: safe from any thread, as Tomcat's managers are.
 */
public class FlotillaManager extends ManagerBase {
    private static final Log log = LogFactory.getLog(FlotillaManager.class);

    private volatile FlotillaCluster cluster;
    private volatile ReplicationEngine engine;
    private volatile String namespace = "";
    private volatile Pattern nameFilter;
    private volatile boolean notifyListenersOnReplication = true;
    /** Null unless notifyListenersOnReplication and the application has session listeners. */
    private volatile ReplicaNotifier notifier;
    private final Object takeOver = new Object();
    private volatile TomcatMeters meters;

    void setCluster(FlotillaCluster c) {
        this.cluster = c;
    }

    @Override
    public String getName() {
        return "FlotillaManager[" + namespace + "]";
    }

    // ------------------------------------------------------------------------------------------ lifecycle

    @Override
    protected void startInternal() throws LifecycleException {
        super.startInternal();
        Context ctx = getContext();
        FlotillaCluster c = cluster;
        if (c == null) {
            Cluster found = ctx.getCluster();
            if (!(found instanceof FlotillaCluster fc)) {
                throw new LifecycleException("FlotillaManager of context '" + ctx.getName() + "' needs a <Cluster "
                        + "className=\"io.flotilla.tomcat.FlotillaCluster\"/> on its Host or Engine; found "
                        + (found == null ? "none" : found.getClass().getName()));
            }
            c = fc;
            cluster = c;
        }
        ClusterSettings s = c.settings();
        namespace = (ctx.getParent() == null ? "" : ctx.getParent().getName()) + "#" + ctx.getName();
        nameFilter = s.attributeNameFilter;
        notifyListenersOnReplication = s.notifyListenersOnReplication;
        ClassLoader loader = ctx.getLoader() != null && ctx.getLoader().getClassLoader() != null
                ? ctx.getLoader().getClassLoader() : FlotillaManager.class.getClassLoader();
        MeterRegistry r = c.registry();
        meters = new TomcatMeters(r, namespace, sessions::size);
        // The engine's timer thread must not hold the web application's class loader (Tomcat reports that as a
        // leak, and it would pin the loader after a redeploy): start it under Flotilla's own loader.
        Thread current = Thread.currentThread();
        ClassLoader previous = current.getContextClassLoader();
        ReplicationConfig config = s.replicationConfig(namespace, loader, r);
        ReplicaNotifier n = notifyListenersOnReplication && ReplicaNotifier.hasSessionListeners(ctx)
                ? new ReplicaNotifier(this, ctx) : null;
        notifier = n;
        ReplicationEngine e;
        try {
            current.setContextClassLoader(FlotillaManager.class.getClassLoader());
            ReplicationEngine.Builder b = ReplicationEngine.builder(c.node()).config(config)
                    .onExpired(this::expiredByEngine).onMovedAway(this::movedAwayByEngine);
            if (n != null) {
                b.replicaListener(n);
            }
            e = b.start();
        } finally {
            current.setContextClassLoader(previous);
        }
        engine = e;
        c.started(namespace, this);
        StateTransfer t = e.stateTransfer();
        try {
            t.completion().toCompletableFuture().get(s.stateTransferTimeout.toMillis(), TimeUnit.MILLISECONDS);
            log.info("FlotillaManager " + namespace + " started: " + t);
        } catch (TimeoutException ex) {
            log.warn("FlotillaManager " + namespace + ": state transfer not done after "
                    + s.stateTransferTimeout.toSeconds() + " s (" + t + "); serving requests, sessions keep arriving");
        } catch (ExecutionException ex) {
            log.warn("FlotillaManager " + namespace + ": state transfer failed: " + ex.getCause());
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new LifecycleException("interrupted while waiting for the state transfer of " + namespace, ex);
        }
        setState(LifecycleState.STARTING);
    }

    @Override
    protected void stopInternal() throws LifecycleException {
        setState(LifecycleState.STOPPING);
        FlotillaCluster c0 = cluster;
        ClusterSettings settings = c0 == null || engine == null ? null : c0.settingsIfStarted();
        if (settings != null && !settings.drainTimeout.isZero()) {
            // before the sessions end here: those handed over live on elsewhere
            await("FlotillaManager " + namespace, drain(settings.drainTimeout), settings.drainTimeout);
        }
        for (Session s : findSessions()) {
            if (s instanceof FlotillaSession fs) {
                try {
                    fs.expireLocally();
                } catch (RuntimeException e) {
                    log.warn("session could not be ended locally at stop", e);
                }
            }
        }
        ReplicationEngine e = engine;
        engine = null;
        if (e != null) {
            e.close();
        }
        ReplicaNotifier n = notifier;
        notifier = null;
        if (n != null) {
            n.stop();
        }
        FlotillaCluster c = cluster;
        if (c != null) {
            c.stopped(namespace, this);
        }
        super.stopInternal();
    }

    /**
     * Starts handing every session this member owns to its next owner ({@link ReplicationEngine#drain}); the report
     * is logged when it comes.
     *
     * @return completes with the report (null when the engine is not running), within about {@code timeout}
     */
    CompletableFuture<DrainReport> drain(Duration timeout) {
        ReplicationEngine e = engine;
        if (e == null) {
            return CompletableFuture.completedFuture(null);
        }
        // what was not handed over is named in the engine's WARN line
        return e.drain(timeout).toCompletableFuture().whenComplete((r, ex) -> log.info("FlotillaManager " + namespace
                + " drained: " + r));
    }

    /** Waits for the report of a {@link #drain}, at most {@code timeout} and a second; null when none came (logged). */
    static DrainReport await(String what, CompletableFuture<DrainReport> drain, Duration timeout) {
        try {
            return drain.get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (TimeoutException | ExecutionException ex) {
            log.warn(what + ": drain did not report within " + timeout.toMillis() + " ms: " + ex);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            log.warn(what + ": interrupted while draining");
        }
        return null;
    }

    /** Nothing to load: the sessions live in the cluster. */
    @Override
    public void load() {
    }

    /** Nothing to save: the other members keep the sessions. */
    @Override
    public void unload() {
    }

    // ------------------------------------------------------------------------------------------ sessions

    @Override
    protected StandardSession getNewSession() {
        return new FlotillaSession(this);
    }

    @Override
    public Session createSession(String sessionId) {
        ReplicationEngine e = requireEngine();
        Session s = super.createSession(sessionId);
        PrimarySession p;
        try {
            p = e.create(s.getIdInternal(), s.getMaxInactiveInterval());
        } catch (IllegalStateException exists) {
            // the requested id is a session another member owns: never reuse it, draw a fresh one
            ((FlotillaSession) s).expireLocally();
            s = super.createSession(null);
            p = e.create(s.getIdInternal(), s.getMaxInactiveInterval());
        }
        ((FlotillaSession) s).attach(p, true);
        return s;
    }

    /**
     * How many {@link #localSession} calls run on this thread: while above 0, {@link #findSession} moves and takes
     * nothing over. A counter in a per-thread array, so that each request costs one {@code ThreadLocal.get}: a
     * {@code set} and a {@code remove} per request were 3% of an async request's CPU.
     */
    private static final ThreadLocal<int[]> LOCAL_ONLY = ThreadLocal.withInitial(() -> new int[1]);
    /**
     * How long a request on a non-owner waits for the owner's hand-off before it has the owner verified: a live owner
     * answers within a round trip plus its holders' acknowledgements of the release; one that does not answer in
     * this time is probably gone (sticky routing sends a request elsewhere when its owner failed), and it adds this
     * much to a failover from a hung owner (one that crashed refuses the connection and is verified at once). An
     * owner that answers busy for longer (a long request uses the session there) is verified too, and found alive.
     */
    private static final Duration OWNER_ANSWER = Duration.ofMillis(500);

    /**
     * What {@code lookup} finds (a request's {@code getSessionInternal(false)}, a {@code findSession}) among the
     * sessions owned here only: for end-of-request work on a request that never asked for its session, which must not
     * pull the session here from its owner (or take it over) just to replicate nothing.
     */
    static <T> T localSession(SessionLookup<T> lookup) throws IOException {
        int[] depth = LOCAL_ONLY.get();
        depth[0]++;
        try {
            return lookup.find();
        } finally {
            depth[0]--;
        }
    }

    /** True while a {@link #localSession} lookup runs on this thread. */
    static boolean lookingLocally() {
        return LOCAL_ONLY.get()[0] > 0;
    }

    /** A session lookup that may throw {@link IOException}. */
    @FunctionalInterface
    interface SessionLookup<T> {
        T find() throws IOException;
    }

    @Override
    public Session findSession(String id) throws IOException {
        Session s = super.findSession(id);
        if (s instanceof FlotillaSession fs && fs.primary() != null && fs.primary().isInvalidated()) {
            if (fs.primary().isHandedOver()) {
                fs.movedAway(); // another member asked for it (or an older owner kept it at a heal): it lives there
            } else {
                fs.expireLocally(); // the engine ended it (expired): Tomcat follows
            }
            s = null;
        }
        if (s != null || id == null || lookingLocally()) {
            return s;
        }
        ReplicationEngine e = engine;
        if (e == null) {
            return null;
        }
        String renamed = e.currentId(id);
        if (!renamed.equals(id) && (e.find(renamed).isPresent() || e.replica(renamed).isPresent())) {
            // Renamed since (its route suffix followed its owner), and held here under its current id: a request sent
            // before its cookie changed gets the session rather than a new, empty one.
            return findSession(renamed);
        }
        // Owned here already with no Tomcat session yet: handed here unasked (another member's drain), or by a hand-off
        // whose request gave up before the grant came. Served as it is: no owner to verify, nothing to move.
        Optional<PrimarySession> p = e.find(id);
        boolean handedEarlier = p.isPresent();
        boolean ownerGone = false;
        if (!handedEarlier) {
            // Ask the owner first: a live owner hands the session over within a round trip (a balancer that is not
            // sticky, or moved the user); no owner known here (no copy yet, as after an asynchronous create a moment
            // ago, or its owner left): the engine asks the other members for their copies and adopts the newest, or
            // learns that a live one owns it. Only an owner that neither answers within OWNER_ANSWER nor could be
            // reached is verified (with sticky routing a request comes here because the owner failed): rather than
            // wait for failure detection, the membership probes it now; one that neither answers nor leaves in that
            // time (hung) fails the request: going on without the session would serve an empty one behind HTTP 200.
            // Verifying every move would probe the owner, and log it suspected, once per request under round robin.
            CompletableFuture<Optional<PrimarySession>> move = e.moveHere(id, routeOf(id)).toCompletableFuture();
            if (!answered(move, OWNER_ANSWER)) {
                boolean gone;
                try {
                    gone = e.verifyOwner(id, cluster.settings().ownerVerification);
                } catch (TakeOverException x) {
                    throw new IllegalStateException(x.getMessage(), x);
                }
                if (move.isCompletedExceptionally()) {
                    // The owner could not be asked; verified now: gone, the next attempt takes the session over.
                    // (A move that was only slow completes as a move, whatever the verification says meanwhile.)
                    ownerGone = gone;
                    move = e.moveHere(id, routeOf(id)).toCompletableFuture();
                }
            }
            // Bounded by the node's timeout, waited for outside the lock; empty only when no member holds it.
            p = awaitMove(id, move);
        }
        if (p.isEmpty() && !renamed.equals(id)) {
            // Held nowhere under this id, renamed as far as this member saw (under backup mode it may hold no copy of
            // the current one): the session under its current id. Only now: an id that came back is current.
            return findSession(renamed);
        }
        // The session may come under its current id: its owner renamed it, and this member asked by a former one.
        String sid = p.map(PrimarySession::id).orElse(id);
        synchronized (takeOver) {
            s = super.findSession(sid);
            if (s != null) {
                return s;
            }
            if (p.isEmpty() || p.get().isInvalidated()) {
                return null;
            }
            SessionMetadata md = p.get().replicatedMetadata();
            // the listeners' replica view goes first: the session is a primary here now, whatever restore does
            ReplicaNotifier n = notifier;
            boolean announced = n != null && n.takenOver(sid);
            FlotillaSession fs = new FlotillaSession(this);
            fs.restore(p.get(), md); // a value that does not decode here fails the request, never drops the value
            fs.setId(sid, false);
            log.info("FlotillaManager " + namespace + ": " + (handedEarlier ? "serving the session handed here"
                    + " earlier," : ownerGone ? "took over session" : "moved here session") + " " + redact(sid)
                    + (sid.equals(id) ? "" : " (asked by a former id)") + " at version " + p.get().version());
            fs.activate();
            if (notifyListenersOnReplication && !announced) {
                fs.tellNew(); // the listeners here had not heard of it (it came by state transfer, or none listen)
            }
            return fs;
        }
    }

    /**
     * The engine's take-over or hand-off of {@code id}, waited for on the request thread. One that fails (another
     * member owns the session or takes it over, a member did not answer in time, a request kept it busy on its owner)
     * fails the request rather than serve an empty or stale session in its place.
     */
    /** Whether {@code move} completed normally within {@code wait} (false: still running, or failed). */
    private static boolean answered(CompletableFuture<Optional<PrimarySession>> move, Duration wait) {
        try {
            move.get(wait.toNanos(), TimeUnit.NANOSECONDS);
            return true;
        } catch (ExecutionException | TimeoutException x) {
            return false;
        } catch (InterruptedException x) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while moving a session here", x);
        }
    }

    private Optional<PrimarySession> awaitMove(String id, CompletionStage<Optional<PrimarySession>> move) {
        long wait = cluster.settings().timeout.toMillis() + 1000; // the round is bounded by the timeout itself
        try {
            return move.toCompletableFuture().get(wait, TimeUnit.MILLISECONDS);
        } catch (ExecutionException x) {
            Throwable cause = x.getCause();
            throw new IllegalStateException("session " + redact(id) + " could not be taken over: "
                    + cause.getMessage(), cause);
        } catch (TimeoutException x) {
            throw new IllegalStateException("session " + redact(id) + " not taken over within " + wait + " ms");
        } catch (InterruptedException x) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while taking session " + redact(id) + " over");
        }
    }

    @Override
    protected void changeSessionId(Session session, String newId, boolean notifySessionListeners,
            boolean notifyContainerListeners) {
        if (session instanceof FlotillaSession fs && fs.primary() != null && !fs.primary().isInvalidated()) {
            fs.primary().changeId(newId); // replicas follow with the next delta
        }
        super.changeSessionId(session, newId, notifySessionListeners, notifyContainerListeners);
    }

    /** The first characters of a session id, for logs (never a whole id). */
    static String redact(String id) {
        return id.length() <= 6 ? "…" : id.substring(0, 6) + "…";
    }

    private void expiredByEngine(String id) {
        Session s = sessions.get(id);
        if (s != null) {
            s.expire(); // Tomcat's listeners; the primary is already invalidated (replicas: the notifier was told)
        }
    }

    /** Another member asked for the session (a request for it reached that member): it lives there now. */
    private void movedAwayByEngine(String id) {
        if (sessions.get(id) instanceof FlotillaSession fs) {
            fs.movedAway();
        }
    }

    /** Replica views ({@link ReplicaNotifier}) are never the manager's: requests must not find them. */
    @Override
    public void add(Session session) {
        if (!(session instanceof FlotillaSession fs && fs.isReplicaView())) {
            super.add(session);
        }
    }

    @Override
    public void remove(Session session, boolean update) {
        if (!(session instanceof FlotillaSession fs && fs.isReplicaView())) {
            super.remove(session, update);
        }
    }

    /** Replicas whose listeners were told of them (0 unless notifyListenersOnReplication and listeners exist). */
    int replicaViews() {
        ReplicaNotifier n = notifier;
        return n == null ? 0 : n.size();
    }

    // ------------------------------------------------------------------------------------------ per request

    /**
     * Hands the changes of {@code session} in this request to the engine as one delta.
     *
     * @return completes per {@code channelSendOptions}: at once for async
     */
    CompletionStage<Void> replicate(Session session) {
        if (!(session instanceof FlotillaSession fs) || fs.primary() == null) {
            return CompletableFuture.completedFuture(null);
        }
        meters.replicated();
        return fs.primary().replicate();
    }

    /** Replicates the session of this id, if owned here (the end of an async request). */
    CompletionStage<Void> replicate(String id) {
        ReplicationEngine e = engine;
        if (e == null || id == null) {
            return CompletableFuture.completedFuture(null);
        }
        meters.replicated();
        return e.replicate(id);
    }

    boolean waitsForReplication() {
        FlotillaCluster c = cluster;
        return c != null && c.settings().delivery != Delivery.ASYNC;
    }

    long timeoutMillis() {
        return cluster.settings().timeout.toMillis();
    }

    boolean failRequestOnReplicationError() {
        return cluster.settings().failRequestOnReplicationError;
    }

    /** A request waited {@code nanos} for its replication. */
    void waited(long nanos, boolean ok) {
        meters.waited(nanos, ok);
    }

    /** The replication at the end of an async request failed (nobody waited for it). */
    void replicationFailed() {
        meters.failed();
    }

    void refused() {
        TomcatMeters m = meters;
        if (m != null) {
            m.refused();
        }
    }

    /** A replicated value this replica's session listeners could not get: they did not hear of the change. */
    void undecodableForListeners() {
        TomcatMeters m = meters;
        if (m != null) {
            m.undecodableForListeners();
        }
    }

    boolean replicatesName(String name) {
        Pattern p = nameFilter;
        return p == null || p.matcher(name).matches();
    }

    private ReplicationEngine requireEngine() {
        ReplicationEngine e = engine;
        if (e == null) {
            throw new IllegalStateException("FlotillaManager " + namespace + " is not started");
        }
        return e;
    }

    ReplicationEngine engine() {
        return engine;
    }

    // ------------------------------------------------------------------------------------------ JMX attributes

    /** Host and context this manager replicates ({@code host#/path}). */
    public String getNamespace() {
        return namespace;
    }

    /**
     * Sessions held here, as stock {@code DeltaManager} counts them: the Tomcat sessions of this node plus the
     * replicas it holds for other members ({@link #getReplicaSessions()} alone beside it). Also what {@code
     * maxActiveSessions} is checked against, as in stock.
     */
    @Override
    public int getActiveSessions() {
        return super.getActiveSessions() + (int) stats().replicaSessions();
    }

    public int getPrimarySessions() {
        return (int) stats().primarySessions();
    }

    public int getReplicaSessions() {
        return (int) stats().replicaSessions();
    }

    public long getReplications() {
        TomcatMeters m = meters;
        return m == null ? 0 : (long) m.replications();
    }

    public long getReplicationFailures() {
        TomcatMeters m = meters;
        return m == null ? 0 : (long) m.failures();
    }

    public long getRefusedAttributes() {
        TomcatMeters m = meters;
        return m == null ? 0 : (long) m.refusedCount();
    }

    public long getSkippedAttributes() {
        return stats().attributesSkipped();
    }

    /** Values that could not be encoded at the end of a request (onUnserializable=fail): those requests failed. */
    public long getUnencodableAttributes() {
        return stats().attributesUnencodable();
    }

    /** Values a take-over could not decode here: requests that read them answer 500; the bytes are kept. */
    public long getUndecodableAttributes() {
        return stats().attributesUndecodable();
    }

    /** Replicated values a replica's session listeners could not get here (they did not hear of those changes). */
    public long getListenerUndecodableAttributes() {
        TomcatMeters m = meters;
        return m == null ? 0 : (long) m.undecodableForListenersCount();
    }

    public long getDeltasSent() {
        return stats().deltasSent();
    }

    public long getDeltasReceived() {
        return stats().deltasReceived();
    }

    public long getTakeovers() {
        return stats().takeovers();
    }

    /** Writes discarded here when a session both sides of a partition wrote went to the older member at the heal. */
    public long getWritesDiscarded() {
        return stats().writesDiscarded();
    }

    /** Sessions received / expected by this application's state transfer, and whether it is done. */
    public String getStateTransfer() {
        ReplicationEngine e = engine;
        return e == null ? "" : e.stateTransfer().toString();
    }

    /** Whether the state transfer at start is done (stock {@code DeltaManager}'s {@code stateTransferred}). */
    public boolean isStateTransferred() {
        ReplicationEngine e = engine;
        return e != null && e.stateTransfer().isDone();
    }

    public double getReplicationWaitP50Millis() {
        return waitPercentileMillis(0.5);
    }

    public double getReplicationWaitP99Millis() {
        return waitPercentileMillis(0.99);
    }

    private double waitPercentileMillis(double percentile) {
        TomcatMeters m = meters;
        return m == null ? 0 : m.waitPercentileMillis(percentile);
    }

    /** Bytes of the deltas this application's sessions sent (encoded, before framing). */
    public long getDeltaBytesSent() {
        return stats().deltaBytesSent();
    }

    /** The engine's figures; zeros while it is not running. */
    private ReplicationStats stats() {
        ReplicationEngine e = engine;
        return e == null ? ZERO : e.stats();
    }

    private static final ReplicationStats ZERO = new ReplicationStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    /**
     * The route an id names after its first dot ({@code <id>.<jvmRoute>}, as Tomcat appends it and {@link
     * JvmRouteBinderValve} keeps it current): the node that made or last served the session, whose cluster member
     * carries that name; null without one.
     */
    static String routeOf(String id) {
        int dot = id.indexOf('.');
        return dot < 0 ? null : id.substring(dot + 1);
    }
}
