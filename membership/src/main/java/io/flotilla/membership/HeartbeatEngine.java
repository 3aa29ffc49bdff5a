package io.flotilla.membership;

import io.flotilla.internal.RateLimitedLog;
import io.flotilla.ClusterSecret;
import io.flotilla.ConfigurationException;
import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.View;
import io.flotilla.spi.Clock;
import io.flotilla.spi.MembershipContext;
import io.flotilla.spi.ProbeRefusedException;
import io.flotilla.spi.Scheduler;
import io.flotilla.wire.WireException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import javax.crypto.Mac;

/**
 * The heartbeat protocol and the member table of {@link MulticastMembership}, without the socket: datagrams come in
 * through {@link #accept}, go out through a {@link DatagramSink}, and every state change runs as a command on the
 * {@code loop} executor. Production hands it the {@link CommandLoop}; unit tests hand it an executor that runs
 * commands on the calling thread, with a manual clock.
 *
 * <p>A member goes through three states. JOINING: heard, not in the view, a TCP probe decides (a member whose
 * receiver does not answer is never added; the probe is retried at most every {@link #probeRetryNanos} while its
 * heartbeats go on). ALIVE: in the view. SUSPECT: in the view, silent for the failure detector's time or reported
 * by the transport, a probe decides (alive: stays, Unsuspected; removed as failed after {@code probeAttempts} probes
 * in a row not alive, or after one when its heartbeats have also been silent for {@code dropTime}, when its address
 * refused the connection ({@link ProbeRefusedException}: nothing listens there), or when another incarnation
 * answers). A leave datagram or {@link #left} removes it as graceful and its
 * id is never accepted again (ids are per incarnation).
 *
 * <p>When this process itself was paused ({@link LocalPause}), the members' silence during the pause is not counted
 * and a probe that was in flight is repeated instead of counting as failed (at most {@code probeAttempts} times per
 * verification, so pauses that keep recurring cannot keep a dead member forever).
 *
 * <p>Threading: {@link #start}, {@link #accept}, {@link #suspect}, {@link #left}, {@link #close} and
 * {@link #view} are safe from any thread; the rest runs on the loop.
 */
final class HeartbeatEngine {
    private static final System.Logger LOG = System.getLogger(HeartbeatEngine.class.getName());
    /** Most remote members tracked at once; datagrams of further newcomers are ignored (counted). */
    static final int MAX_PEERS = 4096;
    /** Ids of members that left, kept so a late heartbeat does not bring them back. */
    static final int MAX_TOMBSTONES = 4096;
    /** Copies of the leave datagram sent on close, for loss tolerance. */
    static final int LEAVE_COPIES = 3;

    /**
     * Where datagrams go: the multicast channel, or a test's recorder. Called on the loop, and by {@link #close} for
     * the leave datagrams: safe for two threads.
     */
    interface DatagramSink {
        void send(ByteBuffer datagram) throws IOException;
    }

    private enum State { JOINING, ALIVE, SUSPECT }

    /** Sequence numbers a peer's datagrams may arrive out of order by; older ones are stale. */
    static final int REPLAY_WINDOW = 64;

    private static final class Peer {
        final Member member;
        final FailureDetector detector;
        State state = State.JOINING;
        /** The highest sequence number accepted, and a bit per number below it (bit 0: highest itself). */
        long highestSequence;
        long seen = 1L;
        /**
         * Without a cluster secret: the last sequence number refused for lying outside the window, or 0. A second
         * datagram just after it confirms it as the sender's true position (see {@link #admit}).
         */
        long outlier;
        long probeId;
        long probeStartedNanos;
        long probeGuardNanos;
        long nextProbeAtNanos;
        /** When its last heartbeat arrived (moved forward by local pauses). */
        long lastHeardNanos;
        /** Probes in a row that failed (attempts towards removal) or proved nothing (a local pause overlapped them). */
        int failedProbes;
        int inconclusiveProbes;

