package io.flotilla.testing;

import io.flotilla.FlotillaException;
import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.spi.Disconnect;
import io.flotilla.spi.PeerConnection;
import io.flotilla.spi.Transport;
import io.flotilla.spi.TransportContext;
import io.flotilla.spi.TransportFactory;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameType;
import io.flotilla.wire.Handshaker;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A simulated network of in-memory transports that injects faults deterministically: every frame is delivered
 * after a random delay on a {@link ManualClock} (so frames reorder), or dropped, or delivered twice, as the fault
 * settings say, all drawn from one seeded {@link Random}. Partitions cut members apart; connections can be broken.
 * The same protocol code as on real sockets runs above it, on the test's thread. Every connection and probe opens
 * with the real handshake ({@link Handshaker}, run at once and reliably by {@link InMemoryHandshake}, drawing nothing
 * from the seeded random): a node with another cluster name or another secret is refused as over TCP, the refusal
 * counted by reason ({@link #refused}) and reported to the connecting engine as a failed send.
 *
 * <p>An object, not a global: each test makes its own. Print {@link #seed()} in failure messages.
 *
 * <p>Threading: not thread-safe; drive it from the test thread only (with a direct delivery executor).
 */
public final class InMemoryNetwork {
    private final ManualClock clock;
    private final long seed;
    private final Random random;
    private final Map<Integer, SimTransport> byPort = new HashMap<>();
    private final Set<Set<MemberId>> cuts = new HashSet<>();
    private int nextPort = 20_000;
    private double dropRate;
    private double duplicateRate;
    private long minDelayNanos;
    private long maxDelayNanos;
    /** Extra delay of the frames one member sends another, by (sender, receiver): constant, so they stay in order. */
    private final Map<List<MemberId>, Long> linkDelays = new HashMap<>();
    private long delivered;
    private long dropped;
    private long duplicated;
    /** Frames each member's transport wrote, by {@link FrameType} ordinal (dropped ones included). */
    private final Map<MemberId, long[]> written = new HashMap<>();
    /** Of {@link #written}, the frames marked {@link Frame#awaited()}. */
    private final Map<MemberId, long[]> writtenAwaited = new HashMap<>();
    /** Handshake refusals by the member that refused, as {@code reason} tags. */
    private final Map<MemberId, List<String>> refusals = new HashMap<>();
    private final List<String> refusalLog = new ArrayList<>();
    /** Nonces of the handshakes; they never change an outcome, so they need not follow the seed. */
    private final SecureRandom nonces = new SecureRandom();

    public InMemoryNetwork(ManualClock clock, long seed) {
        this.clock = clock;
        this.seed = seed;
        this.random = new Random(seed);
    }

    public long seed() {
        return seed;
    }

    /** Drops each frame with probability {@code rate} (0-1). */
    public InMemoryNetwork drop(double rate) {
        dropRate = rate;
        return this;
    }

    /** Delivers each frame twice with probability {@code rate}. */
    public InMemoryNetwork duplicate(double rate) {
        duplicateRate = rate;
        return this;
    }

    /** Delays each frame by a uniform random time in [min, max]; a spread reorders frames. */
    public InMemoryNetwork delay(Duration min, Duration max) {
        minDelayNanos = min.toNanos();
        maxDelayNanos = max.toNanos();
        return this;
    }

    /**
     * Delays every frame {@code from} sends {@code to} by {@code extra} on top of {@link #delay}: one slow direction of
     * one link (a message that overtakes another sent earlier elsewhere). Zero removes it.
     */
    public InMemoryNetwork delay(Member from, Member to, Duration extra) {
        if (extra.isZero()) {
            linkDelays.remove(List.of(from.id(), to.id()));
        } else {
            linkDelays.put(List.of(from.id(), to.id()), extra.toNanos());
        }
        return this;
    }

    /** No more faults (partitions stay until {@link #heal()}). */
    public InMemoryNetwork calm() {
        dropRate = 0;
        duplicateRate = 0;
        return this;
    }

    /** Cuts {@code a} and {@code b} apart: frames between them are dropped and connections fail. */
    public void partition(Member a, Member b) {
        cuts.add(Set.of(a.id(), b.id()));
        for (SimTransport t : byPort.values()) {
            if (t.local != null && (t.local.id().equals(a.id()) || t.local.id().equals(b.id()))) {
                Member other = t.local.id().equals(a.id()) ? b : a;
                t.breakConnectionsTo(other.id(), Disconnect.LOST);
            }
        }
    }

    public void heal() {
        cuts.clear();
    }

    /** Breaks every connection of {@code member}, as a reset would: both sides see a non-graceful close. */
    public void breakConnections(Member member) {
        for (SimTransport t : byPort.values()) {
            if (t.local != null && t.local.id().equals(member.id())) {
                t.breakConnectionsTo(null, Disconnect.LOST);
            }
        }
    }

    public long delivered() {
        return delivered;
    }

    public long dropped() {
        return dropped;
    }

    public long duplicated() {
        return duplicated;
    }

    /**
     * How many frames of {@code type} {@code member} wrote on its connections so far, whether the network then
     * delivered, dropped or duplicated them; handshake frames are not counted (the handshake runs beside the network).
     */
    public long framesWritten(Member member, FrameType type) {
        long[] counts = written.get(member.id());
        return counts == null ? 0 : counts[type.ordinal()];
    }

    /** Of {@link #framesWritten}, those marked {@link Frame#awaited()} (a real transport may write them at once). */
    public long awaitedFramesWritten(Member member, FrameType type) {
        long[] counts = writtenAwaited.get(member.id());
        return counts == null ? 0 : counts[type.ordinal()];
    }

    /** How many handshakes {@code member} refused with {@code reason} (e.g. {@code bad_proof}). */
    public int refused(Member member, String reason) {
        return (int) refusals.getOrDefault(member.id(), List.of()).stream().filter(reason::equals).count();
    }

    /** Every handshake refusal on this network so far, in order, as {@code "member-name: reason"}. */
    public List<String> refusals() {
        return List.copyOf(refusalLog);
    }

    /**
     * Runs the handshake of {@code connecting} (a connecting or probing machine of {@code from}) against the accepting
     * side of {@code to}, and records each side's refusal.
     */
    private InMemoryHandshake.Result handshake(SimTransport from, Handshaker connecting, SimTransport to) {
        InMemoryHandshake.Result r = InMemoryHandshake.run(connecting,
                Handshaker.accepting(to.handshakeLocal(), "in-memory:" + from.port));
        record(from, r.connecting());
        record(to, r.accepting());
        return r;
    }

    private void record(SimTransport t, Handshaker.Step step) {
        if (step.outcome() == Handshaker.Outcome.REFUSED) {
            refusals.computeIfAbsent(t.local.id(), k -> new ArrayList<>()).add(step.reason());
            refusalLog.add(t.local.name() + ": " + step.reason());
        }
    }

    /** A factory of transports on this network. */
    public TransportFactory transports() {
        return SimTransport::new;
    }

    private boolean cut(Member a, Member b) {
        return cuts.contains(Set.of(a.id(), b.id()));
    }

    private long delay() {
        return maxDelayNanos <= minDelayNanos ? minDelayNanos
                : minDelayNanos + (long) (random.nextDouble() * (maxDelayNanos - minDelayNanos));
    }

    /** One side of a simulated connection. */
    private final class End implements PeerConnection {
        final SimTransport owner;
        final Member remote;
        End peer;
        boolean open = true;
        boolean paused;
        final List<Frame> held = new ArrayList<>();

        End(SimTransport owner, Member remote) {
            this.owner = owner;
            this.remote = remote;
        }

        @Override
        public Member remote() {
            return remote;
        }

        @Override
        public void send(Frame frame) {
            if (!open) {
                return;
            }
            written.computeIfAbsent(owner.local.id(), k -> new long[FrameType.values().length])
                    [frame.type().ordinal()]++;
            if (frame.awaited()) {
                writtenAwaited.computeIfAbsent(owner.local.id(), k -> new long[FrameType.values().length])
                        [frame.type().ordinal()]++;
            }
            if (cut(owner.local, remote) || random.nextDouble() < dropRate) {
                dropped++;
                return;
            }
            int copies = random.nextDouble() < duplicateRate ? 2 : 1;
            duplicated += copies - 1;
            for (int i = 0; i < copies; i++) {
                long extra = linkDelays.isEmpty() ? 0
                        : linkDelays.getOrDefault(List.of(owner.local.id(), remote.id()), 0L);
                clock.schedule(() -> peer.receive(frame), delay() + extra);
            }
        }

        void receive(Frame frame) {
            if (!open || !owner.started) {
                return;
            }
            if (paused) {
                held.add(frame);
                return;
            }
            delivered++;
            // Pings are the transport's business, as in a real transport: answered here, never seen by the engine.
            if (frame.type() == FrameType.PING) {
                send(Frame.control(FrameType.PONG, frame.messageId()));
                return;
            }
            if (frame.type() == FrameType.PONG) {
                return;
            }
            owner.ctx.inbound().onFrame(this, frame);
            owner.ctx.inbound().onReadComplete(this);
        }

        @Override
        public void pauseReading() {
            paused = true;
        }

        @Override
        public void resumeReading() {
            paused = false;
            List<Frame> copy = new ArrayList<>(held);
            held.clear();
            for (Frame f : copy) {
                clock.schedule(() -> receive(f), 0);
            }
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        void close(Disconnect reason) {
            if (open) {
                open = false;
                owner.ends.values().removeIf(e -> e == this);
                owner.ctx.inbound().onDisconnected(this, reason);
            }
        }
    }

    private final class SimTransport implements Transport {
        final int port = nextPort++;
        TransportContext ctx;
        Member local;
        boolean started;
        /** Connections this transport opened, by target member. */
        final Map<MemberId, End> ends = new HashMap<>();
        final List<End> accepted = new ArrayList<>();
        final Set<MemberId> failing = new HashSet<>();

        @Override
        public InetSocketAddress bind() {
            byPort.put(port, this);
            return new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
        }

        @Override
        public void start(TransportContext context) {
            ctx = context;
            local = context.localMember();
            started = true;
        }

        @Override
        public void send(Member member, Frame frame) {
            if (!started) {
                return;
            }
            End end = ends.get(member.id());
            if (end == null || !end.open) {
                SimTransport target = byPort.get(member.port());
                if (target == null || !target.started || cut(local, member)) {
                    failSend(member, new ConnectException("simulated: cannot connect to "
                            + member.describe()));
                    return;
                }
                InMemoryHandshake.Result r = handshake(this, Handshaker.connecting(handshakeLocal(), member), target);
                if (!r.established()) {
                    failSend(member, new FlotillaException("connection to " + member.describe() + " failed: "
                            + r.failure()));
                    return;
                }
                end = new End(this, member);
                End other = new End(target, r.accepted());
                end.peer = other;
                other.peer = end;
                ends.put(member.id(), end);
                target.accepted.add(other);
                ctx.inbound().onConnected(end);
                target.ctx.inbound().onConnected(other);
            }
            end.send(frame);
        }

        /** One failure report per connection attempt, as a real transport gives. */
        private void failSend(Member member, Throwable cause) {
            if (failing.add(member.id())) {
                clock.schedule(() -> {
                    failing.remove(member.id());
                    ctx.inbound().onSendFailed(member, cause);
                }, 0);
            }
        }

        Handshaker.Local handshakeLocal() {
            return new Handshaker.Local(ctx.clusterName(), local, ctx.secret().orElse(null), nonces);
        }

        void breakConnectionsTo(MemberId remote, Disconnect reason) {
            List<End> all = new ArrayList<>(ends.values());
            all.addAll(accepted);
            for (End e : all) {
                if (remote == null || e.remote.id().equals(remote)) {
                    e.close(reason);
                    e.peer.close(reason);
                }
            }
            accepted.removeIf(e -> !e.open);
        }

        @Override
        public CompletionStage<Member> probe(InetSocketAddress address, Duration timeout) {
            SimTransport target = byPort.get(address.getPort());
            if (target == null || !target.started || cut(local, target.local)) {
                CompletableFuture<Member> f = new CompletableFuture<>();
                clock.schedule(() -> f.completeExceptionally(new SocketTimeoutException(
                        "simulated: no answer from " + address)), timeout.toNanos());
                return f;
            }
            Handshaker probing = Handshaker.probing(handshakeLocal(), address.toString(), nonces.nextLong());
            InMemoryHandshake.Result r = handshake(this, probing, target);
            if (!r.established()) {
                return CompletableFuture.failedFuture(new FlotillaException("probe of " + address + " failed: "
                        + r.failure()));
            }
            target.ctx.inbound().onProbed(local); // as a transport tells the probed node
            return CompletableFuture.completedFuture(r.reached());
        }

        @Override
        public void disconnect(Member member) {
            End e = ends.remove(member.id());
            if (e != null) {
                e.open = false;
                e.peer.close(Disconnect.CLOSED);
            }
        }

        @Override
        public void close() {
            if (!started) {
                return;
            }
            breakConnectionsTo(null, Disconnect.LEAVING);
            started = false;
            byPort.remove(port);
        }
    }

    /** For failure messages: the seed and what the network did. */
    @Override
    public String toString() {
        return "InMemoryNetwork[seed=" + seed + ", delivered=" + delivered + ", dropped=" + dropped
                + ", duplicated=" + duplicated + "]";
    }
}
