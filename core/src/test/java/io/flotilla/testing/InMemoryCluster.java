package io.flotilla.testing;

import io.flotilla.Member;
import io.flotilla.NodeConfig;
import io.flotilla.internal.DefaultNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

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

    public InMemoryCluster(int size, long seed, NodeConfig config) {
        network = new InMemoryNetwork(clock, seed);
        for (int i = 0; i < size; i++) {
            FixedMembership m = new FixedMembership();
            DefaultNode n = new DefaultNode(config.toBuilder().memberName("n" + i).build(), clock, clock,
                    network.transports().create(), m, Runnable::run);
            n.start();
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