        Peer(Member member, FailureDetector detector, long sequence, long nowNanos) {
            this.member = member;
            this.detector = detector;
            this.highestSequence = sequence;
            this.nextProbeAtNanos = nowNanos;
            this.lastHeardNanos = nowNanos;
        }

        /**
         * The sliding replay window: accepts each sequence number once, newer ones and ones at most
         * {@link #REPLAY_WINDOW} - 1 behind the highest (reordered); returns null or why it is refused.
         *
         * <p>With a cluster secret every accepted number is genuine, so any newer one moves the window. Without one
         * ({@code trusted}) anyone can forge a datagram, and a single one numbered near 2<sup>63</sup> would make
         * every later genuine datagram look stale for good. So a number more than {@link #REPLAY_WINDOW} ahead (or
         * behind) is refused as an {@code outlier}; it becomes the new position only when the very next refused
         * datagram follows it within the window, as a sender's own stream does after a long gap (datagrams lost,
         * this node paused) and as a single forged datagram cannot. A genuine datagram in the window in between
         * forgets the outlier.
         */
        String admit(long sequence, boolean trusted) {
            long ahead = sequence - highestSequence; // both are positive: no overflow
            if (trusted && (ahead > REPLAY_WINDOW || ahead <= -REPLAY_WINDOW)) {
                long afterOutlier = sequence - outlier;
                if (outlier != 0 && afterOutlier > 0 && afterOutlier < REPLAY_WINDOW) {
                    highestSequence = sequence;
                    seen = 1L | (1L << afterOutlier);
                    outlier = 0;
                    return null;
                }
                outlier = sequence;
                return "out_of_window";
            }
            if (ahead > 0) {
                seen = ahead >= REPLAY_WINDOW ? 1L : (seen << ahead) | 1L;
                highestSequence = sequence;
                outlier = 0;
                return null;
            }
            long behind = -ahead;
            if (behind >= REPLAY_WINDOW) {
                return "stale";
            }
            long bit = 1L << behind;
            if ((seen & bit) != 0) {
                return "replayed";
            }
            seen |= bit;
            outlier = 0;
            return null;
        }
    }

    private final MembershipContext context;
    private final MulticastMembershipConfig config;
    private final Executor loop;
    private final DatagramSink sink;
    private final MembershipMeters meters;
    private final Clock clock;
    private final Scheduler scheduler;
    private final Member local;
    private final String cluster;
    private final long frequencyNanos;
    private final long dropTimeNanos;
    private final long probeRetryNanos;
    private final long probeGuardNanos;
    private final long connectTimeoutNanos;
    private final int probeAttempts;
    private final LocalPause pause;
    private final RateLimitedLog refusedLog;
    private final RateLimitedLog sendLog;
    private final ViewKeeper views;
    /**
     * With a cluster secret: tags datagrams sent (loop only), the leave datagrams ({@link #close}, once, on the
     * closing thread) and checks those received (receiver only).
     */
    private final Mac sendMac;
    private final Mac leaveMac;
    private final Mac receiveMac;
    /** Numbers every datagram sent: the loop's heartbeats and the closing thread's leave. */
    private final AtomicLong sequence = new AtomicLong();
    private final AtomicBoolean leaveSent = new AtomicBoolean();

