package io.flotilla.replication;

import io.flotilla.Delivery;
import io.flotilla.MemberId;
import io.flotilla.MembershipEvent;
import io.flotilla.Message;
import io.flotilla.MessageListener;
import io.flotilla.MessageNotHandledException;
import io.flotilla.MessageRefusedException;
import io.flotilla.Node;
import io.flotilla.Registration;
import io.flotilla.internal.DefaultNode;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
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
 * ownership announcement, a heal's digest, or the state transfer). {@link #takeOver} on a member whose owner has
 * left the view first asks every other member of the view for its copy (one round trip) and adopts the newest, then
 * announces itself to the holders, who follow it; {@link #find} returns only sessions owned here. When two members
 * own one session (a split view healed, or an owner back from a long pause), it is decided at the heal (each side
 * sends the rejoined member a digest of its primaries): an owner that acknowledged no write since the other's
 * ownership began (a paused process writes nothing) hands over to the other; when both or neither did, the older
 * member in {@link View#AGE_ORDER} keeps it. The loser's handle is invalidated, the acknowledged writes it discards
 * are counted in {@link ReplicationStats#writesDiscarded()} and logged, its holders are told to follow the winner,
 * and it fetches the winner's copy. A holder that refuses a delta for ownership reasons fails the sender's
 * {@code PROCESSED} or {@code RECEIVED} replication. While the owner is in the view, {@link #takeOver} does not take
 * over (it returns empty): deployments route a session's requests to its owner (sticky sessions, jvmRoute). The
 * invariants are in docs/architecture.md, "Ownership and consistency".
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
 * <p>Replica changes: a {@link ReplicaListener} ({@link Builder#replicaListener}) hears every change of the
 * replicas held here, with its {@link ReplicaCause}, in the order the store applied them.
 *
 * <p>Parts: this class wires them and routes messages by kind; each has one job and says how it is used from
 * threads. {@code SessionTable} (every session held here and the ownership rules, one lock), {@code Replicator}
 * (deltas, full copies and claims on the replication topic), {@code TransferClient} and {@code TransferSource} (the
 * two sides of state transfer, one lock each), {@code Departures} (verdicts on members that stopped answering),
 * {@code ReplicaEvents} (the listener's calls, in apply order), {@code TakeOver} (take-over rounds), {@code
 * Handoff} (moves from a live owner), {@code Drain} (hand-offs before leaving), {@code AntiEntropy} (digests at a
 * heal), {@code Outbox} (the node, namespaced).
 *
 * <p>Threading: every method is safe from any thread. Incoming messages are handled on the node's delivery
 * threads; timers on the scheduler's thread. This class holds no lock; the parts' locks are never held while
 * waiting on the network (sends only enqueue). The expiry callback and the replica listener run on the thread that
 * made the change, with no engine lock held; one that throws is logged and skipped.
 */
public final class ReplicationEngine implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ReplicationEngine.class.getName());

    private final ReplicationConfig config;
    private final Clock clock;
    private final Scheduler scheduler;
    private final boolean ownsScheduler;
    private final Consumer<String> onExpired;
    private final AttributeCodec codec;
    private final ReplicationMeters meters;
    private final RateLimitedLog rateLog;
    private final Outbox out;
    private final ReplicaEvents events;
    private final ReplicaStore store;
    private final SessionCodec sessionCodec;
    private final SessionTable table;
    private final Replicator replicator;
    private final Departures departures;
    private final TransferClient transferClient;
    private final TransferSource transferSource;
    private final TakeOver takeOver;
    private final Handoff handoff;
    private final AntiEntropy antiEntropy;
    private final Rebalancer rebalancer;
    private final Readiness readiness;
    private final List<Registration> registrations = new ArrayList<>();
    /** Declines another engine's messages (no stack trace: one shared instance, thrown per declined message). */
    private final MessageNotHandledException notMine;
    private final Object drainLock = new Object();
    private CompletableFuture<DrainReport> draining; // guarded by drainLock
    private volatile Scheduler.Cancellable tickTimer;
    private volatile Scheduler.Cancellable expiryTimer;

    private ReplicationEngine(Builder b) {
        Node node = b.node;
        this.config = b.config;
        this.notMine = new MessageNotHandledException("replication engine of namespace '" + config.namespace() + "'");
        this.clock = b.clock;
        this.onExpired = b.onExpired;
        this.out = new Outbox(node, config);
        if (b.scheduler != null) {
            this.scheduler = b.scheduler;
            this.ownsScheduler = false;
        } else {
            this.scheduler = new DefaultScheduler(new NodeThreads(out.self().name()).factory("replication"));
            this.ownsScheduler = true;
        }
        this.codec = new AttributeCodec(config.codec());
        SessionCodec sessionCodec = new SessionCodec(config.codec());
        MeterRegistry registry = config.meterRegistry() != null ? config.meterRegistry()
                : node instanceof DefaultNode dn ? dn.meterRegistry() : new SimpleMeterRegistry();
        Tags tags = config.namespace().isEmpty() ? Tags.empty() : Tags.of("namespace", config.namespace());
        this.events = new ReplicaEvents(b.replicaListener, codec, config.classLoader(), this::callbackFailed);
        // The store's gap requests go to the replicator, which is built after the table on the store.
        ReplicaStore store = new ReplicaStore(config.maxBufferedPerSession(), config.maxBufferedTotal(),
                config.maxTombstones(), config.gapTimeout(), clock, this::requestFull, events);
        // Bounded like any wait on another member: the node's timeout.
        Duration roundTimeout = node instanceof DefaultNode dn ? dn.config().timeout() : config.departureWait();
        this.table = new SessionTable(out.self().id(), store, config, clock, roundTimeout.multipliedBy(2));
        this.meters = new ReplicationMeters(registry, tags, store, table::primaryCount, () -> store.ids().size());
        this.rateLog = new RateLimitedLog(LOG, clock, TimeUnit.SECONDS.toNanos(10));
        this.departures = new Departures(out, scheduler, config.departureWait(), meters);
        this.replicator = new Replicator(out, config, clock, codec, sessionCodec, meters, departures);
        replicator.table(table);
        this.transferClient = new TransferClient(out, config, clock, sessionCodec, table, meters,
                this::verifyTransferred);
        this.transferSource = new TransferSource(out, config, table, meters);
        this.store = store;
        this.sessionCodec = sessionCodec;
        this.readiness = new Readiness(out, replicator::ready, this::targetsChanged);
        replicator.readiness(readiness);
        this.rebalancer = new Rebalancer(out, config.placement(), table, replicator, readiness, meters);
        this.takeOver = new TakeOver(out, config, table, sessionCodec, replicator, rebalancer, scheduler, roundTimeout);
        this.handoff = new Handoff(out, config, table, sessionCodec, replicator, departures, takeOver, rebalancer,
                clock, scheduler, roundTimeout, id -> callback("moved-away", b.onMovedAway, id));
        this.antiEntropy = new AntiEntropy(out, table, replicator);
    }

    /** Subscribes to the node (see {@link Builder#start}); once, right after construction. */
    void start() {
        registrations.add(out.node().addMessageListener(config.replicationTopic(), new MessageListener() {
            @Override
            public void onMessage(Message m) throws MessageNotHandledException, MessageRefusedException {
                onReplicationMessage(m);
            }

            @Override
            public boolean inline(Message m) {
                return takesInline(m);
            }
        }));
        registrations.add(out.node().addMessageListener(config.stateTransferTopic(), this::onTransferMessage));
        registrations.add(out.node().addMembershipListener(this::onMembership));
        antiEntropy.listening();
        // Listening now: tell the view before asking for a transfer, so no delta made during it misses this member.
        readiness.announce();
        scheduleTick();
        scheduleExpiry();
        // Under a placement other than ALL the owners push each joiner what it should hold (Rebalancer): a transfer
        // from one member would bring what that member holds, which is not that.
        transferClient.start(config.stateTransferOnStart() && config.placement() == Placement.ALL);
        targetsChanged(); // the targets a first rebalance compares with
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
        return transferClient.transfer();
    }

    /** This engine's figures now. */
    public ReplicationStats stats() {
        return meters.stats(table.primaryCount(), store.ids().size());
    }

    // ------------------------------------------------------------------------------------------ sessions

    /**
     * Creates a session this member owns; its first replication creates it on the holders.
     *
     * @throws IllegalStateException when a session with this id exists here
     */
    public PrimarySession create(String id, int maxInactiveIntervalSeconds) {
        Objects.requireNonNull(id, "id");
        return replicator.create(id, maxInactiveIntervalSeconds);
    }

    /**
     * The session this member owns, if any. It never takes a session over: see {@link #takeOver}.
     *
     * @return empty when the session is not owned here
     */
    public Optional<PrimarySession> find(String id) {
        return Optional.ofNullable(table.primary(id));
    }

    /**
     * The session as a primary: the one this member owns, or the newest copy held in the view taken over when its
     * owner has left the view. A take-over first asks every other member of the view for its copy, in one round
     * trip, and adopts the newest (so a member that missed writes while it was away never takes over its stale
     * copy); then it announces itself to the holders before any delta of the new owner. See "Ownership and
     * consistency" in docs/architecture.md.
     *
     * @return completes with the primary; with empty when no member of the view holds the session, its owner is
     *     another live member (requests belong there), or the member that owned it last ended it lately; fails with
     *     {@link TakeOverException} when another member owns it or was handed it lately ({@link #moveHere} asks it),
     *     or takes it over at the same time, or a member neither answered nor left the view within the node's
     *     timeout. Completes on a delivery or timer thread; do not block a delivery thread on it.
     */
    public CompletionStage<Optional<PrimarySession>> takeOver(String id) {
        Objects.requireNonNull(id, "id");
        return takeOver.start(id).whenComplete((p, e) -> events.deliver());
    }

    /**
     * Moves the session here from wherever it is owned, so this member can serve it (any-node access): from a live
     * owner by a hand-off (one round trip to the owner, which first tells the other holders; while a request uses the
     * session there, {@link PrimarySession#beginAccess}, it is asked again with a growing pause until the node's
     * timeout), and when no live owner is known by a take-over round ({@link #takeOver}). The session moves with its
     * newest state, so requests for one session on different members never interleave their writes, and an
     * acknowledged write is never lost. With sticky routing a request reaches its owner and never needs this.
     *
     * @return completes with the primary; with empty when no member of the view holds the session; fails with
     *     {@link TakeOverException} when it stayed in use on its owner for the whole timeout, the owner could not be
     *     reached, or a take-over round failed. Completes on a delivery or timer thread; do not block one on it.
     */
    public CompletionStage<Optional<PrimarySession>> moveHere(String id) {
        return moveHere(id, null);
    }

    /**
     * As {@link #moveHere(String)}, naming the member that probably owns the session ({@link io.flotilla.Member#name},
     * such as the node a servlet container's session id routes to): when no owner is known here it is asked first,
     * which spares the take-over round that asks every member (a member holding no copy knows no owner). A wrong
     * guess costs one round trip before the round; a name that no member, or several, of the view have is ignored.
     *
     * @param likelyOwner a member name, or null for none
     */
    public CompletionStage<Optional<PrimarySession>> moveHere(String id, String likelyOwner) {
        Objects.requireNonNull(id, "id");
        return handoff.start(id, likelyOwner).whenComplete((p, e) -> events.deliver());
    }

    /**
     * Hands every session this member owns to the member that owns it next, before this member leaves (a graceful
     * stop, a rolling restart): that member serves it at once, at its newest version (changes not yet replicated
     * included), with no owner verification or take-over round on its next request. First every change sent before is
     * confirmed by the replication targets (asynchronous ones included); each session then goes to its {@link
     * Placement#successor} among the members whose engine listens, as a hand-off would move it ({@link #moveHere}
     * there): the other holders follow the successor before it owns the session. A session a request uses is handed
     * over once that request ends ({@link PrimarySession#endAccess}), and one a request moves back here during the
     * drain is handed over again. Call it before {@link #close()}; requests may go on meanwhile.
     *
     * @param timeout how long it may take (waiting for requests in use included); what it could not hand over by then
     *     is reported, never waited for longer
     * @return completes with the report, within about {@code timeout}, never exceptionally; completes on the
     *     scheduler's thread or a delivery thread. A drain while another runs returns the running one's report.
     */
    public CompletionStage<DrainReport> drain(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("drain timeout must not be negative, got " + timeout);
        }
        synchronized (drainLock) {
            if (draining == null || draining.isDone()) {
                draining = new Drain(out, config, table, replicator, handoff, takeOver, meters, clock, scheduler,
                        timeout)
                        .start();
            }
            return draining.whenComplete((r, e) -> events.deliver());
        }
    }

    /**
     * Makes sure a replica held here can be taken over by {@link #takeOver}: when its owner is still in the view, asks
     * the membership to verify the owner now (a request for its session arriving here suggests it is gone: with
     * sticky routing, requests reach another member only when the owner failed) and waits up to {@code timeout}
     * for it to leave the view. Call it before {@link #takeOver} on a request thread, outside any lock.
     *
     * @return true when the session has no live owner elsewhere (it can be taken over, or is already owned here);
     *     false when there is no replica, or the owner answered and stays
     * @throws TakeOverException when the owner neither answered nor left the view within {@code timeout} (hung, or
     *     its verification takes longer): the caller must fail the request, not serve it without the session
     */
    public boolean verifyOwner(String id, Duration timeout) {
        return replicator.verifyOwner(id, timeout);
    }

    /** Whether {@code member}'s engine (this namespace) announced that it listens: a replication target (tests). */
    boolean listens(MemberId member) {
        return readiness.isReady(member);
    }

    /**
     * The id a session known here as {@code id} has now: a session renamed since (a jvmRoute rename when it moved, a
     * {@link PrimarySession#changeId}) is found under its current id by a request that still carries the former one
     * (sent before its cookie changed). Renames are remembered on the owner and on the members that applied them (the
     * holders), the 10,000 most recent.
     *
     * @return the current id, or {@code id} when no rename of it is known here
     */
    public String currentId(String id) {
        return table.currentId(Objects.requireNonNull(id, "id"));
    }

    /** The replica held here (read-only; values stay bytes), if any. */
    public Optional<SessionRecord> replica(String id) {
        return table.replica(id);
    }

    /** The ids of the sessions this member owns. */
    public Set<String> primaryIds() {
        return table.primaryIds();
    }

    /** The ids of the replicas held here. */
    public Set<String> replicaIds() {
        return table.replicaIds();
    }

    /**
     * Sends the changes of session {@code id} since its last replication as one delta to its holders; call it at
     * the end of each request.
     *
     * @return completes per the configured {@link io.flotilla.Delivery}: at once for {@code ASYNC}; for {@code
     *     RECEIVED} and {@code PROCESSED} when every holder has it, or fails with the node's {@link
     *     io.flotilla.DeliveryException} (timeout from the node's configuration). Completes at once when there was
     *     nothing to send or the session is not owned here. Fails with an {@link AttributeCodecException}, in every
     *     delivery mode, while the session holds a value that cannot be encoded ({@code onUnserializable=FAIL}; see
     *     {@link PrimarySession}); the rest of the delta is sent first.
     */
    public CompletionStage<Void> replicate(String id) {
        PrimarySession ps = table.primary(id);
        return ps == null ? CompletableFuture.completedFuture(null) : replicator.replicate(ps);
    }

    /**
     * Expires what is idle at {@code nowMillis} (wall time): primaries at their max inactive interval (the expiry
     * is replicated), replicas whose owner left the view at twice that.
     *
     * @return the ids expired here
     */
    public List<String> expire(long nowMillis) {
        List<String> expired = new ArrayList<>(replicator.expirePrimaries(nowMillis));
        List<String> replicas = table.expireReplicas(out.view(), nowMillis);
        meters.expiredReplica.increment(replicas.size());
        expired.addAll(replicas);
        events.deliver();
        for (String id : expired) {
            callback("expiry", onExpired, id);
        }
        return expired;
    }

    /**
     * Runs the periodic checks now: open gaps, full sessions asked for long ago, repairs, and the state
     * transfer's liveness. The scheduler runs it every {@code tickInterval}.
     */
    public void tick() {
        store.checkGaps();
        replicator.tick();
        transferClient.tick();
        readiness.tick();
        antiEntropy.tick();
        events.deliver();
    }

    // ------------------------------------------------------------------------------------------ messages

    /**
     * A synchronous write's delta, or a full copy, is taken on the I/O thread that read it (the writer's round trip
     * saves a hand-off here): decoding and applying it takes short locks only and runs none of the application's code.
     * Not when a replica listener (the application's code) is told of changes, nor for a delta of a session owned
     * here too (its contest takes the session's lock, which a request may hold while it waits for queue room), nor
     * for anything else (take-overs, hand-offs and drains wait for sessions). Another engine's message is declined at
     * once. A primary created between this answer and the delta's apply (a take-over at that very moment) is contested
     * on the I/O thread all the same: the rare case costs that thread at most a send's queue-room wait.
     */
    private boolean takesInline(Message m) {
        ByteBuffer in = out.unwrap(m);
        if (in == null) {
            return true;
        }
        if (events.enabled() || !in.hasRemaining()) {
            return false;
        }
        byte kind = in.get();
        if (kind == ReplicationMessages.FULL) {
            return true;
        }
        try {
            return kind == ReplicationMessages.DELTA && table.primary(SessionCodec.deltaSessionId(in)) == null;
        } catch (CodecException e) {
            return false; // dropped as malformed on a delivery thread
        }
    }

    private void onReplicationMessage(Message m) throws MessageNotHandledException, MessageRefusedException {
        ByteBuffer in = out.unwrap(m);
        if (in == null) {
            // another engine's stream (another web application): if no engine on this node takes it, the sender
            // learns that this node holds nothing of that stream (a take-over round does not wait for it)
            throw notMine;
        }
        try {
            byte kind = in.get();
            switch (kind) {
                case ReplicationMessages.DELTA -> replicator.onDelta(m.from(),
                        sessionCodec.decodeDelta(ReplicationMessages.rest(in)), m.delivery() == Delivery.PROCESSED);
                case ReplicationMessages.FULL_REQUEST -> replicator.onFullRequest(m.from(),
                        ReplicationMessages.readIdAndVersion(in));
                case ReplicationMessages.FULL -> replicator.onFull(m.from(),
                        sessionCodec.decodeRecord(ReplicationMessages.rest(in)), m.delivery() == Delivery.PROCESSED);
                case ReplicationMessages.GONE -> replicator.onGone(m.from(),
                        ReplicationMessages.readIdAndVersion(in).id());
                case ReplicationMessages.OWNER -> replicator.onOwner(m.from(),
                        ReplicationMessages.readIdAndVersion(in));
                case ReplicationMessages.TAKEOVER_QUERY -> takeOver.onQuery(m.from(),
                        ReplicationMessages.readIdAndVersion(in));
                case ReplicationMessages.TAKEOVER_ANSWER -> takeOver.onAnswer(m.from(),
                        ReplicationMessages.readAnswer(in));
                case ReplicationMessages.HANDOFF_REQUEST -> handoff.onRequest(m.from(),
                        ReplicationMessages.readIdAndVersion(in));
                case ReplicationMessages.HANDOFF_ANSWER -> handoff.onAnswer(m.from(),
                        ReplicationMessages.readHandoffAnswer(in));
                case ReplicationMessages.RELEASE -> handoff.onRelease(m.from(), ReplicationMessages.readRelease(in));
                case ReplicationMessages.RENAMED -> replicator.onRenamed(ReplicationMessages.readRenamed(in));
                case ReplicationMessages.DIGEST -> antiEntropy.onDigest(m.from(), ReplicationMessages.readDigest(in));
                case ReplicationMessages.VERSIONS -> antiEntropy.onVersions(m.from(),
                        ReplicationMessages.readVersions(in));
                case ReplicationMessages.HANDED_OVER -> replicator.onHandedOver(m.from(),
                        ReplicationMessages.readHandedOver(in));
                case ReplicationMessages.READY -> readiness.onReady(m.from(), true);
                case ReplicationMessages.READY_ACK -> readiness.onReady(m.from(), false);
                case ReplicationMessages.UNREADY -> readiness.onUnready(m.from());
                case ReplicationMessages.FLUSH -> readiness.draining(m.from().id()); // and its result is the barrier
                default -> dropUnknown("replication", kind, m);
            }
        } catch (CodecException | BufferUnderflowException e) {
            dropMalformed("replication", m, e);
        } finally {
            // also when a refused delta throws: its sender's PROCESSED replication fails with the reason
            events.deliver();
        }
    }

    private void onTransferMessage(Message m) throws MessageNotHandledException {
        ByteBuffer in = out.unwrap(m);
        if (in == null) {
            throw notMine; // another engine's stream on this node (another web application)
        }
        try {
            byte kind = in.get();
            switch (kind) {
                case ReplicationMessages.TRANSFER_REQUEST -> transferSource.onRequest(m.from(), in.getLong());
                case ReplicationMessages.TRANSFER_CHUNK -> transferClient.onChunk(m.from(),
                        ReplicationMessages.readChunk(in));
                case ReplicationMessages.TRANSFER_DONE -> transferClient.onDone(m.from(), in.getLong(), in.getInt());
                default -> dropUnknown("state-transfer", kind, m);
            }
        } catch (CodecException | BufferUnderflowException e) {
            dropMalformed("state-transfer", m, e);
        }
        events.deliver();
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

    private void onMembership(MembershipEvent event) {
        departures.onMembership(event);
        if (event instanceof MembershipEvent.Joined && !out.closed()) {
            transferClient.joined();
            transferSource.joined(event.member());
            readiness.joined(event.member());
            antiEntropy.joined(event.member());
            events.deliver();
        }
        if (event instanceof MembershipEvent.Left left) {
            transferSource.left(left.member());
            transferClient.left(left.member());
            replicator.left(left.member().id());
            takeOver.left(left.member().id());
            handoff.left(left.member().id());
            readiness.left(left.member().id());
            antiEntropy.left(left.member().id());
        }
    }

    // ------------------------------------------------------------------------------------------ plumbing

    private void requestFull(String id, long have) {
        replicator.requestFull(id, have);
    }

    /** The replication targets changed: copies placed elsewhere now move (see {@link Rebalancer}). */
    private void targetsChanged() {
        Rebalancer r = rebalancer;
        if (r != null) { // null while the constructor builds the readiness it hears from
            r.targetsChanged();
        }
    }

    /** A state transfer completed: the owners check the versions received (see {@link AntiEntropy}). */
    private void verifyTransferred() {
        antiEntropy.verifyTransferred();
    }

    /** Runs a host's callback; what it throws is counted and logged, never propagated. */
    private void callback(String what, Consumer<String> c, String id) {
        try {
            c.accept(id);
        } catch (RuntimeException e) {
            callbackFailed();
            LOG.log(Level.WARNING, what + " callback failed for session " + SessionRecord.redact(id), e);
        }
    }

    private void callbackFailed() {
        meters.callbackErrors.increment();
    }

    private void scheduleTick() {
        scheduleEvery(config.tickInterval(), this::tick, "replication tick", c -> tickTimer = c);
    }

    private void scheduleExpiry() {
        scheduleEvery(config.expiryInterval(), () -> expire(clock.currentTimeMillis()), "expiry sweep",
                c -> expiryTimer = c);
    }

    /** Runs {@code task} every {@code every} on the scheduler until the engine closes; a failed run is logged. */
    private void scheduleEvery(Duration every, Runnable task, String what, Consumer<Scheduler.Cancellable> timer) {
        if (out.closed()) {
            return;
        }
        timer.accept(scheduler.schedule(() -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, what + " failed; next one in " + every, e);
            }
            scheduleEvery(every, task, what, timer);
        }, every.toNanos()));
    }

    /** Stops listening and the timers; does not close the node. Idempotent. */
    @Override
    public void close() {
        if (out.closed()) {
            return;
        }
        readiness.closing();
        out.close();
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
        private Consumer<String> onMovedAway = id -> { };
        private ReplicaListener replicaListener;

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

        /**
         * Told the id of every session this member handed to another member that asked for it ({@link #moveHere}
         * there): the session lives on there, so a host drops its local copy without ending it. Called on a delivery
         * thread, after the handle died ({@link PrimarySession#isHandedOver()}). Default: nothing.
         */
        public Builder onMovedAway(Consumer<String> v) {
            onMovedAway = Objects.requireNonNull(v, "onMovedAway");
            return this;
        }

        /**
         * Told every change of the replicas held here, with its cause (see {@link ReplicaListener} for its
         * threads). Default: none, and then no change is even built.
         */
        public Builder replicaListener(ReplicaListener v) {
            replicaListener = Objects.requireNonNull(v, "replicaListener");
            return this;
        }

        /** Subscribes to the node's topics and membership, starts the timers and, if configured, state transfer. */
        public ReplicationEngine start() {
            ReplicationEngine e = build();
            e.start();
            return e;
        }

        /** The engine, not subscribed yet: a test lets the view change before {@link ReplicationEngine#start}. */
        ReplicationEngine build() {
            return new ReplicationEngine(this);
        }
    }
}
