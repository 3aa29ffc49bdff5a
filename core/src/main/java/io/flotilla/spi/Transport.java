package io.flotilla.spi;

import io.flotilla.Member;
import io.flotilla.wire.Frame;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletionStage;

/**
 * Moves frames between members over connections: the seed's {@code NioReceiver} and {@code PooledParallelSender}.
 * The protocol engine in core (ordering, acknowledgement, duplicates, retries) sits above it, so a transport only
 * frames, handshakes, pools connections and reports what breaks.
 *
 * <p>Lifecycle: {@link #bind()}, then {@link #start(TransportContext)}, then {@link #close()}.
 *
 * <p>Threading: every method is safe from any thread; none blocks except {@link #close()}, which waits a bounded
 * time.
 */
public interface Transport extends AutoCloseable {
    /**
     * Binds the receiver without accepting connections yet, so the node can build its local member.
     *
     * @return the bound address (with {@code autoBind}, the port actually taken)
     * @throws io.flotilla.FlotillaException when no port in the configured range could be bound
     */
    InetSocketAddress bind();

    /** Starts accepting connections and allows sends. */
    void start(TransportContext context);

    /**
     * Queues a frame for {@code member}, opening a connection on demand. Never blocks. Frames queued from one
     * thread for one member are written in the order queued on one connection unless it fails; the engine copes
     * with reordering across the pool's connections. Failure is reported through
     * {@link InboundHandler#onSendFailed}.
     */
    void send(Member member, Frame frame);

    /**
     * A {@link PeerLane} to {@code member} for one synchronous message of the calling thread, which will wait for the
     * answer: an idle one, or one it opens now (blocking at most the connect and handshake timeouts, and only while
     * the member is connected otherwise). Null when the transport has no lanes (none configured, TLS, a peer that
     * does not know them, the member's lanes all in use, or the last attempt failed moments ago): the message then
     * goes through {@link #send}. The default has none.
     */
    default PeerLane lane(Member member) {
        return null;
    }

    /**
     * Verifies that a receiver is alive: connect, handshake marked as a probe, ping, pong, within {@code timeout}.
     * The probed node answers the ping only: a probe connection raises no connection events and carries no data.
     *
     * @return the member that answered (its handshake's description); fails if nothing answered in time, the
     *     answer was not a Flotilla node of this cluster, or the connection was refused; a refused connection (and
     *     only that) fails with a {@link ProbeRefusedException}, which a membership takes as conclusive
     */
    CompletionStage<Member> probe(InetSocketAddress address, Duration timeout);

    /**
     * True when the transport authenticates its peers by itself (mutual TLS), with or without a cluster secret.
     * The node uses it to tell at start whether it trusts its network.
     */
    default boolean authenticatesPeers() {
        return false;
    }

    /**
     * Closes this node's connections to {@code member} with a goodbye that does not mean leaving (the member was
     * removed from the view; the member sees {@link Disconnect#CLOSED}).
     */
    void disconnect(Member member);

    /**
     * Sends a leaving goodbye on every connection (peers see {@link Disconnect#LEAVING}), closes them and the
     * receiver. Idempotent; waits a bounded time.
     */
    @Override
    void close();
}
