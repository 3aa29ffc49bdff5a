package io.flotilla.internal;

import io.flotilla.ClusterSecret;
import io.flotilla.Delivery;
import io.flotilla.DeliveryTimeoutException;
import io.flotilla.FlotillaException;
import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.MemberUnreachableException;
import io.flotilla.MembershipEvent;
import io.flotilla.MembershipListener;
import io.flotilla.Message;
import io.flotilla.MessageListener;
import io.flotilla.MessageNotHandledException;
import io.flotilla.MessageRefusedException;
import io.flotilla.Node;
import io.flotilla.NodeClosedException;
import io.flotilla.NodeConfig;
import io.flotilla.Registration;
import io.flotilla.RemoteProcessingException;
import io.flotilla.View;
import io.flotilla.internal.OutboundStream.Pending;
import io.flotilla.internal.OutboundStream.Settlement;
import io.flotilla.spi.Clock;
import io.flotilla.spi.Disconnect;
import io.flotilla.spi.InboundHandler;
import io.flotilla.spi.MembershipContext;
import io.flotilla.spi.MembershipService;
import io.flotilla.spi.PeerConnection;
import io.flotilla.spi.PeerLane;
import io.flotilla.spi.Scheduler;
import io.flotilla.spi.Transport;
import io.flotilla.spi.TransportContext;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameCodec;
import io.flotilla.wire.FrameType;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The standard {@link Node}: the delivery engine over a {@link Transport} and a {@link MembershipService}.
 *
 * <p>Per target member an {@link OutboundStream} numbers messages and keeps them until acknowledged; per sending
 * member an {@link InboundStream} orders them, drops duplicates and hands them to listeners on the delivery
 * executor, or on the I/O thread that read them when their listeners take them there ({@link
 * MessageListener#inline}). Acks and results never run user code on I/O threads: futures complete on the delivery
 * executor.
 *
 * <p>Not API: construct nodes with {@link Node#builder()}. Public only for the test harness, which passes a
 * direct delivery executor and a manual clock to run the protocol deterministically.
 *
 * <p>Threading: safe from any thread.
 */
public final class DefaultNode implements Node {
    private static final System.Logger LOG = System.getLogger(DefaultNode.class.getName());
    private static final int TOPICS = 256;
    private static final int DELIVERY_BATCH = 256;
    /** Batches one delivery task takes before it yields the thread to other senders' streams. */
    private static final int DELIVERY_ROUNDS = 4;
    private static final Delivery[] DELIVERIES = Delivery.values();
    /** Messages one read delivers inline at most before it hands the sender's rest to the delivery executor. */
    private static final int INLINE_MAX = 16;
    /** Whether a listener class overrides {@link MessageListener#inline} (lambdas and most listeners do not). */
    private static final ClassValue<Boolean> MAY_INLINE = new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> type) {
            try {
                return type.getMethod("inline", Message.class).getDeclaringClass() != MessageListener.class;
            } catch (NoSuchMethodException e) {
                return false;
            }
        }
    };
    /** Set while this thread runs listeners inline (an I/O thread): its sends never wait for queue room. */
    private static final ThreadLocal<boolean[]> INLINE = ThreadLocal.withInitial(() -> new boolean[1]);
    private static final int STALL_RESEND_MAX = 256;
    /**
     * How long the streams of a member that left are kept. A member removed by mistake comes back with the same
     * id, and both sides must then still agree on its sequence numbers; a member that really left never comes back
     * (a restart draws a new id), so its streams are dropped after this.
     */
    private static final long DEPARTED_RETENTION_NANOS = TimeUnit.MINUTES.toNanos(5);
    /** Liveness connections opened again in a row after a failure ({@link #keepConnected}). */
    private static final int MAX_RECONNECTS = 6;
    /** Lane threads at most ({@link LaneWait#handOff}); a lane nobody can read beyond is given up. */
    private static final int MAX_LANE_THREADS = 256;

    private final NodeConfig config;
    /** How threads waiting for this node's sends spin before they park. */
    private final DeliveryFuture.WaitSpin waitSpin;
    private final Clock clock;
    private final Scheduler scheduler;
    private final boolean ownsScheduler;
    private final Transport transport;
    private final MembershipService membership;
    private final NodeThreads threads;
    private final MeterRegistry registry;
    private final NodeMeters meters;
    private final Executor delivery;
    private final ExecutorService ownedDelivery;
    /** Reads the answers of lanes nobody waits on ({@link LaneWait#handOff}); no thread until one is needed. */
    private final ThreadPoolExecutor laneThreads;
    /** Lane messages whose answer nobody has taken to read yet: the timer hands them to a lane thread. */
    private final Set<LaneWait> untakenLanes = ConcurrentHashMap.newKeySet();
    private final Lanes lanes = new Lanes();
    private final RateLimitedLog warnings;
    private final long timeoutNanos;
    private final long tickNanos;
    private final long stallNanos;
    private final ConcurrentHashMap<MemberId, OutboundStream> outbound = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<MemberId, InboundStream> inbound = new ConcurrentHashMap<>();
    /** Members that left the view, with the time they left; their streams go after the retention time. */
    private final ConcurrentHashMap<MemberId, Long> departed = new ConcurrentHashMap<>();
    private final List<CopyOnWriteArrayList<MessageListener>> listeners = new ArrayList<>(TOPICS);
    private final CopyOnWriteArrayList<MembershipListener> membershipListeners = new CopyOnWriteArrayList<>();
    private final AtomicBoolean started = new AtomicBoolean();
    /** Set when close() starts: no new sends. Retries and timers go on while queued messages drain. */
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Set when close() stopped waiting for acknowledgements: timers and retries stop. */
    private volatile boolean stopped;
    private volatile Member local;
    private final MemberId id;
    /** Senders outside the view the engine keeps streams for, at most (joining members, for a moment). */
    static final int MAX_STREAMS_OUTSIDE_VIEW = 64;
    private volatile View view;
    /**
     * Per member of the view whose liveness connection (opened at its join) failed: the failed attempts in a row.
     * Cleared when a connection to it is established, and when it joins or leaves.
     */
    private final ConcurrentHashMap<MemberId, Integer> reconnects = new ConcurrentHashMap<>();
    private volatile Scheduler.Cancellable tick;

    /** A node with its own delivery threads and, when {@code scheduler} is null, its own timer thread. */
    public DefaultNode(NodeConfig config, Clock clock, Scheduler scheduler, Transport transport,
            MembershipService membership) {
        this(config, clock, scheduler, transport, membership, null);
    }

    /**
     * @param deliveryExecutor runs listeners and completes futures; null for the node's own pool of
     *     {@code deliveryThreads}. Tests pass a direct executor.
     */
    public DefaultNode(NodeConfig config, Clock clock, Scheduler scheduler, Transport transport,
            MembershipService membership, Executor deliveryExecutor) {
        this(config, clock, scheduler, transport, membership, deliveryExecutor, null);
    }

    /**
     * @param id this incarnation's member id; null for a new random one (always, outside tests: a seeded test
     *     cluster passes ids from its seed, so that the members' age order and every map keyed by id replay)
     */
    public DefaultNode(NodeConfig config, Clock clock, Scheduler scheduler, Transport transport,
            MembershipService membership, Executor deliveryExecutor, MemberId id) {
        this.id = id;
        this.config = Objects.requireNonNull(config, "config");
        this.waitSpin = new DeliveryFuture.WaitSpin(config.waitSpin().toNanos());
        this.clock = Objects.requireNonNull(clock, "clock");
        this.transport = Objects.requireNonNull(transport, "transport");
        this.membership = Objects.requireNonNull(membership, "membership");
        this.threads = new NodeThreads(config.clusterName());
        this.ownsScheduler = scheduler == null;
        this.scheduler = scheduler != null ? scheduler : new DefaultScheduler(threads.factory("timer"));
        this.registry = config.meterRegistry() != null ? config.meterRegistry() : new SimpleMeterRegistry();
        this.meters = new NodeMeters(registry, this::queuedMessages, this::receiveBuffered);
        if (deliveryExecutor != null) {
            this.delivery = deliveryExecutor;
            this.ownedDelivery = null;
        } else {
            ThreadPoolExecutor pool = new ThreadPoolExecutor(config.deliveryThreads(), config.deliveryThreads(),
                    30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), threads.factory("delivery"));
            this.delivery = pool;
            this.ownedDelivery = pool;
        }
        this.laneThreads = new ThreadPoolExecutor(0, MAX_LANE_THREADS, 30, TimeUnit.SECONDS, new SynchronousQueue<>(),
                threads.factory("lane"));
        for (int i = 0; i < TOPICS; i++) {
            listeners.add(new CopyOnWriteArrayList<>());
        }
        this.warnings = new RateLimitedLog(LOG, clock, TimeUnit.SECONDS.toNanos(10));
        this.timeoutNanos = config.timeout().toNanos();
        this.tickNanos = Math.max(TimeUnit.MILLISECONDS.toNanos(5), Math.min(timeoutNanos / 10,
                TimeUnit.MILLISECONDS.toNanos(100)));
        // Resend when nothing was acknowledged for a while: a quarter of the timeout, at most 500 ms. On TCP this
        // only fires when a receiver stalls; on a lossy test network it recovers dropped frames.
        this.stallNanos = Math.max(tickNanos, Math.min(timeoutNanos / 4, TimeUnit.MILLISECONDS.toNanos(500)));
    }

    /** Binds the transport, builds the local member, starts the transport, the membership and the timer. */
    public void start() {
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException("node already started");
        }
        InetSocketAddress bound = transport.bind();
        String host = bound.getAddress() != null ? bound.getAddress().getHostAddress() : bound.getHostString();
        String name = config.memberName().isEmpty() ? host + ":" + bound.getPort() : config.memberName();
        local = new Member(id != null ? id : MemberId.random(), name, host, bound.getPort(), config.domain(), config.memberPayload(),
                clock.currentTimeMillis());
        view = new View(0, List.of(local));
        Contexts contexts = new Contexts();
        transport.start(contexts);
        membership.start(contexts);
        tick = scheduler.schedule(this::onTick, tickNanos);
        logTrustModel();
        LOG.log(Level.INFO, () -> "node " + local.describe() + " started in cluster '" + config.clusterName()
                + "'" + (local.domain().isEmpty() ? "" : " domain '" + local.domain() + "'"));
    }

    /** One line at start saying what the node trusts; never the secret itself. */
    private void logTrustModel() {
        boolean tls = transport.authenticatesPeers();
        if (config.secret() != null) {
            LOG.log(Level.INFO, () -> "cluster secret from " + config.secret().source()
                    + ": heartbeats and connections are authenticated" + (tls ? "; connections use mutual TLS" : ""));
        } else if (tls) {
            LOG.log(Level.WARNING, "no cluster secret: connections are authenticated by mutual TLS, but membership "
                    + "datagrams are not, so a host on the multicast group can make members suspect or remove one "
                    + "with a forged leave; set a secret (see docs/security.md)");
        } else {
            LOG.log(Level.WARNING, () -> "no cluster secret and no TLS: this node trusts its network. Any host that "
                    + "can reach port " + local.port() + " or the membership group can join, send messages and "
                    + "remove members. Set secretFile or secretEnv (see docs/security.md)");
        }
    }

    @Override
    public Member localMember() {
        return local;
    }

    @Override
    public View view() {
        return view;
    }

    /** The configuration this node was built with. */
    public NodeConfig config() {
        return config;
    }

    /** The registry the node's meters are in (the configured one, or its private one). */
    public MeterRegistry meterRegistry() {
        return registry;
    }

    // ---------------------------------------------------------------- sending

    @Override
    public CompletionStage<Void> send(Member to, int topic, ByteBuffer payload, Delivery delivery) {
        Objects.requireNonNull(to, "to");
        checkSend(topic, payload, delivery);
        ByteBuffer body = delivery == Delivery.ASYNC ? copy(payload) : payload.slice().asReadOnlyBuffer();
        return sendOne(to, topic, body, delivery, delivery != Delivery.ASYNC);
    }

    @Override
    public CompletionStage<Void> send(Collection<Member> to, int topic, ByteBuffer payload, Delivery delivery) {
        return send(to, topic, payload, delivery, delivery != Delivery.ASYNC);
    }

    @Override
    public CompletionStage<Void> sendQueued(Collection<Member> to, int topic, ByteBuffer payload, Delivery delivery) {
        return send(to, topic, payload, delivery, false);
    }

    /** {@code awaited}: a thread will block on the stage (see {@link Frame#awaited()}). */
    private CompletionStage<Void> send(Collection<Member> to, int topic, ByteBuffer payload, Delivery delivery,
            boolean awaited) {
        Objects.requireNonNull(to, "to");
        checkSend(topic, payload, delivery);
        if (to.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        ByteBuffer body = delivery == Delivery.ASYNC ? copy(payload) : payload.slice().asReadOnlyBuffer();
        if (to.size() == 1) {
            return sendOne(to.iterator().next(), topic, body, delivery, awaited);
        }
        List<CompletableFuture<Void>> all = new ArrayList<>(to.size());
        // The aggregate is completed by our own code on the thread that completed the last send; the caller's
        // dependents run on the delivery executor. A thread that waits on it reads the answers of its lanes.
        DeliveryFuture<Void> result = new DeliveryFuture<>(this.delivery, waitSpin);
        for (Member m : to) {
            CompletableFuture<Void> f = sendOne(m, topic, body.duplicate(), delivery, awaited);
            if (f instanceof DeliveryFuture<Void> d) {
                d.moveLanes(result);
            }
            all.add(f);
        }
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).whenComplete((ok, ignored) -> {
            Throwable first = null;
            for (CompletableFuture<Void> f : all) {
                Throwable t = failure(f);
                if (t != null && first == null) {
                    first = t;
                } else if (t != null) {
                    first.addSuppressed(t);
                }
            }
            if (first == null) {
                result.complete(null);
            } else {
                result.completeExceptionally(first instanceof RuntimeException ? first
                        : new FlotillaException("send failed", first));
            }
        });
        return result;
    }

    /** The failure of a completed future, unwrapped, or null; never blocks and never waits for a dependent. */
    private static Throwable failure(CompletableFuture<Void> f) {
        if (!f.isCompletedExceptionally()) {
            return null;
        }
        try {
            f.join();
            return null;
        } catch (CompletionException | CancellationException e) {
            return e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        }
    }

    private void checkSend(int topic, ByteBuffer payload, Delivery delivery) {
        Objects.requireNonNull(payload, "payload");
        Objects.requireNonNull(delivery, "delivery");
        if (topic < 0 || topic >= TOPICS) {
            throw new IllegalArgumentException("topic=" + topic + " is invalid: use 0-255");
        }
        long max = (long) config.maxFrameBytes() - FrameCodec.HEADER_BYTES;
        if (payload.remaining() > max) {
            throw new IllegalArgumentException("payload of " + payload.remaining() + " bytes exceeds maxFrameBytes ("
                    + config.maxFrameBytes() + " including a " + FrameCodec.HEADER_BYTES
                    + "-byte header): split it or raise maxFrameBytes on every member");
        }
        if (!started.get()) {
            throw new IllegalStateException("node not started");
        }
    }

    /**
     * The node's own copy of an {@code ASYNC} payload. It stays writable (no one else holds it), so the transport
     * can copy it out of its backing array in one step; listeners only ever see read-only views.
     */
    private static ByteBuffer copy(ByteBuffer payload) {
        ByteBuffer c = ByteBuffer.allocate(payload.remaining());
        c.put(payload.duplicate()).flip();
        return c;
    }

    private CompletableFuture<Void> sendOne(Member to, int topic, ByteBuffer body, Delivery delivery,
            boolean awaited) {
        if (closed.get()) {
            return CompletableFuture.failedFuture(new NodeClosedException("node " + local.describe() + " is closed"));
        }
        if (to.id().equals(local.id())) {
            return CompletableFuture.failedFuture(new IllegalArgumentException(
                    "cannot send to the local member " + local.describe()));
        }
        OutboundStream stream = outbound.computeIfAbsent(to.id(),
                id -> new OutboundStream(to, config.maxQueuedMessages(), config.maxQueuedBytes(), clock.nanoTime(),
                        this.delivery, waitSpin));
        Pending p;
        try {
            // A listener running inline (an I/O thread) must not wait: the acknowledgements that make room may be
            // this very thread's to read.
            p = stream.enqueue(topic, body, delivery, awaited, clock, INLINE.get()[0] ? 0 : timeoutNanos);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return CompletableFuture.failedFuture(new NodeClosedException("interrupted while waiting for queue room"));
        } catch (FlotillaException e) {
            meters.queueFull.increment();
            return CompletableFuture.failedFuture(e);
        }
        meters.sent.get(delivery).increment();
        meters.sentBytes.record(body.remaining());
        if (awaited && p.future instanceof DeliveryFuture<Void> f && !INLINE.get()[0] && sendOnLane(to, p, f)) {
            return f;
        }
        transport.send(to, p.frame);
        return p.future != null ? p.future : CompletableFuture.completedFuture(null);
    }

    /**
     * Writes a message a thread will wait for on a lane of the transport, if it has one free: the thread that waits
     * then reads the answer itself ({@link LaneWait}). False when it must go the pooled way.
     */
    private boolean sendOnLane(Member to, Pending p, DeliveryFuture<Void> f) {
        if (p.frame.encodedLength() > PeerLane.MAX_FRAME_BYTES) {
            return false;
        }
        if (p.delivery == Delivery.RECEIVED && waitSpin.anyoneWaits()) {
            // Other threads wait too: the pooled connection's I/O threads read and acknowledge many such messages at
            // once, which costs both sides less than a read and an ACK per message on lanes (8 threads: 0.80x the
            // messages per second on lanes, p99 2.7x). A PROCESSED message's RESULT is one frame per message either
            // way, written by the receiver's delivery thread, and a lane saves the sender's I/O thread its wake-up.
            return false;
        }
        PeerLane lane = transport.lane(to);
        if (lane == null) {
            return false;
        }
        try {
            lane.write(p.frame);
        } catch (IOException e) {
            meters.laneFailures.increment(); // the lane closed itself
            return false;
        }
        // Lanes run on real time (socket reads), whatever the node's clock.
        LaneWait w = new LaneWait(lanes, lane, to, p.frame, f, System.nanoTime(), timeoutNanos);
        untakenLanes.add(w);
        f.addLane(w);
        meters.laneSends.increment();
        return true;
    }

    /** What lane readers call back into. */
    private final class Lanes implements LaneWait.Engine {
        @Override
        public void onLaneFrame(Member from, Frame frame) {
            switch (frame.type()) {
                case ACK -> onAck(from, frame);
                case RESULT -> onResult(from, frame);
                default -> warnings.log(Level.WARNING, "unexpected-lane-frame",
                        "ignored unexpected " + frame.type() + " frame on a lane from " + from.describe());
            }
        }

        @Override
        public boolean laneThread(Runnable reader) {
            try {
                laneThreads.execute(reader);
                return true;
            } catch (RejectedExecutionException e) {
                return false;
            }
        }

        @Override
        public void laneFailed(LaneWait w, String why) {
            meters.laneFailures.increment();
            LOG.log(Level.DEBUG, () -> "lane to " + w.to.describe() + " given up (" + why + "): message "
                    + w.frame.messageId() + " goes over the pooled connections");
            if (!w.future.isDone() && !closed.get()) {
                transport.send(w.to, w.frame);
            }
        }

        @Override
        public void taken(LaneWait w) {
            untakenLanes.remove(w);
        }
    }

    private void onAck(Member from, Frame frame) {
        OutboundStream s = outbound.get(from.id());
        if (s != null) {
            settle(s.onAck(frame.messageId(), clock.nanoTime()));
        }
    }

    private void onResult(Member from, Frame frame) {
        OutboundStream s = outbound.get(from.id());
        if (s != null) {
            settle(s.onResult(frame.messageId(), InboundStream.readResult(frame), clock.nanoTime()));
        }
    }

    /**
     * Completes or fails futures on the calling thread, often an I/O thread: a caller blocked in {@code get()} wakes
     * at once, and every dependent stage runs on the delivery executor ({@link DeliveryFuture}).
     */
    private void settle(List<Settlement> settlements) {
        if (settlements.isEmpty()) {
            return;
        }
        long now = clock.nanoTime();
        for (Settlement s : settlements) {
            settleNow(s, now);
        }
    }

    private void settleNow(Settlement s, long now) {
        Pending p = s.pending();
        if (s.error() == null) {
            meters.latency.get(p.delivery).record(now - p.enqueuedNanos, TimeUnit.NANOSECONDS);
            if (p.future != null) {
                p.future.complete(null);
            }
        } else {
            if (s.error() instanceof DeliveryTimeoutException) {
                meters.timedOut.increment();
            }
            if (p.future != null) {
                p.future.completeExceptionally(s.error());
            }
        }
    }

    private void resend(Member to, List<Frame> frames) {
        if (frames.isEmpty()) {
            return;
        }
        meters.retransmitted.increment(frames.size());
        for (Frame f : frames) {
            transport.send(to, f);
        }
    }

    /**
     * Gives up on everything queued for {@code member}. The stream keeps numbering: later messages carry a low-water
     * mark past the abandoned ones, so the receiver skips them. {@code tell} also sends that mark at once.
     */
    private void abandon(OutboundStream stream, String why, boolean tell) {
        List<Settlement> out = stream.abandonAll(m -> new MemberUnreachableException(m, "message to "
                + m.describe() + " abandoned: " + why), false);
        if (!out.isEmpty()) {
            meters.abandoned.increment(out.size());
            warnings.log(Level.WARNING, "abandon", out.size() + " message(s) to " + stream.member.describe()
                    + " abandoned: " + why);
            settle(out);
        }
        if (tell) {
            transport.send(stream.member, Frame.control(FrameType.SYNC, stream.lowWater()));
        }
    }

    private void onConnectionFailure(Member member, String why) {
        OutboundStream stream = outbound.get(member.id());
        if (stream == null || stopped) {
            return;
        }
        List<Frame> again = stream.onConnectionFailure(clock.nanoTime(), config.maxRetryAttempts());
        if (again == null) {
            abandon(stream, why + "; no success after maxRetryAttempts=" + config.maxRetryAttempts(), true);
            membership.suspect(member.id(), why);
        } else if (!again.isEmpty()) {
            // Retry after a pause, not in a tight loop against a peer that refuses connections.
            scheduler.schedule(() -> resend(member, again), tickNanos);
        }
    }

    /**
     * A connection to {@code m}, a member of the view, failed with nothing queued for it (the liveness connection of
     * its join, say, while it was unreachable for a moment): without another, a crash of {@code m} would be noticed
     * only after dropTime of silent heartbeats instead of within milliseconds. So it is opened again, after a pause
     * that doubles from the tick, at most {@link #MAX_RECONNECTS} times in a row; queued messages reconnect by
     * themselves.
     */
    private void keepConnected(Member m) {
        OutboundStream s = outbound.get(m.id());
        View v = view;
        if (closed.get() || stopped || v == null || !v.contains(m.id()) || s != null && s.queuedMessages() > 0) {
            return;
        }
        int attempt = reconnects.merge(m.id(), 1, Integer::sum);
        if (attempt > MAX_RECONNECTS) {
            return; // its heartbeats still watch it
        }
        scheduler.schedule(() -> {
            View now = view;
            if (!closed.get() && !stopped && now != null && now.contains(m.id())) {
                transport.send(m, Frame.control(FrameType.PING, 0));
            }
        }, tickNanos << (attempt - 1));
    }

    private void onTick() {
        if (stopped) {
            return;
        }
        try {
            long now = clock.nanoTime();
            for (OutboundStream s : outbound.values()) {
                settle(s.expire(now));
                resend(s.member, s.stalled(now, stallNanos, STALL_RESEND_MAX));
            }
            for (InboundStream s : inbound.values()) {
                s.flushLazy(now);
            }
            long real = System.nanoTime();
            for (LaneWait w : untakenLanes) {
                // Sent a tick ago and nobody waits on it (the caller only attached dependents, or dropped it).
                if (real - w.sentAt >= tickNanos && w.take()) {
                    w.handOff();
                }
            }
            departed.forEach((id, leftAt) -> {
                if (now - leftAt > DEPARTED_RETENTION_NANOS && departed.remove(id, leftAt)) {
                    outbound.remove(id);
                    inbound.remove(id);
                }
            });
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "delivery timer failed; continuing", e);
        } finally {
            if (!stopped) {
                tick = scheduler.schedule(this::onTick, tickNanos);
            }
        }
    }

    // ---------------------------------------------------------------- receiving

    private final class Inbound implements InboundHandler {
        @Override
        public void onConnected(PeerConnection connection) {
            LOG.log(Level.DEBUG, () -> "connected to " + connection.remote().describe());
            reconnects.remove(connection.remote().id());
        }

        @Override
        public void onFrame(PeerConnection conn, Frame frame) {
            Member from = conn.remote();
            switch (frame.type()) {
                case DATA -> {
                    InboundStream s = inboundStream(from);
                    if (s != null && s.onData(conn, frame) == InboundStream.Outcome.QUEUED_AND_SCHEDULE) {
                        deliverInline(s);
                    }
                }
                case ACK -> onAck(from, frame);
                case RESULT -> onResult(from, frame);
                case SYNC -> {
                    InboundStream s = inboundStream(from);
                    if (s != null && s.onSync(frame.messageId())) {
                        scheduleDelivery(s);
                    }
                }
                default -> warnings.log(Level.WARNING, "unexpected-frame",
                        "ignored unexpected " + frame.type() + " frame from " + from.describe());
            }
        }

        @Override
        public void onReadComplete(PeerConnection conn) {
            InboundStream s = inbound.get(conn.remote().id());
            if (s != null) {
                s.ackIfDue(conn, clock.nanoTime());
            }
        }

        @Override
        public void onDisconnected(PeerConnection conn, Disconnect reason) {
            Member m = conn.remote();
            if (stopped) {
                return;
            }
            switch (reason) {
                case LEAVING -> membership.left(m.id());
                case LOST -> {
                    membership.suspect(m.id(), "connection lost without goodbye");
                    onConnectionFailure(m, "connection lost");
                }
                // Closed on purpose: anything unacknowledged goes out again on a new connection.
                case CLOSED -> onConnectionFailure(m, "connection closed by " + m.describe());
            }
        }

        @Override
        public void onProbed(Member prober) {
            if (!stopped) {
                membership.probedBy(prober);
            }
        }

        @Override
        public void onSendFailed(Member member, Throwable cause) {
            warnings.log(Level.WARNING, "send-failed", "cannot reach " + member.describe() + ": " + cause);
            onConnectionFailure(member, "cannot connect: " + cause.getMessage());
            if (!stopped && nothingListens(cause)) {
                // Found in CI: a member killed just after it joined, before its liveness connection was made, was
                // noticed only after dropTime of silence. Its port refusing connections says as much as a broken
                // connection; the membership service verifies the suspicion over TCP before it removes anyone.
                membership.suspect(member.id(), "no connection can be opened to it: " + cause.getMessage());
            }
            keepConnected(member);
        }
    }

    /**
     * The stream of {@code from}, created on its first frame; null (the frame is dropped, unacknowledged, and
     * counted) when {@code from} is not in the view and {@link #MAX_STREAMS_OUTSIDE_VIEW} streams of senders outside
     * it exist already. Members join the view soon after they connect, so this only bounds what connections with
     * made-up identities can make the engine hold; their senders retry once they are in the view. A stream holds
     * the messages of a sender outside the view, unacknowledged and undelivered, until it joins
     * ({@link InboundStream#viewChanged}).
     */
    private InboundStream inboundStream(Member from) {
        InboundStream s = inbound.get(from.id());
        if (s == null) {
            if (!view.contains(from.id()) && streamsOutsideView() >= MAX_STREAMS_OUTSIDE_VIEW) {
                meters.outsideView.increment();
                warnings.log(Level.WARNING, "outside-view", "dropped a frame from " + from.describe()
                        + ": not in the view and " + MAX_STREAMS_OUTSIDE_VIEW + " senders outside the view are "
                        + "tracked already");
                return null;
            }
            int maxAhead = Math.max(1024, config.maxQueuedMessages() * 2);
            s = inbound.computeIfAbsent(from.id(), id -> new InboundStream(from, config.maxReceiveBufferBytes(),
                    maxAhead, 65_536, meters, () -> view.contains(id)));
            // Read the view after the stream is in the map: a join published meanwhile either finds the stream in
            // the map (onMembershipEvents) or is seen here.
            if (s.viewChanged(clock.nanoTime())) {
                scheduleDelivery(s);
            }
        }
        return s;
    }

    /** Streams of senders not in the current view; only counted when a new stream is about to be made. */
    private int streamsOutsideView() {
        View v = view;
        int n = 0;
        for (MemberId id : inbound.keySet()) {
            if (!v.contains(id)) {
                n++;
            }
        }
        return n;
    }

    private void scheduleDelivery(InboundStream s) {
        try {
            delivery.execute(() -> deliver(s));
        } catch (RejectedExecutionException e) {
            // Only after close(): the node no longer delivers.
            LOG.log(Level.DEBUG, "delivery rejected: node closed");
        }
    }

    private void deliver(InboundStream s) {
        for (int round = 0; round < DELIVERY_ROUNDS; round++) {
            // An empty batch marks the stream idle: the next message schedules a new task.
            List<Frame> batch = s.nextBatch(DELIVERY_BATCH);
            if (batch.isEmpty()) {
                return;
            }
            for (Frame f : batch) {
                deliverOne(s, f);
            }
        }
        // Still busy: go on in a new task, so one busy sender cannot starve the others.
        scheduleDelivery(s);
    }

    private void deliverOne(InboundStream s, Frame f) {
        Delivery d = DELIVERIES[f.flags() & Frame.DELIVERY_MASK];
        meters.received.get(d).increment();
        meters.receivedBytes.record(f.payloadLength());
        String error = dispatch(s.sender, f, d);
        if (d == Delivery.PROCESSED) {
            s.completeProcessed(f, error);
        }
    }

    /**
     * On the I/O thread that made {@code s} deliverable (it owns its delivery now): the messages at its head whose
     * listeners all take them inline run here, which saves a hand-off to a delivery thread (for a {@code PROCESSED}
     * message, two wake-ups of its sender's round trip); from the first other message on, the rest goes to the
     * delivery executor. Nothing earlier of the sender waits, so per-sender order holds across topics.
     */
    private void deliverInline(InboundStream s) {
        boolean[] inline = INLINE.get();
        if (!inline[0]) { // not from a listener already running inline here
            Frame f;
            for (int n = 0; n < INLINE_MAX && (f = s.peek()) != null && takesInline(s.sender, f); n++) {
                s.poll();
                inline[0] = true;
                try {
                    deliverOne(s, f);
                } finally {
                    inline[0] = false;
                }
            }
        }
        if (s.endInline()) {
            scheduleDelivery(s);
        }
    }

    /** Whether every listener of {@code f}'s topic takes it on this thread. */
    private boolean takesInline(Member from, Frame f) {
        List<MessageListener> ls = listeners.get(f.topic());
        if (ls.isEmpty()) {
            return false;
        }
        for (MessageListener l : ls) {
            if (!MAY_INLINE.get(l.getClass())) {
                return false; // the default answer, known without a Message per frame on the I/O thread
            }
        }
        Delivery d = DELIVERIES[f.flags() & Frame.DELIVERY_MASK];
        for (MessageListener l : ls) {
            try {
                if (!l.inline(new Message(from, f.topic(), d, f.payload().asReadOnlyBuffer()))) {
                    return false;
                }
            } catch (RuntimeException | LinkageError | AssertionError e) {
                return false; // onMessage, on a delivery thread, reports what is wrong
            }
        }
        return true;
    }

    /** Runs the topic's listeners; returns null or the error text to report for a {@code PROCESSED} message. */
    private String dispatch(Member from, Frame f, Delivery d) {
        List<MessageListener> ls = listeners.get(f.topic());
        String error = null;
        int declined = 0;
        for (MessageListener l : ls) {
            try {
                l.onMessage(new Message(from, f.topic(), d, f.payload().asReadOnlyBuffer()));
            } catch (MessageNotHandledException e) {
                declined++;
            } catch (MessageRefusedException e) {
                meters.refused.increment();
                LOG.log(Level.DEBUG, () -> "listener for topic " + f.topic() + " refused a message from "
                        + from.describe() + ": " + e.getMessage());
                if (error == null) {
                    error = e.getClass().getName() + ": " + e.getMessage();
                }
            } catch (Exception | LinkageError | AssertionError e) {
                meters.listenerErrors.increment();
                warnings.log(Level.WARNING, "listener", "message listener for topic " + f.topic()
                        + " threw on a message from " + from.describe(), e);
                if (error == null) {
                    error = e.getClass().getName() + ": " + e.getMessage();
                }
            }
        }
        if (declined == ls.size()) {
            meters.unhandled.increment();
            // INFO, not WARN: a member joins before its applications listen (a Tomcat node's web applications start
            // after its cluster), so early messages on their topics are routine; counted, and a PROCESSED sender is
            // told by the error below. Listeners that all declined (other applications' engines) count the same.
            warnings.log(Level.INFO, "unhandled-" + f.topic(), (ls.isEmpty() ? "no listener for topic "
                    : "no listener took the message on topic ") + f.topic() + " on " + local.describe()
                    + " yet; message from " + from.describe() + " dropped");
            return RemoteProcessingException.noListenerError(f.topic(), local);
        }
        return error;
    }

    // ---------------------------------------------------------------- listeners and membership

    @Override
    public void suspect(Member member, String reason) {
        Objects.requireNonNull(member, "member");
        if (!member.id().equals(local.id()) && !closed.get()) {
            membership.suspect(member.id(), reason);
        }
    }

    @Override
    public Registration addMessageListener(int topic, MessageListener listener) {
        Objects.requireNonNull(listener, "listener");
        if (topic < 0 || topic >= TOPICS) {
            throw new IllegalArgumentException("topic=" + topic + " is invalid: use 0-255");
        }
        listeners.get(topic).add(listener);
        return () -> listeners.get(topic).remove(listener);
    }

    @Override
    public Registration addMembershipListener(MembershipListener listener) {
        Objects.requireNonNull(listener, "listener");
        membershipListeners.add(listener);
        return () -> membershipListeners.remove(listener);
    }

    /** Called on the membership service's thread, in view order. */
    private void onMembershipEvents(List<MembershipEvent> events) {
        for (MembershipEvent e : events) {
            View v = e.view();
            if (view != null && v.id() <= view.id()) {
                LOG.log(Level.WARNING, "membership published view " + v.id() + " after " + view.id()
                        + "; ignored (views must increase)");
                continue;
            }
            view = v;
            LOG.log(Level.DEBUG, () -> describe(e)); // the membership service logs each change once, at INFO
            if (e instanceof MembershipEvent.Joined || e instanceof MembershipEvent.Left) {
                // A sender's messages are delivered only while it is a member: release or hold them.
                InboundStream s = inbound.get(e.member().id());
                if (s != null && s.viewChanged(clock.nanoTime())) {
                    scheduleDelivery(s);
                }
            }
            if (e instanceof MembershipEvent.Left || e instanceof MembershipEvent.Joined) {
                reconnects.remove(e.member().id());
            }
            if (e instanceof MembershipEvent.Left left) {
                memberGone(left.member(), left.graceful() ? "member left" : "member removed as failed");
            } else if (e instanceof MembershipEvent.Joined joined) {
                departed.remove(joined.member().id());
                if (!closed.get()) {
                    // Open a pooled connection at once (the PING is answered by the peer's transport): a member
                    // that crashes breaks it, and the transport's LOST makes it a suspect within milliseconds even
                    // when no message was ever sent to it, instead of after dropTime of silent heartbeats.
                    transport.send(joined.member(), Frame.control(FrameType.PING, 0));
                }
            }
            for (MembershipListener l : membershipListeners) {
                try {
                    l.onEvent(e);
                } catch (RuntimeException | LinkageError | AssertionError ex) {
                    LOG.log(Level.WARNING, "membership listener threw on " + e.getClass().getSimpleName()
                            + "; skipped", ex);
                }
            }
        }
    }

    /**
     * True when {@code cause} says the TCP connection itself could not be made ({@link ConnectException} in its
     * chain: refused, or no answer within connectTimeout), as opposed to a peer that answered and failed the
     * handshake (a wrong secret or TLS set-up is a configuration error, not a crash).
     */
    private static boolean nothingListens(Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof ConnectException) {
                return true;
            }
        }
        return false;
    }

    private static String describe(MembershipEvent e) {
        String what;
        if (e instanceof MembershipEvent.Left l) {
            what = l.graceful() ? "left" : "removed (failed)";
        } else if (e instanceof MembershipEvent.Suspected s) {
            what = "suspected (" + s.reason() + ")";
        } else if (e instanceof MembershipEvent.Unsuspected) {
            what = "no longer suspected";
        } else {
            what = "joined";
        }
        return e.member().describe() + " " + what + "; view #" + e.view().id() + " has " + e.view().size()
                + " member(s)";
    }

    /** Fails what is queued for a member that left; its streams stay (see {@link #DEPARTED_RETENTION_NANOS}). */
    private void memberGone(Member m, String why) {
        OutboundStream s = outbound.get(m.id());
        if (s != null) {
            abandon(s, why, false);
        }
        departed.put(m.id(), clock.nanoTime());
        transport.disconnect(m);
    }

    /** What the transport and the membership service get from this node: one view of it for both. */
    private final class Contexts implements TransportContext, MembershipContext {
        private final Inbound handler = new Inbound();

        @Override
        public Optional<ClusterSecret> secret() {
            return Optional.ofNullable(config.secret());
        }

        @Override
        public String clusterName() {
            return config.clusterName();
        }

        @Override
        public Member localMember() {
            return local;
        }

        @Override
        public Clock clock() {
            return clock;
        }

        @Override
        public MeterRegistry meters() {
            return registry;
        }

        @Override
        public ThreadFactory threadFactory(String role) {
            return threads.factory(role);
        }

        @Override
        public InboundHandler inbound() {
            return handler;
        }

        @Override
        public int maxFrameBytes() {
            return config.maxFrameBytes();
        }

        @Override
        public Scheduler scheduler() {
            return scheduler;
        }

        @Override
        public CompletionStage<Member> probe(InetSocketAddress address, Duration timeout) {
            return transport.probe(address, timeout);
        }

        @Override
        public void publish(List<MembershipEvent> events) {
            onMembershipEvents(events);
        }
    }

    // ---------------------------------------------------------------- closing

    /** How many streams (outbound plus inbound) this node holds for {@code member}; for tests. */
    int streamsFor(MemberId member) {
        return (outbound.containsKey(member) ? 1 : 0) + (inbound.containsKey(member) ? 1 : 0);
    }

    private int queuedMessages() {
        int n = 0;
        for (OutboundStream s : outbound.values()) {
            n += s.queuedMessages();
        }
        return n;
    }

    private long receiveBuffered() {
        long n = 0;
        for (InboundStream s : inbound.values()) {
            n += s.bufferedBytes();
        }
        return n;
    }

    @Override
    public void close() {
        close(config.timeout());
    }

    /**
     * Closes, waiting at most {@code drain} (real time) for queued messages to be acknowledged. The test harness
     * passes zero: with a manual clock nothing moves while it waits.
     */
    public void close(Duration drain) {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        List<String> problems = new ArrayList<>();
        if (started.get()) {
            long deadline = System.nanoTime() + drain.toNanos();
            for (OutboundStream s : outbound.values()) {
                if (s.queuedMessages() > 0 && view.contains(s.member.id())) {
                    // Lazy messages (FLAG_LAZY_ACK) may wait for a later read to be acknowledged: ask for it now.
                    // Awaited (this thread waits for its answer): it does not sit out a linger of the writer.
                    Frame sync = Frame.control(FrameType.SYNC, s.lowWater());
                    transport.send(s.member, new Frame(sync.type(), 0, 0, 0, sync.messageId(), sync.payload(), true));
                }
            }
            for (OutboundStream s : outbound.values()) {
                try {
                    if (!s.awaitDrained(deadline - System.nanoTime())) {
                        problems.add(s.queuedMessages() + " message(s) to " + s.member.describe()
                                + " unacknowledged at close");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            stopped = true;
            Scheduler.Cancellable t = tick;
            if (t != null) {
                t.cancel();
            }
            closeQuietly("membership", membership, problems);
            closeQuietly("transport", transport, problems);
            for (OutboundStream s : outbound.values()) {
                List<Settlement> out = s.abandonAll(m -> new NodeClosedException("node " + local.describe()
                        + " closed before the message to " + m.describe() + " was confirmed"), true);
                out.forEach(x -> settleNow(x, clock.nanoTime()));
            }
        }
        laneThreads.shutdown(); // the transport closed the lanes: their readers end
        if (ownedDelivery != null) {
            ownedDelivery.shutdown();
            try {
                if (!ownedDelivery.awaitTermination(config.timeout().toMillis(), TimeUnit.MILLISECONDS)) {
                    problems.add("delivery threads still busy in listeners after " + config.timeout().toMillis() + " ms");
                    ownedDelivery.shutdownNow();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (ownsScheduler) {
            closeQuietly("scheduler", scheduler, problems);
        }
        if (problems.isEmpty()) {
            LOG.log(Level.INFO, () -> "node " + (local == null ? "(never started)" : local.describe()) + " closed");
        } else {
            LOG.log(Level.WARNING, "node " + (local == null ? "" : local.describe()) + " closed with problems: "
                    + String.join("; ", problems));
        }
    }

    /**
     * Takes the closeable itself, not a method reference: close runs once per JVM, and creating a lambda's class
     * on that first use took about a millisecond in a fresh JVM, in front of the leave datagram.
     */
    private static void closeQuietly(String what, AutoCloseable close, List<String> problems) {
        try {
            close.close();
        } catch (Exception e) {
            problems.add(what + ": " + e);
        }
    }
}
