package io.flotilla.wire;

import io.flotilla.ClusterSecret;
import io.flotilla.Member;
import java.security.SecureRandom;
import java.util.List;
import java.util.Objects;

/**
 * One side of one connection's handshake, as a state machine that knows nothing of sockets: the transport hands it
 * each frame that arrives before the connection is open, writes the frames each {@link Step} returns, and acts on
 * the step's {@link Outcome}. The Netty transport's connections and probes and the in-memory test network all run
 * this one machine, so its rules (cluster name, secret proofs both ways, nothing taken before {@code AUTH}, the
 * probe's ping) are the same everywhere and are tested without sockets. {@link Handshake} holds the message formats
 * and the proofs.
 *
 * <ul>
 *   <li>{@link #connecting}: sends {@code HELLO}, checks the {@code HELLO_ACK} (the member it meant to reach, the
 *       accepting side's proof), answers {@code AUTH} with a secret.</li>
 *   <li>{@link #accepting}: checks {@code HELLO} (cluster name, secret or none), answers {@code HELLO_ACK}, and with
 *       a secret takes nothing but a valid {@code AUTH} next.</li>
 *   <li>{@link #probing}: the connecting side flagged {@link Frame#FLAG_PROBE}, followed by {@code PING}; it is
 *       done when the matching {@code PONG} arrives, and then says {@code GOODBYE}.</li>
 * </ul>
 *
 * <p>A step that {@link Outcome#REFUSED refuses} names a low-cardinality reason; the transport counts it, tells the
 * peer with {@link Handshake#refuse} and closes. {@link Outcome#FAILED} is a connecting side that cannot go on
 * without refusing anything (the peer refused, or it is another member than the one meant): close, report.
 *
 * <p>Threading: not thread-safe; one instance per connection, driven by one thread at a time (the connection's
 * event loop).
 */
public final class Handshaker {
    /** What the transport does once it has written {@link Step#send()}. */
    public enum Outcome {
        /** Wait for the next frame. */
        CONTINUE,
        /** The connection is open with {@link #remote()}; for a probe, the peer answered: close after the goodbye. */
        ESTABLISHED,
        /** Refuse with {@link Step#reason()}: count it, send {@code REFUSE}, close. */
        REFUSED,
        /** Close and report {@link Step#message()}; nothing to refuse. */
        FAILED
    }

    /**
     * The frames to write, in order, and what to do next.
     *
     * @param reason the refusal reason tag ({@link Outcome#REFUSED} only)
     * @param message what happened, for the log and the failure ({@link Outcome#REFUSED}, {@link Outcome#FAILED})
     */
    public record Step(Outcome outcome, List<Frame> send, String reason, String message) {
        private static final Step WAIT = new Step(Outcome.CONTINUE, List.of(), null, null);

        static Step of(Outcome outcome, Frame... frames) {
            return new Step(outcome, List.of(frames), null, null);
        }

        static Step refused(String reason, String message) {
            return new Step(Outcome.REFUSED, List.of(), reason, message);
        }

        static Step failed(String message) {
            return new Step(Outcome.FAILED, List.of(), null, message);
        }
    }

    /**
     * The local side of every handshake of one node.
     *
     * @param secret the cluster secret to prove, null when the network is trusted
     * @param random the source of the nonces
     */
    public record Local(String clusterName, Member member, ClusterSecret secret, SecureRandom random) {
        public Local {
            Objects.requireNonNull(clusterName, "clusterName");
            Objects.requireNonNull(member, "member");
            Objects.requireNonNull(random, "random");
        }
    }

    private enum Role { CONNECT, LANE, ACCEPT, PROBE }

    private enum State { NEW, AWAIT_HELLO, AWAIT_ACK, AWAIT_AUTH, AWAIT_PONG, DONE, OVER }

    private final Role role;
    private final Local local;
    /** How the peer is named in messages before its member is known (its address). */
    private final String peer;
    /** The member a connecting side meant to reach; null otherwise. */
    private final Member target;
    private final long pingNonce;
    private State state = State.NEW;
    /** The peer: its claim until the handshake is done. */
    private Member remote;
    private boolean probe;
    /** Accepting: the {@code HELLO} asked for a lane; a lane's connecting side: the {@code HELLO_ACK} agreed to it. */
    private boolean lane;
    /** With a secret, the frames the proofs cover; dropped once done. */
    private Frame sentHello;
    private Frame receivedHello;
    private Frame sentAck;

    private Handshaker(Role role, Local local, String peer, Member target, long pingNonce) {
        this.role = role;
        this.local = Objects.requireNonNull(local, "local");
        this.peer = Objects.requireNonNull(peer, "peer");
        this.target = target;
        this.pingNonce = pingNonce;
    }

    /** The side that dialled {@code target}. */
    public static Handshaker connecting(Local local, Member target) {
        return new Handshaker(Role.CONNECT, local, Objects.requireNonNull(target, "target").describe(), target, 0);
    }

