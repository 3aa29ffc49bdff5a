package io.flotilla.testing;

import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.NodeConfig;
import io.flotilla.internal.DefaultNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executor;
import java.util.function.BooleanSupplier;
import java.util.function.IntFunction;

/**
 * N nodes on one {@link InMemoryNetwork} with one {@link ManualClock}, all running the real delivery engine on the
 * test's thread (direct delivery executor), every node in every other's view. Deterministic for a given seed.
 *
 * <p>Threading: drive from the test thread only.
 */
public final class InMemoryCluster implements AutoCloseable {
    private final ManualClock clock = new ManualClock();
    private final InMemoryNetwork network;
    private final List<DefaultNode> nodes = new ArrayList<>();
    private final List<FixedMembership> memberships = new ArrayList<>();
    private final NodeConfig config;
    /** Member ids from the seed: ties in age order (members started at one instant) and id-keyed maps replay. */
    private final Random ids;
    private final IntFunction<Executor> delivery;

    public InMemoryCluster(int size, long seed, NodeConfig config) {
        this(size, seed, config, i -> Runnable::run);
    }

    /** @param delivery node {@code i}'s delivery executor (the others' constructor: direct) */
    public InMemoryCluster(int size, long seed, NodeConfig config, IntFunction<Executor> delivery) {
        network = new InMemoryNetwork(clock, seed);
        this.config = config;
        this.delivery = delivery;
        this.ids = new Random(seed);
        for (int i = 0; i < size; i++) {
            FixedMembership m = new FixedMembership();
            DefaultNode n = newNode(i, m);
            nodes.add(n);
            memberships.add(m);
        }
        for (int i = 0; i < size; i++) {
            for (int j = 0; j < size; j++) {
                if (i != j) {
                    memberships.get(i).join(nodes.get(j).localMember());
                }
            }
        }
    }

    private DefaultNode newNode(int i, FixedMembership m) {
        DefaultNode n = new DefaultNode(config.toBuilder().memberName("n" + i).build(), clock, clock,
                network.transports().create(), m, delivery.apply(i), MemberId.random(ids));
        n.start();
        return n;
    }

    /**
     * Member {@code i} crashes and starts again as a new incarnation (a new member id, an empty node): the others
     * remove the old one (not gracefully) and every view then holds the new one.
     *
     * @return the new node
     */
    public DefaultNode restart(int i) {
        DefaultNode old = nodes.get(i);
        for (int j = 0; j < nodes.size(); j++) {
            if (j != i) {
                network.partition(old.localMember(), nodes.get(j).localMember());
            }
        }
        old.close(Duration.ZERO);
        for (int j = 0; j < nodes.size(); j++) {
            if (j != i) {
                memberships.get(j).remove(old.localMember(), false);
            }
        }
        FixedMembership m = new FixedMembership();
        DefaultNode n = newNode(i, m);
        nodes.set(i, n);
        memberships.set(i, m);
        for (int j = 0; j < nodes.size(); j++) {
            if (j != i) {
                m.join(nodes.get(j).localMember());
                memberships.get(j).join(n.localMember());
            }
        }
        return n;
    }

    public int size() {
        return nodes.size();
    }

    public DefaultNode node(int i) {
        return nodes.get(i);
    }

    public Member member(int i) {
        return nodes.get(i).localMember();
    }

    public FixedMembership membership(int i) {
        return memberships.get(i);
    }

    public ManualClock clock() {
        return clock;
    }

    public InMemoryNetwork network() {
        return network;
    }

    /**
     * Advances the clock in {@code step}s until {@code done} holds, at most {@code maxSteps} times.
     *
     * @return true when the condition held
     */
    public boolean runUntil(BooleanSupplier done, Duration step, int maxSteps) {
        for (int i = 0; i < maxSteps; i++) {
            if (done.getAsBoolean()) {
                return true;
            }
            clock.advance(step);
        }
        return done.getAsBoolean();
    }

    /** Closes every node without waiting in real time for acknowledgements (the clock does not move by itself). */
    @Override
    public void close() {
        for (DefaultNode n : nodes) {
            n.close(Duration.ZERO);
        }
    }
}