    // Loop-owned state.
    private final Map<MemberId, Peer> peers = new HashMap<>();
    private final Map<MemberId, Boolean> tombstones = new LinkedHashMap<>(16, 0.75f, false) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<MemberId, Boolean> eldest) {
            return size() > MAX_TOMBSTONES;
        }
    };
    private long probeCounter;
    private boolean replyPending;
    private boolean closed;
    private Scheduler.Cancellable heartbeatTimer;
    private Scheduler.Cancellable expiryTimer;
    private long expiryDueNanos = Long.MAX_VALUE;

    HeartbeatEngine(MembershipContext context, MulticastMembershipConfig config, Executor loop, DatagramSink sink,
            MembershipMeters meters) {
        this.context = context;
        this.config = config;
        this.loop = loop;
        this.sink = sink;
        this.meters = meters;
        this.clock = context.clock();
        this.scheduler = context.scheduler();
        this.local = context.localMember();
        this.cluster = context.clusterName();
        this.frequencyNanos = config.frequency().toNanos();
        this.dropTimeNanos = config.dropTime().toNanos();
        this.probeRetryNanos = 2 * frequencyNanos;
        this.probeGuardNanos = config.connectTimeout().toNanos() + frequencyNanos;
        this.connectTimeoutNanos = config.connectTimeout().toNanos();
        this.probeAttempts = config.probeAttempts();
        this.pause = new LocalPause(frequencyNanos, clock, meters);
        this.refusedLog = new RateLimitedLog(LOG, clock, TimeUnit.SECONDS.toNanos(10));
        this.sendLog = new RateLimitedLog(LOG, clock, TimeUnit.SECONDS.toNanos(10));
        if (cluster.getBytes(StandardCharsets.UTF_8).length > 255) {
            throw ConfigurationException.invalid("clusterName", cluster, "use at most 255 UTF-8 bytes");
        }
        ClusterSecret secret = context.secret().orElse(null);
        this.sendMac = secret == null ? null : secret.newMac(ClusterSecret.Purpose.MEMBERSHIP);
        this.leaveMac = secret == null ? null : secret.newMac(ClusterSecret.Purpose.MEMBERSHIP);
        this.receiveMac = secret == null ? null : secret.newMac(ClusterSecret.Purpose.MEMBERSHIP);
        int size = new Datagram(Datagram.Type.HEARTBEAT, cluster, 0, local).encodedLength(secret != null);
        if (size > config.maxDatagramBytes()) {
            throw ConfigurationException.invalid("maxDatagramBytes", config.maxDatagramBytes(),
                    "the local member's heartbeat needs " + size + " bytes: raise it or shorten the payload");
        }
        this.views = new ViewKeeper(context, meters);
    }

    /** The current view: the local member and every member verified alive. */
    View view() {
        return views.view();
    }

    /** Sends the first heartbeat at once and then one every {@code frequency}. Does not wait for anyone. */
    void start() {
        post(() -> {
            sendHeartbeat();
            scheduleHeartbeat();
        });
    }

    /**
     * Parses and filters a received datagram on the calling thread (the receiver's), and returns the command that
     * applies it on the loop, or null when it is refused or ignored (counted either way).
     */
    Runnable accept(ByteBuffer bytes, long arrivalNanos) {
        meters.datagramsReceived.increment();
        Datagram d;
        try {
            if (bytes.remaining() > config.maxDatagramBytes()) {
                throw new WireException("too_large", "datagram of " + bytes.remaining() + " bytes or more exceeds "
                        + "maxDatagramBytes=" + config.maxDatagramBytes());
            }
            d = Datagram.decode(bytes, receiveMac);
        } catch (WireException e) {
            meters.refused(e.reason());
            refusedLog.log(System.Logger.Level.WARNING, () -> "Refused a membership datagram (" + e.reason()
                    + "): " + e.getMessage());
            return null;
        }
        if (!d.cluster().equals(cluster)) {
            meters.ignored("other_cluster");
            return null;
        }
        if (!d.member().domain().equals(local.domain())) {
            meters.ignored("other_domain");
            return null;
        }
        if (d.member().id().equals(local.id())) {
            meters.ignored("self");
            return null;
        }
        return () -> command(() -> onDatagram(d, arrivalNanos));
    }

    /** {@link #accept} and post: for tests and for callers that do not shed load. */
    void receive(ByteBuffer bytes, long arrivalNanos) {
        Runnable command = accept(bytes, arrivalNanos);
        if (command != null) {
            loop.execute(command);
        }
    }

    void suspect(MemberId id, String reason) {
        post(() -> onSuspect(id, reason));
    }

    void left(MemberId id) {
        post(() -> onLeave(id, "goodbye on its connection"));
    }

    /**
     * Stops heartbeating; with {@code announce}, sends the leave datagrams first, on the calling thread: the others
     * learn of the leave without waiting for the loop thread to wake (a hand-off that took about a millisecond). A
     * heartbeat the loop sends after them is ignored: the others keep a left member's id as a tombstone.
     */
    void close(boolean announce) {
        if (announce && leaveSent.compareAndSet(false, true)) {
            for (int i = 0; i < LEAVE_COPIES; i++) {
                send(Datagram.Type.LEAVE, leaveMac);
            }
        }
        post(this::shutdown);
    }

    private void post(Runnable body) {
        loop.execute(() -> command(body));
    }

    /** Runs one command on the loop and publishes the events it produced. */
    private void command(Runnable body) {
        try {
            long paused = pause.observe(clock.nanoTime());
            if (paused > 0) {
                onLocalPause(paused);
            }
            body.run();
        } finally {
            views.flush();
        }
    }

    // ---- Everything below runs on the loop. ----

    /** This process did not run for {@code pausedNanos}: the members' silence in that time is ours, not theirs. */
    private void onLocalPause(long pausedNanos) {
        long now = clock.nanoTime();
        for (Peer p : peers.values()) {
            p.detector.localPause(pausedNanos, now);
            p.lastHeardNanos = Math.min(now, p.lastHeardNanos + pausedNanos);
        }
        armExpiry();
    }

    private void onDatagram(Datagram d, long arrivalNanos) {
        if (closed) {
            return;
        }
        MemberId id = d.member().id();
        if (tombstones.containsKey(id)) {
            meters.ignored("left");
            return;
        }
        Peer p = peers.get(id);
        if (p != null) {
            String refused = p.admit(d.sequence(), receiveMac == null);
            if (refused != null) {
                meters.ignored(refused);
                return;
            }
        }
        if (d.type() == Datagram.Type.LEAVE) {
            onLeave(id, "leave datagram");
            return;
        }
        if (p == null) {
            if (peers.size() >= MAX_PEERS) {
                meters.ignored("table_full");
                return;
            }
            p = new Peer(d.member(), FailureDetector.create(config.failureDetection(), dropTimeNanos, frequencyNanos,
                    arrivalNanos), d.sequence(), clock.nanoTime());
            peers.put(id, p);
            Member m = p.member;
            LOG.log(System.Logger.Level.DEBUG, () -> "Heard new member " + m.describe() + ", verifying over TCP");
            replyOnce();
            startProbe(p);
            armExpiry();
            return;
        }
        p.detector.heartbeat(arrivalNanos);
        p.lastHeardNanos = Math.max(p.lastHeardNanos, arrivalNanos);
        if (p.state == State.JOINING && p.probeId == 0 && clock.nanoTime() - p.nextProbeAtNanos >= 0) {
            startProbe(p);
        }
        if (p.detector.suspectAtNanos() < expiryDueNanos) {
            armExpiry();
        }
    }

    private void onSuspect(MemberId id, String reason) {
        Peer p = peers.get(id);
        if (closed || p == null || p.state != State.ALIVE) {
            return;
        }
        p.state = State.SUSPECT;
        views.suspect(p.member, reason, "transport");
        if (p.probeId == 0) {
            startProbe(p);
        }
    }

    private void onLeave(MemberId id, String how) {
        if (closed) {
            return;
        }
        tombstones.put(id, Boolean.TRUE);
        Peer p = peers.remove(id);
        if (p != null && p.state != State.JOINING) {
            LOG.log(System.Logger.Level.DEBUG, () -> p.member.describe() + " left: " + how);
            views.leave(p.member, true, "leave");
        }
    }

    /**
     * Answers a newcomer with a heartbeat at once, before its probe is started, so it can start its own probe of this
     * node without waiting. The datagrams queued behind this one arrived before the answer went out, from members
     * already listening: the one answer reaches them too, so a burst of newcomers gets one answer.
     */
    private void replyOnce() {
        if (replyPending) {
            return;
        }
        replyPending = true;
        sendHeartbeat();
        post(() -> replyPending = false);
    }

    private void scheduleHeartbeat() {
        heartbeatTimer = scheduler.schedule(() -> post(this::onHeartbeatTimer), frequencyNanos);
    }

    private void onHeartbeatTimer() {
        if (closed) {
            return;
        }
        sendHeartbeat();
        scheduleHeartbeat();
    }

    private void sendHeartbeat() {
        send(Datagram.Type.HEARTBEAT, sendMac);
    }

    /** Sends one datagram; on the loop with {@code sendMac}, or once on the closing thread with {@code leaveMac}. */
    private void send(Datagram.Type type, Mac mac) {
        Datagram d = new Datagram(type, cluster, sequence.incrementAndGet(), local);
        ByteBuffer buffer = ByteBuffer.allocate(d.encodedLength(mac != null));
        d.encode(buffer, mac);
        buffer.flip();
        try {
            sink.send(buffer);
            meters.sent(type);
        } catch (IOException e) {
            sendLog.log(System.Logger.Level.WARNING, () -> "Could not send a " + type + " datagram: " + e);
        }
    }

    private void startProbe(Peer p) {
        long probeId = ++probeCounter;
        p.probeId = probeId;
        MemberId id = p.member.id();
        // A suspect gets connectTimeout: it has been silent for dropTime already, and a short timeout is what makes a
        // hung member's removal quick. A newcomer gets up to dropTime: it is not in the view, so waiting costs
        // nothing, while a JVM that just started can take a second or more to answer its first connection on a busy
        // host; a timeout there would start over after a retry pause (2 x frequency) and delay the join by seconds.
        long timeoutNanos = p.state == State.JOINING ? Math.max(connectTimeoutNanos, dropTimeNanos)
                : connectTimeoutNanos;
        long guardNanos = timeoutNanos + probeGuardNanos - connectTimeoutNanos;
        p.probeStartedNanos = clock.nanoTime();
        p.probeGuardNanos = guardNanos;
        CompletionStage<Member> stage;
        try {
            stage = context.probe(p.member.address(), Duration.ofNanos(timeoutNanos));
        } catch (RuntimeException e) {
            stage = CompletableFuture.failedFuture(e);
        }
        stage.whenComplete((answered, error) -> post(() -> onProbeResult(id, probeId, answered, error)));
        // The transport promises an answer within the timeout; this guard keeps a lost answer from leaving the
        // member undecided forever.
        scheduler.schedule(() -> post(() -> onProbeResult(id, probeId, null, new TimeoutException(
                "no probe answer within " + guardNanos / 1_000_000 + " ms"))), guardNanos);
    }

    private void onProbeResult(MemberId id, long probeId, Member answered, Throwable error) {
        Peer p = peers.get(id);
        if (closed || p == null || p.probeId != probeId) {
            return; // a late answer to a probe that was already decided or whose member left
        }
        p.probeId = 0;
        long now = clock.nanoTime();
        boolean alive = error == null && answered != null && answered.id().equals(id);
        boolean otherIncarnation = error == null && answered != null && !alive;
        if (!alive && !otherIncarnation && p.inconclusiveProbes < probeAttempts
                && pause.spoiled(p.probeStartedNanos, now, p.probeGuardNanos)) {
            p.inconclusiveProbes++;
            meters.probe("inconclusive");
            LOG.log(System.Logger.Level.INFO, () -> "A probe of " + p.member.describe() + " failed while this node "
                    + "was paused; it proves nothing, probing again (" + error + ")");
            startProbe(p);
            return;
        }
        meters.probe(alive ? "alive" : error instanceof TimeoutException ? "timeout"
                : error == null ? "mismatch" : "failed");
        if (alive) {
            p.failedProbes = 0;
            p.inconclusiveProbes = 0;
            if (now - p.detector.suspectAtNanos() >= 0) {
                p.detector.restartSilence(now); // TCP says alive: count the silence from now
            }
            if (p.state == State.JOINING) {
                p.state = State.ALIVE;
                views.join(p.member);
            } else if (p.state == State.SUSPECT) {
                p.state = State.ALIVE;
                views.unsuspect(p.member);
            }
        } else {
            String why = error != null ? String.valueOf(error) : answered == null ? "no answer"
                    : "another incarnation answers there: " + answered.describe();
            p.failedProbes++;
            boolean silent = now - p.lastHeardNanos >= dropTimeNanos;
            boolean conclusive = otherIncarnation || silent || ProbeRefusedException.isRefusal(error);
            if (p.state == State.SUSPECT && !conclusive && p.failedProbes < probeAttempts) {
                // Its heartbeats still arrive: one lost SYN or a busy peer must not remove it. A fresh connection
                // restarts the kernel's retransmission at 1 s. (Silent over UDP too: two channels agree, it goes.
                // Refused: nothing listens at its address, which no lost packet or busy peer can make happen.)
                int attempt = p.failedProbes;
                LOG.log(System.Logger.Level.DEBUG, () -> "Probe " + attempt + " of " + probeAttempts + " of "
                        + p.member.describe() + " failed (" + why + "); probing again");
                startProbe(p);
                return;
            }
            int attempts = p.failedProbes;
            p.failedProbes = 0;
            p.inconclusiveProbes = 0;
            p.nextProbeAtNanos = now + probeRetryNanos;
            if (p.state == State.JOINING) {
                LOG.log(System.Logger.Level.INFO, () -> "Not adding " + p.member.describe()
                        + ": its receiver does not answer over TCP (" + why + ")");
            } else {
                LOG.log(System.Logger.Level.DEBUG, () -> "Removing " + p.member.describe() + " after " + attempts
                        + " failed probe(s): " + why);
                p.state = State.JOINING;
                views.leave(p.member, false, "failed");
            }
        }
        armExpiry();
    }

    private void armExpiry() {
        long due = Long.MAX_VALUE;
        for (Peer p : peers.values()) {
            if (p.probeId == 0) {
                due = Math.min(due, p.detector.suspectAtNanos());
            }
        }
        if (due == Long.MAX_VALUE || closed) {
            return;
        }
        if (expiryTimer != null) {
            if (expiryDueNanos <= due) {
                return; // the armed timer fires first; it re-arms for the rest
            }
            expiryTimer.cancel();
        }
        expiryDueNanos = due;
        expiryTimer = scheduler.schedule(() -> post(() -> onExpiryTimer()), Math.max(0, due - clock.nanoTime()));
    }

    private void onExpiryTimer() {
        expiryTimer = null;
        expiryDueNanos = Long.MAX_VALUE;
        if (closed) {
            return;
        }
        long now = clock.nanoTime();
        for (Peer p : new ArrayList<>(peers.values())) {
            if (p.probeId != 0 || now - p.detector.suspectAtNanos() < 0) {
                continue;
            }
            switch (p.state) {
                case ALIVE -> {
                    p.state = State.SUSPECT;
                    long silentMillis = (now - p.detector.suspectAtNanos()) / 1_000_000;
                    views.suspect(p.member, "no heartbeat for the failure detector's time"
                            + (silentMillis > 0 ? " + " + silentMillis + " ms" : ""), "silence");
                    startProbe(p);
                }
                case SUSPECT -> startProbe(p);
                case JOINING -> peers.remove(p.member.id()); // never added, now silent: forget it
            }
        }
        armExpiry();
    }

    private void shutdown() {
        if (closed) {
            return;
        }
        closed = true;
        if (heartbeatTimer != null) {
            heartbeatTimer.cancel();
        }
        if (expiryTimer != null) {
            expiryTimer.cancel();
        }
    }
}