    /**
     * The side that dialled {@code target} for a lane ({@link io.flotilla.spi.PeerLane}); it is established only
     * when the {@code HELLO_ACK} agrees to a lane ({@link #lane()}): a peer that does not know lanes answers a lane's
     * messages wherever it likes, and such a connection must not be used as one.
     */
    public static Handshaker connectingLane(Local local, Member target) {
        return new Handshaker(Role.LANE, local, Objects.requireNonNull(target, "target").describe(), target, 0);
    }

    /** The side that accepted a connection from {@code peerAddress} (used in messages only). */
    public static Handshaker accepting(Local local, String peerAddress) {
        return new Handshaker(Role.ACCEPT, local, peerAddress, null, 0);
    }

    /** A liveness probe of whatever answers at {@code peerAddress}; its {@code PING} carries {@code nonce}. */
    public static Handshaker probing(Local local, String peerAddress, long nonce) {
        return new Handshaker(Role.PROBE, local, peerAddress, null, nonce);
    }

    /**
     * The member at the other end: for a connecting side the one it dialled until the {@code HELLO_ACK} names it,
     * otherwise null until the peer's claim is known; proven only once {@link Outcome#ESTABLISHED}.
     */
    public Member remote() {
        return remote != null ? remote : target;
    }

    /** Accepting side: the {@code HELLO} was a probe's (answer pings only, raise no connection events). */
    public boolean probe() {
        return probe;
    }

    /**
     * Accepting side: the {@code HELLO} asked for a lane (answer each message on the connection it came on; raise no
     * connection events); a lane's connecting side: the peer agreed to it.
     */
    public boolean lane() {
        return lane;
    }

    /** True once {@link Outcome#ESTABLISHED} was returned. */
    public boolean established() {
        return state == State.DONE;
    }

    /** What the machine waits for, for timeout messages. */
    public String awaiting() {
        return switch (state) {
            case NEW -> "the connection";
            case AWAIT_HELLO -> "HELLO";
            case AWAIT_ACK -> "HELLO_ACK";
            case AWAIT_AUTH -> "AUTH";
            case AWAIT_PONG -> "PONG from " + remote.describe();
            case DONE, OVER -> "nothing (done)";
        };
    }

    /** The first step, once the connection is up: the connecting side's {@code HELLO} (and a probe's ping). */
    public Step start() {
        if (state != State.NEW) {
            throw new IllegalStateException("handshake already started");
        }
        if (role == Role.ACCEPT) {
            state = State.AWAIT_HELLO;
            return Step.WAIT;
        }
        state = State.AWAIT_ACK;
        ClusterSecret secret = local.secret();
        sentHello = Handshake.hello(local.clusterName(), local.member(), role == Role.PROBE,
                secret == null ? null : Handshake.newNonce(local.random()));
        if (role == Role.LANE) {
            sentHello = Handshake.withFlags(sentHello, Frame.FLAG_LANE);
        }
        if (role == Role.PROBE && secret == null) {
            // Nothing to prove: the PING goes with the HELLO. With a secret it waits for the peer's proof.
            return Step.of(Outcome.CONTINUE, sentHello, ping());
        }
        return Step.of(Outcome.CONTINUE, sentHello);
    }

    /**
     * The next step after {@code f} arrived.
     *
     * @throws IllegalStateException before {@link #start()}, and once a step established, refused or failed
     */
    public Step receive(Frame f) {
        Step step = switch (state) {
            case AWAIT_HELLO -> onHello(f);
            case AWAIT_AUTH -> onAuth(f);
            case AWAIT_ACK -> onHelloAck(f);
            case AWAIT_PONG -> onPong(f);
            case NEW, DONE, OVER -> throw new IllegalStateException("handshake " + state + ": no frame expected, got "
                    + f.type());
        };
        if (step.outcome() == Outcome.REFUSED || step.outcome() == Outcome.FAILED) {
            state = State.OVER;
        }
        return step;
    }

    private Step onHello(Frame f) {
        if (f.type() != FrameType.HELLO) {
            return Step.refused("no_handshake", "expected HELLO from " + peer + " but got " + f.type());
        }
        Handshake.Hello hello;
        try {
            hello = Handshake.readHello(f);
        } catch (WireException e) {
            return Step.refused(e.reason(), "bad HELLO from " + peer + ": " + e.getMessage());
        }
        if (!hello.clusterName().equals(local.clusterName())) {
            return Step.refused("cluster_mismatch", "cluster name mismatch: " + hello.member().describe()
                    + " belongs to \"" + hello.clusterName() + "\", this node to \"" + local.clusterName() + "\"");
        }
        Step mismatch = secretMismatch(hello.authenticated(), hello.member().describe());
        if (mismatch != null) {
            return mismatch;
        }
        ClusterSecret secret = local.secret();
        probe = (f.flags() & Frame.FLAG_PROBE) != 0;
        lane = !probe && (f.flags() & Frame.FLAG_LANE) != 0;
        int ackFlags = lane ? Frame.FLAG_LANE : 0;
        remote = hello.member();
        if (secret == null) {
            return done(Handshake.withFlags(Handshake.helloAck(local.member()), ackFlags));
        }
        // Challenge and prove; the peer is only known after its AUTH checks out.
        receivedHello = f;
        sentAck = Handshake.withFlags(Handshake.helloAck(local.member(), f, Handshake.newNonce(local.random()),
                secret), ackFlags);
        state = State.AWAIT_AUTH;
        return Step.of(Outcome.CONTINUE, sentAck);
    }

