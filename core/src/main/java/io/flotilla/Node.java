package io.flotilla;

import io.flotilla.internal.DefaultNode;
import io.flotilla.spi.Clock;
import io.flotilla.spi.MembershipFactory;
import io.flotilla.spi.Scheduler;
import io.flotilla.spi.TransportFactory;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletionStage;

/**
 * A started cluster member: its view of the cluster, reliable ordered messaging to other members, and listeners.
 *
 * <pre>{@code
 * try (Node node = Node.builder()
 *         .config(NodeConfig.builder().clusterName("shop").build())
 *         .transport(NettyTransport.factory(NettyTransportConfig.builder().address("127.0.0.1").build()))
 *         .membership(StaticMembership.factory("127.0.0.1:4000", "127.0.0.1:4001"))
 *         .onMessage(0, m -> System.out.println(m.from().name() + ": " + m.payloadBytes().length))
 *         .start()) {
 *     node.broadcast(0, ByteBuffer.wrap("hello".getBytes()), Delivery.RECEIVED)
 *         .toCompletableFuture().get();
 * }
 * }</pre>
 *
 * <p>Delivery: every message from one sender reaches each target once and in the order sent, in every
 * {@link Delivery} mode. A send's stage fails with a {@link DeliveryException} subclass naming the member when
 * the guarantee was not met for it.
 *
 * <p>Threading: every method is safe from any thread. Sends never block on the network; they wait for queue
 * room (back-pressure) at most the configured {@code timeout}. Listener threading is described on
 * {@link MessageListener} and {@link MembershipListener}.
 */
public interface Node extends AutoCloseable {
    /** This node's member. */
    Member localMember();

    /** The current view; includes the local member. */
    View view();

    /**
     * Sends {@code payload} to one member.
     *
     * @param topic 0-255; listeners subscribe per topic
     * @param payload read from position to limit; not modified, not retained after the stage completes, and must
     *     not be changed until then
     * @return completes per {@code delivery}; fails with a {@link DeliveryException} for the member, or
     *     {@link NodeClosedException}
     */
    CompletionStage<Void> send(Member to, int topic, ByteBuffer payload, Delivery delivery);

    /**
     * Sends {@code payload} to several members in parallel.
     *
     * @return completes when the guarantee was met for every member; otherwise fails with the first member's
     *     {@link DeliveryException}, with the others' attached as suppressed exceptions
     */
    CompletionStage<Void> send(Collection<Member> to, int topic, ByteBuffer payload, Delivery delivery);

    /**
     * As {@link #send(Collection, int, ByteBuffer, Delivery)}, for a caller that will not block on the returned stage
     * (it only attaches dependents, or ignores it). A {@code RECEIVED} or {@code PROCESSED} send is otherwise written
     * by the calling thread itself when its connection is idle, which shortens the wait of a caller blocked on the
     * answer but costs the caller a write per message; this one always goes through the transport's I/O thread,
     * which writes many queued messages at once. Delivery, order and failures are exactly those of {@code send}.
     */
    default CompletionStage<Void> sendQueued(Collection<Member> to, int topic, ByteBuffer payload, Delivery delivery) {
        return send(to, topic, payload, delivery);
    }

    /** Sends to every member of the current view but this one. */
    default CompletionStage<Void> broadcast(int topic, ByteBuffer payload, Delivery delivery) {
        return send(view().othersThan(localMember().id()), topic, payload, delivery);
    }

    /**
     * Asks the membership to verify {@code member} now, as a broken connection would: it is probed over TCP and
     * removed from the view (a {@link MembershipEvent.Left}, not graceful) if it does not answer; if it answers it
     * stays. For callers with evidence that a member is gone, such as a request for a session it owns arriving
     * elsewhere. Returns at once; the outcome shows in the view and in membership events.
     */
    void suspect(Member member, String reason);

    /** Subscribes to one topic. Several listeners may share a topic; each gets every message. */
    Registration addMessageListener(int topic, MessageListener listener);

    /** Subscribes to membership events; the listener first gets nothing for the past, only what follows. */
    Registration addMembershipListener(MembershipListener listener);

    /**
     * Leaves the cluster: tells the others (a graceful leave), waits up to {@code timeout} for queued messages
     * to be acknowledged, then stops in reverse order of start. Idempotent. Sends still pending fail with
     * {@link NodeClosedException}.
     */
    @Override
    void close();

    /** A builder for a node. */
    static Builder builder() {
        return new Builder();
    }

    /**
     * Assembles and starts a node.
     *
     * <p>Threading: not thread-safe; use from one thread.
     */
    final class Builder {
        private NodeConfig config = NodeConfig.builder().build();
        private TransportFactory transport;
        private MembershipFactory membership;
        private Clock clock = Clock.system();
        private Scheduler scheduler;
        private final List<Object[]> messageListeners = new ArrayList<>();
        private final List<MembershipListener> membershipListeners = new ArrayList<>();

        private Builder() {
        }

        /** Default: {@code NodeConfig.builder().build()}. */
        public Builder config(NodeConfig v) {
            config = Objects.requireNonNull(v, "config");
            return this;
        }

        /** Required: how frames travel (for example {@code NettyTransport.factory(...)}). */
        public Builder transport(TransportFactory v) {
            transport = Objects.requireNonNull(v, "transport");
            return this;
        }

        /** Required: how members are found (multicast, a static list, ...). */
        public Builder membership(MembershipFactory v) {
            membership = Objects.requireNonNull(v, "membership");
            return this;
        }

        /** Default: the system clock. Tests pass a manual one. */
        public Builder clock(Clock v) {
            clock = Objects.requireNonNull(v, "clock");
            return this;
        }

        /** Default: one daemon timer thread on the clock. Tests pass a manual one. */
        public Builder scheduler(Scheduler v) {
            scheduler = Objects.requireNonNull(v, "scheduler");
            return this;
        }

        /** A listener registered before the node starts, so it misses no message. */
        public Builder onMessage(int topic, MessageListener listener) {
            messageListeners.add(new Object[] {topic, Objects.requireNonNull(listener, "listener")});
            return this;
        }

        /** A membership listener registered before the node starts, so it sees the first view. */
        public Builder onMembership(MembershipListener listener) {
            membershipListeners.add(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        /**
         * Binds the transport, announces the member and returns without waiting for other members.
         *
         * @throws ConfigurationException when the transport or membership is missing or refused
         * @throws FlotillaException when the node cannot start, for example when no port could be bound; what it
         *     had opened is closed again
         */
        public Node start() {
            if (transport == null) {
                throw ConfigurationException.invalid("transport", null, "set a transport factory");
            }
            if (membership == null) {
                throw ConfigurationException.invalid("membership", null, "set a membership factory");
            }
            DefaultNode node = new DefaultNode(config, clock, scheduler, transport.create(), membership.create());
            for (Object[] l : messageListeners) {
                node.addMessageListener((Integer) l[0], (MessageListener) l[1]);
            }
            membershipListeners.forEach(node::addMembershipListener);
            try {
                node.start();
            } catch (RuntimeException | Error e) {
                // No one else holds the node: its port, threads and membership are released here.
                try {
                    node.close();
                } catch (RuntimeException c) {
                    e.addSuppressed(c);
                }
                throw e;
            }
            return node;
        }
    }
}
