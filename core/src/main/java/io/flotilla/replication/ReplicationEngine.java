package io.flotilla.replication;

import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.MemberUnreachableException;
import io.flotilla.MembershipEvent;
import io.flotilla.Message;
import io.flotilla.Node;
import io.flotilla.Registration;
import io.flotilla.SendQueueFullException;
import io.flotilla.View;
import io.flotilla.internal.DefaultNode;
import io.flotilla.internal.DeliveryFuture;
import io.flotilla.internal.DefaultScheduler;
import io.flotilla.internal.NodeThreads;
import io.flotilla.internal.RateLimitedLog;
import io.flotilla.spi.Clock;
import io.flotilla.spi.Scheduler;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.System.Logger.Level;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * Replicates keyed sessions over a {@link Node}: the container-neutral engine a servlet container adapter (or any
 * JVM application) sits on.
 *
 * <pre>{@code
 * ReplicationEngine engine = ReplicationEngine.builder(node).config(ReplicationConfig.defaults()).start();
 * PrimarySession s = engine.create(id, 1800);
 * s.setAttribute("cart", cart);
 * s.access(false);
 * engine.replicate(id);                 // at the end of the request: one delta to the holders
 * }</pre>
 *
 * <p><b>Primary and replicas.</b> The member that creates a session owns it (its primary). {@link #replicate}
 * sends the changes since the last call as one versioned delta to the members {@link Placement} names. Replicas
 * apply a session's deltas strictly in version order, keep attribute values as bytes, and ask the owner for the
 * full session when they see a gap (a delta the node abandoned after {@code maxRetryAttempts}, a lost answer).
 * The owner also learns of its own abandoned deltas and pushes the full session to that member once it is
 * reachable (a repair): a lost last delta leaves no gap for the replica to see.
 *
 * <p><b>Ownership and failover.</b> Each replica records the owner of each session (the sender of its deltas, an
 * ownership announcement, or the state transfer). {@link #find} on a member that holds only a replica takes the
 * session over when its owner is no longer in the view: the replica becomes the primary at its replicated version
 * and announces itself to the holders, who follow it (a holder at another version drops its copy and asks the new
 * owner for the full session). When two members claim one session (a split view healed), the older member in
 * {@link View#AGE_ORDER} keeps it: the younger hands its copy back (its handle is invalidated) and fetches the
 * older's. While the owner is in the view, {@link #find} does not take over (it returns empty): deployments route
 * a session's requests to its owner (sticky sessions, jvmRoute).
 *
 * <p><b>Expiry.</b> The primary expires an idle session at its max inactive interval and replicates the expiry;
 * a replica whose owner left the view expires it at twice that. Both run every {@code expiryInterval} on the
 * scheduler, or when the caller calls {@link #expire(long)}. Read-only requests reach replicas at most once per
 * {@code accessInterval} per session, and free with any delta that has real changes.
 *
 * <p><b>State transfer.</b> At start (when configured) the engine asks the oldest other member for every session;
 * see {@link StateTransfer}. An engine that found no other member at start asks the first member that joins, once
 * ({@link #stateTransfer()} then returns that new transfer): members started together otherwise miss what the
 * other created before their views met.
 *
 * <p>Threading: every method is safe from any thread. Incoming messages are handled on the node's delivery
 * threads; timers on the scheduler's thread. Locks: one ownership lock orders take-overs, renames and ownership
 * changes, then a session's own lock; nothing waits on the network under a lock (sends only enqueue). The
 * expiry callback runs on the thread that expired the session; one that throws is logged and skipped.
 */
public final class ReplicationEngine implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ReplicationEngine.class.getName());
    private static final MemberId UNKNOWN_OWNER = new MemberId(0, 0);
    /** How long a joiner waits for the first chunk before asking again (then {@code stateTransferTimeout} applies). */
    private static final long FIRST_ANSWER_WAIT = TimeUnit.SECONDS.toNanos(2);
    /** Transfer requests kept for members outside the view: as many as the node keeps streams for such senders. */
    private static final int MAX_DEFERRED_TRANSFERS = 64;

    /**
     * Members whose departure someone waits for (an owner being verified, a replication target that stopped
     * answering): completed true when the member left the view, false when it was verified alive.
     */
    private final ConcurrentHashMap<MemberId, CompletableFuture<Boolean>> departures = new ConcurrentHashMap<>();
    private final Node node;
    private final ReplicationConfig config;
    private final Clock clock;
    private final Scheduler scheduler;
    private final boolean ownsScheduler;
    private final Consumer<String> onExpired;
    private final AttributeCodec codec;
    private final SessionCodec sessionCodec;
    private final ReplicaStore store;
    private final ReplicationMeters meters;
    private final RateLimitedLog rateLog;
    private final Member self;
    private final Delivery wireDelivery;
    private final byte[] namespace;
    private final byte[] deltaHeader;

    private final ConcurrentHashMap<String, PrimarySession> primaries = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, MemberId> owners = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Long> awaitingFull = new ConcurrentHashMap<>();
    private final Set<Repair> repairs = ConcurrentHashMap.newKeySet();
    private final Object ownership = new Object();
    private final List<Registration> registrations = new ArrayList<>();
    private volatile Scheduler.Cancellable tickTimer;
    private volatile Scheduler.Cancellable expiryTimer;
    private volatile boolean closed;

    // state transfer, joiner side; guarded by transferLock
    private final Object transferLock = new Object();
    private volatile StateTransfer transfer = new StateTransfer();
    // transfer requests from members this member does not see yet, served once they join: served at once, the
    // snapshot would miss what this member creates before it sees them (it replicates only to its view)
    private final Map<MemberId, Long> deferredTransfers = new HashMap<>();
    // state transfer, source side: the stream to each requester (a re-ask replaces it)
    private final Map<MemberId, TransferSender> senders = new ConcurrentHashMap<>();
    // the start found no other member: the first member to join is asked once (a member started at the same moment)
    private boolean startedAlone;
    private long transferId;
    private Member transferSource;
    private long transferLastNanos;
    private long transferStartNanos;
    private long transferNextLog;

    /** A member that missed a delta (the node abandoned it); the owner pushes the full session when it can. */
    private record Repair(MemberId member, String id, PrimarySession session) {
    }

    private ReplicationEngine(Builder b) {
        this.node = b.node;
        this.config = b.config;
        this.clock = b.clock;
        this.onExpired = b.onExpired;
        this.self = node.localMember();
        if (b.scheduler != null) {
            this.scheduler = b.scheduler;
            this.ownsScheduler = false;
        } else {
            this.scheduler = new DefaultScheduler(new NodeThreads(self.name()).factory("replication"));
            this.ownsScheduler = true;
        }
        this.codec = new AttributeCodec(config.codec());
        this.sessionCodec = new SessionCodec(config.codec());
        this.store = new ReplicaStore(config.maxBufferedPerSession(), config.maxBufferedTotal(),
                config.maxTombstones(), config.gapTimeout(), clock, this::requestFull);
        MeterRegistry registry = config.meterRegistry() != null ? config.meterRegistry()
                : node instanceof DefaultNode dn ? dn.meterRegistry() : new SimpleMeterRegistry();
        this.meters = new ReplicationMeters(registry,
                config.namespace().isEmpty() ? Tags.empty() : Tags.of("namespace", config.namespace()), store,
                primaries::size, () -> store.ids().size());
        this.namespace = config.namespace().getBytes(StandardCharsets.UTF_8);
        this.deltaHeader = ReplicationMessages.header(ReplicationMessages.DELTA, namespace);
        this.rateLog = new RateLimitedLog(LOG, clock, TimeUnit.SECONDS.toNanos(10));
        // ASYNC callers do not wait, but the engine still learns which deltas the node abandoned (for repairs).
        this.wireDelivery = config.delivery() == Delivery.ASYNC ? Delivery.RECEIVED : config.delivery();
    }

    private void start() {
        registrations.add(node.addMessageListener(config.replicationTopic(), this::onReplicationMessage));
        registrations.add(node.addMessageListener(config.stateTransferTopic(), this::onTransferMessage));
        registrations.add(node.addMembershipListener(this::onMembership));
        scheduleTick();
        scheduleExpiry();
        if (config.stateTransferOnStart()) {
            startTransfer("start");
        } else {
            transfer.complete();
        }
    }

    /** A builder for an engine on {@code node}. */
    public static Builder builder(Node node) {
        return new Builder(node);
    }

    public ReplicationConfig config() {
        return config;
    }

    /** The codec attribute values are encoded with (the adapter decodes principals and values with it too). */
    public AttributeCodec codec() {
        return codec;
    }

    /** The progress of this member's latest state transfer. */
    public StateTransfer stateTransfer() {
        return transfer;
    }

    // ------------------------------------------------------------------------------------------ primary side

    /**
     * Creates a session this member owns; its first replication creates it on the holders.
     *
     * @throws IllegalStateException when a session with this id exists here
     */
    public PrimarySession create(String id, int maxInactiveIntervalSeconds) {
        Objects.requireNonNull(id, "id");
        SessionMetadata md = SessionMetadata.created(clock.currentTimeMillis(), maxInactiveIntervalSeconds);
        PrimarySession ps = new PrimarySession(this, SessionRecorder.create(id, md), md, Map.of());
        synchronized (ownership) {
            if (primaries.putIfAbsent(id, ps) != null || store.get(id).isPresent()) {
                primaries.remove(id, ps);
                throw new IllegalStateException("session " + SessionRecord.redact(id) + " already exists");
            }
        }
        return ps;
    }

    /**
     * The session as a primary: the one this member owns, or, when only a replica is held here and its owner has
     * left the view, the replica taken over (announced to the holders before any delta of the new owner).
     *
     * @return empty when the session is unknown here, or its owner is another live member
     */
    public Optional<PrimarySession> find(String id) {
        PrimarySession ps = primaries.get(id);
        if (ps != null) {
            return Optional.of(ps);
        }
        synchronized (ownership) {
            ps = primaries.get(id);
            if (ps != null) {
                return Optional.of(ps);
            }
            Optional<SessionRecord> replica = store.get(id);
            if (replica.isEmpty()) {
                return Optional.empty();
            }
            MemberId owner = owners.get(id);
            View view = node.view();
            if (owner != null && !owner.equals(UNKNOWN_OWNER) && view.contains(owner)) {
                return Optional.empty();
            }
            SessionRecord r = replica.get();
            store.remove(id);
            owners.remove(id);
            awaitingFull.remove(id);
            ps = new PrimarySession(this, SessionRecorder.resume(r), r.metadata(), r.attributesUnsafe());
            synchronized (ps) {
                primaries.put(id, ps);
                meters.takeovers.increment();
                LOG.log(Level.INFO, "took over session " + SessionRecord.redact(id) + " at version " + r.version()
                        + (owner == null ? " (owner unknown)" : " from departed member " + owner.shortString()));
                sendQuietly(config.placement().holders(id, self, view),
                        ReplicationMessages.idAndVersion(ReplicationMessages.OWNER, id, r.version()));
            }
            return Optional.of(ps);
        }
    }

    /**
     * Makes sure a replica held here can be taken over by {@link #find}: when its owner is still in the view, asks
     * the membership to verify the owner now (a request for its session arriving here suggests it is gone: with
     * sticky routing, requests reach another member only when the owner failed) and waits up to {@code timeout}
     * for it to leave the view. Call it before {@link #find} on a request thread, outside any lock.
     *
     * @return true when the session has no live owner elsewhere (it can be taken over, or is already owned here);
     *     false when there is no replica, or the owner answered and stays
     */
    public boolean verifyOwner(String id, Duration timeout) {
        if (primaries.containsKey(id)) {
            return true;
        }
        MemberId owner = owners.get(id);
        if (store.get(id).isEmpty()) {
            return false;
        }
        Optional<Member> alive = owner == null ? Optional.empty() : node.view().find(owner);
        if (alive.isEmpty()) {
            return true;
        }
        CompletableFuture<Boolean> gone = departure(alive.get(), "a request for its session "
                + SessionRecord.redact(id) + " arrived at " + self.describe());
        try {
            return gone.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException | ExecutionException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * Has {@code member} verified now and returns its verdict: true once it left the view (at once if it is not in
     * it), false if it answered. The future is shared by everyone waiting for that member.
     */
    private CompletableFuture<Boolean> departure(Member member, String reason) {
        CompletableFuture<Boolean> gone = departures.computeIfAbsent(member.id(), k -> new CompletableFuture<>());
        gone.whenComplete((v, e) -> departures.remove(member.id(), gone));
        if (!node.view().contains(member.id())) {
            gone.complete(true);
        } else {
            node.suspect(member, reason);
        }
        return gone;
    }

    /**
     * The outcome of a RECEIVED or PROCESSED replication: a target that stopped answering (unreachable or timed out)
     * does not fail it if that target leaves the view within the timeout, since the session is then safe on the
     * members that remain; any other failure, or a target verified alive, fails it with the original exception.
     */
    private CompletionStage<Void> discountDeparted(CompletionStage<Void> stage) {
        // A future of the same kind as the send's: its dependents never run on the thread that completes it.
        CompletableFuture<Void> result = stage.toCompletableFuture().newIncompleteFuture();
        // Success completes the result on the acknowledging thread, so a request waiting on it wakes without a
        // hand-off; a failure is examined on the delivery executor (it may ask the membership about the target).
        whenCompleteInline(stage, (v, e) -> {
            if (e == null) {
                result.complete(null);
            } else {
                stage.whenComplete((v2, e2) -> discount(e2, result));
            }
        });
        return result;
    }

    private void discount(Throwable e, CompletableFuture<Void> result) {
        Throwable t = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
                ? e.getCause() : e;
        List<Throwable> all = new ArrayList<>();
        all.add(t);
        all.addAll(List.of(t.getSuppressed()));
        List<CompletableFuture<Boolean>> verdicts = new ArrayList<>();
        for (Throwable x : all) {
            if ((x instanceof MemberUnreachableException || x instanceof io.flotilla.DeliveryTimeoutException)
                    && ((io.flotilla.DeliveryException) x).member() != null) {
                verdicts.add(departure(((io.flotilla.DeliveryException) x).member(),
                        "replication to it failed: " + x.getMessage()));
            } else {
                result.completeExceptionally(t);
                return;
            }
        }
        // Timed on the engine's scheduler (its injected clock), not the JDK's.
        Scheduler.Cancellable deadline = scheduler.schedule(() -> result.completeExceptionally(t),
                config.departureWait().toNanos());
        CompletableFuture.allOf(verdicts.toArray(CompletableFuture[]::new)).whenComplete((ok, x) -> {
            deadline.cancel();
            if (x == null && verdicts.stream().allMatch(CompletableFuture::join)) {
                meters.departedTargets.increment(verdicts.size());
                result.complete(null);
            } else {
                result.completeExceptionally(t);
            }
        });
    }

    /**
     * Runs the engine's own short, non-blocking {@code hook} on the thread that completes {@code stage} (for a send:
     * the I/O thread that read the acknowledgement) instead of handing it to the delivery executor.
     */
    private static <T> void whenCompleteInline(CompletionStage<T> stage, BiConsumer<? super T, ? super Throwable> hook) {
        if (stage instanceof DeliveryFuture<T> f) {
            f.whenCompleteInline(hook);
        } else {
            stage.whenComplete(hook);
        }
    }

    /** The replica held here (read-only; values stay bytes), if any. */
    public Optional<SessionRecord> replica(String id) {
        return store.get(id);
    }

    /** The ids of the sessions this member owns. */
    public Set<String> primaryIds() {
        return Set.copyOf(primaries.keySet());
    }

    /** The ids of the replicas held here. */
    public Set<String> replicaIds() {
        return store.ids();
    }

    /**
     * Sends the changes of session {@code id} since its last replication as one delta to its holders; call it at
     * the end of each request.
     *
     * @return completes per the configured {@link Delivery}: at once for {@code ASYNC}; for {@code RECEIVED} and
     *     {@code PROCESSED} when every holder has it, or fails with the node's {@link io.flotilla.DeliveryException}
     *     (timeout from the node's configuration). Completes at once when there was nothing to send or the
     *     session is not owned here. Fails with an {@link AttributeCodecException}, in every delivery mode, while
     *     the session holds a value that cannot be encoded ({@code onUnserializable=FAIL}; see {@link
     *     PrimarySession}); the rest of the delta is sent first.
     */
    public CompletionStage<Void> replicate(String id) {
        PrimarySession ps = primaries.get(id);
        return ps == null ? CompletableFuture.completedFuture(null) : replicate(ps);
    }

    CompletionStage<Void> replicate(PrimarySession ps) {
        return ps.failIfUnencodable(drainAndSend(ps));
    }

    private CompletionStage<Void> drainAndSend(PrimarySession ps) {
        CompletionStage<Void> stage;
        synchronized (ps) {
            if (ps.handedOver()) {
                return CompletableFuture.completedFuture(null);
            }
            if (ps.prepareDrain(config.mutationDetection(), config.accessInterval().toMillis())) {
                meters.accessOnlyDeltas.increment();
            }
            Optional<SessionDelta> drained = ps.recorder().drain();
            if (drained.isEmpty()) {
                return CompletableFuture.completedFuture(null);
            }
            SessionDelta delta = drained.get();
            if (delta.expires()) {
                primaries.remove(ps.recorder().id(), ps);
                primaries.remove(delta.sessionId(), ps);
            }
            // Namespace header, kind and delta in one array: no copy between encoding and the node.
            byte[] msg = sessionCodec.encodeDelta(delta, deltaHeader);
            meters.deltasSent.increment();
            meters.deltaBytes.record(msg.length - deltaHeader.length);
            List<Member> holders = config.placement().holders(delta.sessionId(), self, node.view());
            if (holders.isEmpty()) {
                return CompletableFuture.completedFuture(null);
            }
            stage = sendWrapped(holders, config.replicationTopic(), ByteBuffer.wrap(msg), wireDelivery);
            String id = delta.sessionId();
            whenCompleteInline(stage, (v, e) -> {
                if (e != null) {
                    for (MemberId m : abandoned(e)) {
                        repairs.add(new Repair(m, id, ps));
                    }
                }
            });
        }
        return config.delivery() == Delivery.ASYNC ? CompletableFuture.completedFuture(null) : discountDeparted(stage);
    }

    void rename(PrimarySession ps, String newId) {
        synchronized (ownership) {
            if (primaries.containsKey(newId) || store.get(newId).isPresent()) {
                throw new IllegalStateException("session " + SessionRecord.redact(newId) + " already exists");
            }
            String old = ps.renameLocked(newId);
            primaries.remove(old, ps);
            primaries.put(newId, ps);
        }
    }

    /**
     * Expires what is idle at {@code nowMillis} (wall time): primaries at their max inactive interval (the expiry
     * is replicated), replicas whose owner left the view at twice that.
     *
     * @return the ids expired here
     */
    public List<String> expire(long nowMillis) {
        List<String> expired = new ArrayList<>();
        for (PrimarySession ps : primaries.values()) {
            String id = ps.id();
            if (ps.expireIfIdle(nowMillis)) {
                replicate(ps);
                meters.expiredPrimary.increment();
                expired.add(id);
            }
        }
        View view = node.view();
        for (String id : store.ids()) {
            MemberId owner = owners.get(id);
            if (owner != null && view.contains(owner)) {
                continue;
            }
            SessionRecord r = store.get(id).orElse(null);
            if (r == null) {
                continue;
            }
            int max = r.metadata().maxInactiveIntervalSeconds();
            if (max > 0 && nowMillis - r.metadata().lastAccessedTime() >= 2L * max * 1000L) {
                synchronized (ownership) {
                    if (store.get(id).map(x -> x.version() == r.version()).orElse(false)) {
                        store.remove(id);
                        owners.remove(id);
                        awaitingFull.remove(id);
                        meters.expiredReplica.increment();
                        expired.add(id);
                    }
                }
            }
        }
        owners.keySet().removeIf(id -> !primaries.containsKey(id) && store.get(id).isEmpty()
                && !awaitingFull.containsKey(id));
        for (String id : expired) {
            try {
                onExpired.accept(id);
            } catch (RuntimeException e) {
                meters.callbackErrors.increment();
                LOG.log(Level.WARNING, "expiry callback failed for session " + SessionRecord.redact(id), e);
            }
        }
        return expired;
    }

    /**
     * Runs the periodic checks now: open gaps, full sessions asked for long ago, repairs, and the state
     * transfer's liveness. The scheduler runs it every {@code tickInterval}.
     */
    public void tick() {
        store.checkGaps();
        long now = clock.nanoTime();
        long gapNanos = config.gapTimeout().toNanos();
        for (Map.Entry<String, Long> e : awaitingFull.entrySet()) {
            if (now - e.getValue() >= gapNanos) {
                requestFull(e.getKey(), store.get(e.getKey()).map(SessionRecord::version).orElse(0L));
            }
        }
        runRepairs();
        synchronized (transferLock) {
            long silent = now - transferLastNanos;
            if (!transfer.isDone() && silent >= config.stateTransferTimeout().toNanos()) {
                LOG.log(Level.WARNING, "state transfer from " + describe(transferSource) + " silent for "
                        + config.stateTransferTimeout().toMillis() + " ms; asking again");
                startTransferLocked("silence");
            } else if (!transfer.isDone() && transfer.expected() < 0 && silent >= FIRST_ANSWER_WAIT) {
                // Not a chunk yet: the source's application may not have been listening when the request came
                // (members starting together); its node drops such messages, so ask again soon.
                LOG.log(Level.INFO, "state transfer: no answer from " + describe(transferSource) + " yet; asking again");
                startTransferLocked("no answer");
            }
        }
    }

    private void runRepairs() {
        if (repairs.isEmpty()) {
            return;
        }
        View view = node.view();
        for (Repair r : List.copyOf(repairs)) {
            repairs.remove(r);
            Optional<Member> m = view.find(r.member());
            if (m.isEmpty()) {
                continue; // gone: it will get the sessions by state transfer if it comes back
            }
            meters.repairs.increment();
            ByteBuffer msg;
            SessionRecord snap;
            synchronized (r.session()) {
                snap = r.session().recorder().snapshot();
            }
            boolean live = primaries.get(r.session().id()) == r.session() && snap != null;
            if (live) {
                meters.fullSent.increment();
                msg = ReplicationMessages.wrap(ReplicationMessages.FULL, sessionCodec.encodeRecord(snap));
            } else {
                msg = ReplicationMessages.idAndVersion(ReplicationMessages.GONE, r.id(), 0);
            }
            if (live && !snap.id().equals(r.id())) {
                sendQuietly(List.of(m.get()), ReplicationMessages.idAndVersion(ReplicationMessages.GONE, r.id(), 0));
            }
            send(List.of(m.get()), config.replicationTopic(), msg, Delivery.RECEIVED).whenComplete((v, e) -> {
                if (e != null && !abandoned(e).isEmpty()) {
                    repairs.add(r);
                }
            });
        }
    }

    // ------------------------------------------------------------------------------------------ replica side

    private void onReplicationMessage(Message m) {
        ByteBuffer in = ReplicationMessages.unwrapNamespace(m.payload().duplicate(), namespace);
        if (in == null) {
            return; // another engine's stream on this node (another web application)
        }
        try {
            byte kind = in.get();
            switch (kind) {
                case ReplicationMessages.DELTA -> onDelta(m.from(), sessionCodec.decodeDelta(ReplicationMessages.rest(in)));
                case ReplicationMessages.FULL_REQUEST -> onFullRequest(m.from(), ReplicationMessages.readIdAndVersion(in));
                case ReplicationMessages.FULL -> onFull(m.from(), sessionCodec.decodeRecord(ReplicationMessages.rest(in)));
                case ReplicationMessages.GONE -> onGone(m.from(), ReplicationMessages.readIdAndVersion(in).id());
                case ReplicationMessages.OWNER -> onOwner(m.from(), ReplicationMessages.readIdAndVersion(in));
                default -> dropUnknown("replication", kind, m);
            }
        } catch (CodecException | BufferUnderflowException e) {
            dropMalformed("replication", m, e);
        }
    }

    /** Counts and logs (rate-limited) a message of a kind this version does not know. */
    private void dropUnknown(String what, int kind, Message m) {
        meters.drop(ReplicationMeters.EngineDrop.UNKNOWN_KIND);
        rateLog.log(Level.WARNING, "kind", "unknown " + what + " message kind " + kind + " from "
                + m.from().describe() + "; dropped", null);
    }

    /** Counts and logs (rate-limited) a message that does not decode. */
    private void dropMalformed(String what, Message m, RuntimeException e) {
        meters.drop(ReplicationMeters.EngineDrop.MALFORMED);
        rateLog.log(Level.WARNING, "malformed", "malformed " + what + " message from " + m.from().describe() + ": "
                + e.getMessage() + "; dropped", null);
    }

    private void onDelta(Member from, SessionDelta delta) {
        meters.deltasReceived.increment();
        String id = delta.sessionId();
        PrimarySession mine = primaries.get(id);
        if (mine != null) {
            meters.drop(ReplicationMeters.EngineDrop.NOT_OWNER);
            contest(from, mine);
            return;
        }
        MemberId known = owners.get(id);
        if (known == null || known.equals(UNKNOWN_OWNER) || !node.view().contains(known)) {
            owners.put(id, from.id());
        } else if (!known.equals(from.id())) {
            meters.drop(ReplicationMeters.EngineDrop.NOT_OWNER);
            return;
        }
        for (SessionOp op : delta.ops()) {
            if (op instanceof SessionOp.ChangeId c) {
                owners.put(c.newId(), from.id());
            }
        }
        store.apply(delta);
        if (delta.expires()) {
            owners.remove(id);
            awaitingFull.remove(id);
        }
    }

    private void onFullRequest(Member from, ReplicationMessages.IdAndVersion req) {
        meters.fullRequestsReceived.increment();
        String id = req.id();
        PrimarySession ps = primaries.get(id);
        SessionRecord r;
        if (ps != null) {
            synchronized (ps) {
                r = ps.recorder().snapshot();
            }
            if (r == null) {
                return; // created but never replicated: its first delta is still to come
            }
        } else {
            r = store.get(id).orElse(null);
        }
        if (r == null) {
            sendQuietly(List.of(from), ReplicationMessages.idAndVersion(ReplicationMessages.GONE, id, 0));
            return;
        }
        meters.fullSent.increment();
        sendQuietly(List.of(from), ReplicationMessages.wrap(ReplicationMessages.FULL, sessionCodec.encodeRecord(r)));
    }

    private void onFull(Member from, SessionRecord record) {
        meters.fullReceived.increment();
        String id = record.id();
        PrimarySession mine = primaries.get(id);
        if (mine != null) {
            meters.drop(ReplicationMeters.EngineDrop.NOT_OWNER);
            return;
        }
        awaitingFull.remove(id);
        MemberId known = owners.get(id);
        if (known == null || known.equals(UNKNOWN_OWNER) || !node.view().contains(known)) {
            owners.put(id, from.id());
        }
        store.applyFull(record);
    }

    private void onGone(Member from, String id) {
        MemberId known = owners.get(id);
        if (known != null && !known.equals(from.id()) && node.view().contains(known)) {
            return; // a member that is not the owner does not know this session; the owner does
        }
        synchronized (ownership) {
            if (!primaries.containsKey(id)) {
                store.remove(id);
                owners.remove(id);
                awaitingFull.remove(id);
            }
        }
    }

    private void onOwner(Member from, ReplicationMessages.IdAndVersion claim) {
        String id = claim.id();
        synchronized (ownership) {
            PrimarySession mine = primaries.get(id);
            if (mine != null) {
                contest(from, mine);
                return;
            }
            MemberId known = owners.get(id);
            View view = node.view();
            if (known != null && !known.equals(from.id()) && view.contains(known)
                    && older(view, known, from.id())) {
                return; // the older live owner keeps it; it answers the claimant itself
            }
            owners.put(id, from.id());
            meters.ownershipChanges.increment();
            long have = store.get(id).map(SessionRecord::version).orElse(-1L);
            if (have != claim.version()) {
                store.remove(id);
                requestFull(id, 0);
            }
        }
    }

    /** Another member acts as owner of a session this member owns: the older member in the view keeps it. */
    private void contest(Member other, PrimarySession mine) {
        synchronized (ownership) {
            View view = node.view();
            if (older(view, other.id(), self.id())) {
                String id = mine.id();
                synchronized (mine) {
                    primaries.remove(id, mine);
                    mine.handOver();
                }
                owners.put(id, other.id());
                store.remove(id);
                LOG.log(Level.WARNING, "session " + SessionRecord.redact(id) + " is also owned by older member "
                        + other.describe() + "; handing it over (changes here since the split are lost)");
                requestFull(id, 0);
            } else {
                long version;
                synchronized (mine) {
                    SessionRecord snap = mine.recorder().snapshot();
                    version = snap == null ? 0 : snap.version();
                }
                sendQuietly(List.of(other), ReplicationMessages.idAndVersion(ReplicationMessages.OWNER, mine.id(),
                        version));
            }
        }
    }

    private static boolean older(View view, MemberId a, MemberId b) {
        Optional<Member> ma = view.find(a);
        Optional<Member> mb = view.find(b);
        if (ma.isPresent() && mb.isPresent()) {
            return View.AGE_ORDER.compare(ma.get(), mb.get()) < 0;
        }
        return ma.isPresent(); // a member in the view beats one that is not
    }

    /** Asks the owner (or, when unknown or gone, the oldest other member) for the full session. */
    private void requestFull(String id, long have) {
        if (closed) {
            return;
        }
        View view = node.view();
        MemberId owner = owners.get(id);
        Member target = owner == null ? null : view.find(owner).orElse(null);
        if (target == null) {
            List<Member> others = view.othersThan(self.id());
            if (others.isEmpty()) {
                return;
            }
            target = others.get(0);
        }
        awaitingFull.put(id, clock.nanoTime());
        meters.fullRequestsSent.increment();
        sendQuietly(List.of(target), ReplicationMessages.idAndVersion(ReplicationMessages.FULL_REQUEST, id, have));
    }

    // ------------------------------------------------------------------------------------------ state transfer

    private void startTransfer(String why) {
        synchronized (transferLock) {
            startTransferLocked(why);
        }
    }

    private void startTransferLocked(String why) {
        if (transfer.isDone()) {
            return;
        }
        List<Member> others = node.view().othersThan(self.id());
        transferId++;
        transferLastNanos = clock.nanoTime();
        if (others.isEmpty()) {
            transferSource = null;
            startedAlone = true;
            LOG.log(Level.INFO, "state transfer: no other member in the view; starting empty");
            transfer.complete();
            return;
        }
        transferSource = others.get(0); // oldest first
        transfer.restart();
        transferStartNanos = clock.nanoTime();
        transferNextLog = config.stateTransferLogEvery();
        LOG.log(Level.INFO, "state transfer (" + why + "): asking " + transferSource.describe() + " for all sessions");
        sendQuietly(List.of(transferSource), config.stateTransferTopic(),
                ReplicationMessages.transferRequest(transferId));
    }

    private void onTransferMessage(Message m) {
        ByteBuffer in = ReplicationMessages.unwrapNamespace(m.payload().duplicate(), namespace);
        if (in == null) {
            return; // another engine's stream on this node (another web application)
        }
        try {
            byte kind = in.get();
            switch (kind) {
                case ReplicationMessages.TRANSFER_REQUEST -> onTransferRequest(m.from(), in.getLong());
                case ReplicationMessages.TRANSFER_CHUNK -> onChunk(m.from(), ReplicationMessages.readChunk(in));
                case ReplicationMessages.TRANSFER_DONE -> onTransferDone(m.from(), in.getLong(), in.getInt());
                default -> dropUnknown("state-transfer", kind, m);
            }
        } catch (CodecException | BufferUnderflowException e) {
            dropMalformed("state-transfer", m, e);
        }
    }

    private void onTransferRequest(Member from, long tid) {
        synchronized (transferLock) {
            if (!node.view().contains(from.id())) {
                if (deferredTransfers.size() < MAX_DEFERRED_TRANSFERS || deferredTransfers.containsKey(from.id())) {
                    deferredTransfers.put(from.id(), tid);
                    LOG.log(Level.INFO, "state transfer to " + from.describe() + " waits until this member sees it");
                }
                return;
            }
        }
        serve(from, tid);
    }

    /** Streams every session to {@code to}; a newer request from the same member stops the older stream. */
    private void serve(Member to, long tid) {
        TransferSender sender = new TransferSender(to, tid);
        TransferSender previous = senders.put(to.id(), sender);
        if (previous != null) {
            previous.stop();
        }
        sender.pump();
    }

    private void onChunk(Member from, ReplicationMessages.Chunk chunk) {
        synchronized (transferLock) {
            if (transfer.isDone() || chunk.transferId() != transferId || transferSource == null
                    || !transferSource.equals(from)) {
                meters.drop(ReplicationMeters.EngineDrop.STALE_TRANSFER);
                return;
            }
            transferLastNanos = clock.nanoTime();
            transfer.expect(chunk.expected());
        }
        for (ReplicationMessages.Entry e : chunk.entries()) {
            SessionRecord r = sessionCodec.decodeRecord(e.record());
            synchronized (ownership) {
                if (primaries.containsKey(r.id())) {
                    continue; // owned here: the local copy is the truth
                }
                if (store.applyFull(r) == ReplicaStore.Outcome.APPLIED) {
                    owners.put(r.id(), e.owner());
                }
            }
        }
        meters.transferSessionsReceived.increment(chunk.entries().size());
        long got = transfer.add(chunk.entries().size());
        synchronized (transferLock) {
            long expected = Math.max(1, chunk.expected());
            boolean quarter = (got * 4 / expected) > ((got - chunk.entries().size()) * 4 / expected);
            if (got >= transferNextLog || quarter) {
                transferNextLog = got + config.stateTransferLogEvery();
                LOG.log(Level.INFO, "state transfer from " + from.describe() + ": " + got + "/" + chunk.expected()
                        + " sessions (" + (got * 100 / expected) + " %)");
            }
        }
    }

    private void onTransferDone(Member from, long tid, int total) {
        synchronized (transferLock) {
            if (transfer.isDone() || tid != transferId || !from.equals(transferSource)) {
                meters.drop(ReplicationMeters.EngineDrop.STALE_TRANSFER);
                return;
            }
            transfer.expect(total);
            long ms = TimeUnit.NANOSECONDS.toMillis(clock.nanoTime() - transferStartNanos);
            LOG.log(Level.INFO, "state transfer from " + from.describe() + " done: " + transfer.received()
                    + " sessions in " + ms + " ms");
            transfer.complete();
        }
    }

    /** Streams every session to one joiner, a bounded window of chunks in flight. */
    private final class TransferSender {
        private final Member to;
        private final long tid;
        private final List<String> ids;
        private int next;
        private int inflight;
        private int sent;
        private boolean pumping;
        private boolean again;
        private boolean failed;
        private boolean finished;

        TransferSender(Member to, long tid) {
            this.to = to;
            this.tid = tid;
            Set<String> all = new LinkedHashSet<>(primaries.keySet());
            all.addAll(store.ids());
            this.ids = new ArrayList<>(all);
            LOG.log(Level.INFO, "state transfer to " + to.describe() + ": " + ids.size() + " sessions");
        }

        synchronized void stop() {
            failed = true;
        }

        void pump() {
            synchronized (this) {
                if (pumping) {
                    again = true;
                    return;
                }
                pumping = true;
            }
            while (true) {
                ByteBuffer msg = null;
                synchronized (this) {
                    if (!failed && !finished && inflight < config.stateTransferWindow()) {
                        if (next < ids.size()) {
                            msg = nextChunk();
                        } else if (inflight == 0) {
                            finished = true;
                            senders.remove(to.id(), this);
                            msg = ReplicationMessages.transferDone(tid, sent);
                            LOG.log(Level.INFO, "state transfer to " + to.describe() + " sent " + sent + " sessions");
                        }
                        if (msg != null) {
                            inflight++;
                        }
                    }
                    if (msg == null) {
                        if (again) {
                            again = false;
                            continue;
                        }
                        pumping = false;
                        return;
                    }
                }
                send(List.of(to), config.stateTransferTopic(), msg, Delivery.RECEIVED).whenComplete((v, e) -> {
                    synchronized (this) {
                        inflight--;
                        if (e != null && !failed) {
                            failed = true;
                            LOG.log(Level.WARNING, "state transfer to " + to.describe() + " stopped: " + e.getMessage());
                        }
                    }
                    pump();
                });
            }
        }

        private ByteBuffer nextChunk() {
            List<ReplicationMessages.Entry> entries = new ArrayList<>();
            int bytes = 0;
            while (next < ids.size() && (entries.isEmpty() || bytes < config.stateTransferChunkBytes())) {
                String id = ids.get(next);
                SessionRecord r;
                MemberId owner;
                PrimarySession ps = primaries.get(id);
                if (ps != null) {
                    synchronized (ps) {
                        r = ps.recorder().snapshot();
                    }
                    owner = self.id();
                } else {
                    r = store.get(id).orElse(null);
                    owner = owners.getOrDefault(id, UNKNOWN_OWNER);
                }
                if (r != null) {
                    byte[] enc = sessionCodec.encodeRecord(r);
                    if (!entries.isEmpty() && bytes + enc.length + MemberId.BYTES + 4 > config.stateTransferChunkBytes()) {
                        break;
                    }
                    ReplicationMessages.Entry e = new ReplicationMessages.Entry(owner, enc);
                    entries.add(e);
                    bytes += e.size();
                }
                next++;
            }
            sent += entries.size();
            meters.transferSessionsSent.increment(entries.size());
            meters.transferChunkBytes.record(bytes);
            return ReplicationMessages.chunk(tid, ids.size(), entries, bytes);
        }
    }

    // ------------------------------------------------------------------------------------------ membership

    private void onMembership(MembershipEvent event) {
        CompletableFuture<Boolean> verdict = departures.get(event.member().id());
        if (verdict != null && event instanceof MembershipEvent.Left) {
            verdict.complete(true);
        } else if (verdict != null && event instanceof MembershipEvent.Unsuspected) {
            verdict.complete(false);
        }
        if (event instanceof MembershipEvent.Joined && !closed) {
            Long deferred;
            synchronized (transferLock) {
                deferred = deferredTransfers.remove(event.member().id());
                if (startedAlone) {
                    // Members that start together may each find the other missing; without this, what the other
                    // created before the views met would reach this member only when it next changed.
                    startedAlone = false;
                    transfer = new StateTransfer();
                    startTransferLocked("the first member joined after an empty start");
                }
            }
            if (deferred != null) {
                serve(event.member(), deferred);
            }
        }
        if (event instanceof MembershipEvent.Left left) {
            TransferSender sending = senders.remove(left.member().id());
            if (sending != null) {
                sending.stop();
            }
            synchronized (transferLock) {
                deferredTransfers.remove(left.member().id());
                if (!transfer.isDone() && left.member().equals(transferSource)) {
                    LOG.log(Level.WARNING, "state transfer source " + left.member().describe()
                            + " left after " + transfer.received() + " sessions; asking the next oldest member");
                    startTransferLocked("source left");
                }
            }
            repairs.removeIf(r -> r.member().equals(left.member().id()));
        }
    }

    // ------------------------------------------------------------------------------------------ plumbing

    Clock clock() {
        return clock;
    }

    ReplicationMeters meters() {
        return meters;
    }

    /** A WARN line, at most one per {@code key} every 10 s (attribute values: one per class). */
    void warn(String key, String message) {
        rateLog.log(Level.WARNING, key, message, null);
    }

    void skipped(String name, AttributeCodecException e) {
        meters.attributesSkipped.increment();
        rateLog.log(Level.WARNING, "skip:" + e.className(), "attribute '" + name + "' not replicated: "
                + e.getMessage(), null);
    }

    private CompletionStage<Void> send(Collection<Member> to, int topic, ByteBuffer msg, Delivery delivery) {
        return sendWrapped(to, topic, ReplicationMessages.wrapNamespace(msg, namespace), delivery);
    }

    /** Sends a message that already starts with this engine's namespace header. */
    private CompletionStage<Void> sendWrapped(Collection<Member> to, int topic, ByteBuffer msg, Delivery delivery) {
        try {
            return node.send(to, topic, msg, delivery);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private void sendQuietly(Collection<Member> to, ByteBuffer msg) {
        sendQuietly(to, config.replicationTopic(), msg);
    }

    private void sendQuietly(Collection<Member> to, int topic, ByteBuffer msg) {
        if (to.isEmpty() || closed) {
            return;
        }
        send(to, topic, msg, Delivery.ASYNC);
    }

    /** The members a failed send gave up on (abandoned or refused), for repairs. */
    private static List<MemberId> abandoned(Throwable e) {
        Throwable t = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
        List<MemberId> out = new ArrayList<>();
        List<Throwable> all = new ArrayList<>();
        all.add(t);
        all.addAll(List.of(t.getSuppressed()));
        for (Throwable x : all) {
            if (x instanceof MemberUnreachableException u && u.member() != null) {
                out.add(u.member().id());
            } else if (x instanceof SendQueueFullException q && q.member() != null) {
                out.add(q.member().id());
            }
        }
        return out;
    }

    private static String describe(Member m) {
        return m == null ? "nobody" : m.describe();
    }

    private void scheduleTick() {
        if (closed) {
            return;
        }
        Scheduler.Cancellable c = scheduler.schedule(() -> {
            try {
                tick();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "replication tick failed; next one in " + config.tickInterval(), e);
            }
            scheduleTick();
        }, config.tickInterval().toNanos());
        tickTimer = c;
    }

    private void scheduleExpiry() {
        if (closed) {
            return;
        }
        Scheduler.Cancellable c = scheduler.schedule(() -> {
            try {
                expire(clock.currentTimeMillis());
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "expiry sweep failed; next one in " + config.expiryInterval(), e);
            }
            scheduleExpiry();
        }, config.expiryInterval().toNanos());
        expiryTimer = c;
    }

    /** Stops listening and the timers; does not close the node. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Registration r : registrations) {
            r.close();
        }
        for (Scheduler.Cancellable c : new Scheduler.Cancellable[] {tickTimer, expiryTimer}) {
            if (c != null) {
                c.cancel();
            }
        }
        if (ownsScheduler) {
            scheduler.close();
        }
    }

    /**
     * Assembles and starts an engine.
     *
     * <p>Threading: not thread-safe; use from one thread.
     */
    public static final class Builder {
        private final Node node;
        private ReplicationConfig config = ReplicationConfig.defaults();
        private Clock clock = Clock.system();
        private Scheduler scheduler;
        private Consumer<String> onExpired = id -> { };

        private Builder(Node node) {
            this.node = Objects.requireNonNull(node, "node");
        }

        /** Default {@link ReplicationConfig#defaults()}. */
        public Builder config(ReplicationConfig v) {
            config = Objects.requireNonNull(v, "config");
            return this;
        }

        /** Default the system clock; pass the node's clock (tests: the manual one). */
        public Builder clock(Clock v) {
            clock = Objects.requireNonNull(v, "clock");
            return this;
        }

        /** Default: one daemon thread of the engine's own; tests pass the manual clock. */
        public Builder scheduler(Scheduler v) {
            scheduler = Objects.requireNonNull(v, "scheduler");
            return this;
        }

        /** Told the id of every session expired here (primary or replica). Default: nothing. */
        public Builder onExpired(Consumer<String> v) {
            onExpired = Objects.requireNonNull(v, "onExpired");
            return this;
        }

        /** Subscribes to the node's topics and membership, starts the timers and, if configured, state transfer. */
        public ReplicationEngine start() {
            ReplicationEngine e = new ReplicationEngine(this);
            e.start();
            return e;
        }
    }
}