    /** Accepting with a secret: the connecting side's AUTH is the last step; nothing else is taken before it. */
    private Step onAuth(Frame f) {
        if (f.type() != FrameType.AUTH) {
            return Step.refused("no_auth", "expected AUTH from " + peer + " but got " + f.type());
        }
        if (!Handshake.verifyClientProof(receivedHello, sentAck, f, local.secret())) {
            return Step.refused("bad_proof", peer + " (claiming to be " + remote.describe() + ") does not prove "
                    + "the cluster secret: wrong secret, or not a member");
        }
        return done();
    }

    private Step onHelloAck(Frame f) {
        switch (f.type()) {
            case HELLO_ACK -> {
                // Handled below.
            }
            case REFUSE -> {
                return Step.failed(peer + " refused the connection: " + Handshake.readRefuse(f));
            }
            case PONG -> {
                if (role == Role.PROBE) {
                    return Step.failed("unexpected PONG " + f.messageId() + " before the HELLO_ACK");
                }
                return Step.refused("no_handshake", "expected HELLO_ACK from " + peer + " but got " + f.type());
            }
            default -> {
                if (role == Role.PROBE) {
                    return Step.WAIT; // a probe ignores anything else (e.g. a PING from the peer)
                }
                return Step.refused("no_handshake", "expected HELLO_ACK from " + peer + " but got " + f.type());
            }
        }
        Handshake.HelloAck ack;
        try {
            ack = Handshake.readHelloAck(f);
        } catch (WireException e) {
            return Step.refused(e.reason(), "bad HELLO_ACK from " + peer + ": " + e.getMessage());
        }
        Step bad = checkServerProof(ack, f);
        if (bad != null) {
            return bad;
        }
        Member m = ack.member();
        if (target != null && !m.id().equals(target.id())) {
            return Step.failed("the node at " + target.host() + ":" + target.port() + " is " + m.describe()
                    + ", not " + target.describe() + " (restarted or replaced)");
        }
        if (role == Role.LANE && (f.flags() & Frame.FLAG_LANE) == 0) {
            return Step.failed(m.describe() + " does not answer on lanes (an older version): its messages go over "
                    + "the pooled connections");
        }
        lane = role == Role.LANE;
        remote = m;
        Frame auth = local.secret() == null ? null : Handshake.auth(sentHello, f, local.secret());
        sentHello = null;
        if (role == Role.PROBE) {
            state = State.AWAIT_PONG;
            return auth == null ? Step.WAIT : Step.of(Outcome.CONTINUE, auth, ping());
        }
        return auth == null ? done() : done(auth);
    }

    /** Connecting: the accepting side's proof of the secret (or that neither side has one); null when fine. */
    private Step checkServerProof(Handshake.HelloAck ack, Frame f) {
        String who = ack.member().describe();
        Step mismatch = secretMismatch(ack.authenticated(), who);
        if (mismatch != null || local.secret() == null) {
            return mismatch;
        }
        if (!Handshake.verifyServerProof(sentHello, f, local.secret())) {
            return Step.refused("bad_proof", "the node at " + peer + " (" + who + ") does not prove the cluster "
                    + "secret: one of the two has a different secret");
        }
        return null;
    }

    /** A secret on one side only ({@code theirs}: the peer has one): refused, never downgraded; else null. */
    private Step secretMismatch(boolean theirs, String who) {
        if (local.secret() == null && theirs) {
            return Step.refused("secret_mismatch", who + " proves a cluster secret but this node has none: "
                    + "configure the same secret on every member");
        }
        if (local.secret() != null && !theirs) {
            return Step.refused("auth_required", who + " has no cluster secret and this node requires one: "
                    + "configure the same secret on every member");
        }
        return null;
    }

    private Step onPong(Frame f) {
        return switch (f.type()) {
            case PONG -> f.messageId() == pingNonce ? done(Handshake.goodbye(false))
                    : Step.failed("unexpected PONG " + f.messageId() + " from " + remote.describe());
            case REFUSE -> Step.failed(peer + " refused the connection: " + Handshake.readRefuse(f));
            default -> Step.WAIT; // a probe only waits for its PONG
        };
    }

    private Step done(Frame... send) {
        state = State.DONE;
        receivedHello = null;
        sentAck = null;
        return Step.of(Outcome.ESTABLISHED, send);
    }

    private Frame ping() {
        return Frame.control(FrameType.PING, pingNonce);
    }
}
