package io.flotilla.membership;

import io.flotilla.internal.RateLimitedLog;
import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.View;
import io.flotilla.spi.MembershipContext;
import io.flotilla.spi.MembershipFactory;
import io.flotilla.spi.MembershipService;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Membership from a fixed list of addresses, like Tomcat's static "TCP/IP" setup, for networks where multicast is
 * absent or blocked. Liveness comes from the transport: every {@code frequency} each address is probed (connect,
 * handshake, ping, {@link MembershipContext#probe}); an address that answers adds the member it names, and a member
 * whose probes fail for {@code dropTime} and {@code probeAttempts} times in a row (or {@code probeAttempts} times in
 * a row at once, after the transport reported it through {@link #suspect}) is removed as failed. A goodbye on the
 * connection ({@link #left}) removes it as a graceful leave. Probe failures while this process itself was paused
 * are not counted.
 *
 * <pre>{@code
 * MembershipFactory membership = StaticMembership.factory(StaticMembershipConfig.builder()
 *         .member("10.0.0.1:4000", "10.0.0.2:4000", "10.0.0.3:4000").build());
 * }</pre>
 *
 * <p>Threading: every method is safe from any thread and returns without waiting for other members;
 * {@link #close} waits a bounded time for the loop thread. One loop thread ({@code membership}) owns the member
 * table and publishes events; timers run on the node's scheduler and only post to the loop.
 */
public final class StaticMembership implements MembershipService {
    private static final System.Logger LOG = System.getLogger(StaticMembership.class.getName());
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(2);

    private final StaticMembershipConfig config;
    /** {@code static}, or the kind of {@link Discovery} that drives the addresses: the meters' kind tag. */
    private final String kind;
    private final Object lifecycle = new Object();
    private boolean started;
    private boolean closed;
    private volatile StaticEngine engine;
    private CommandLoop loop;

    private StaticMembership(StaticMembershipConfig config) {
        this(config, "static");
    }

    StaticMembership(StaticMembershipConfig config, String kind) {
        this.config = Objects.requireNonNull(config, "config");
        this.kind = kind;
    }

    /** A factory of services with {@code config}; each node gets its own. */
    public static MembershipFactory factory(StaticMembershipConfig config) {
        Objects.requireNonNull(config, "config");
        return () -> new StaticMembership(config);
    }

    StaticMembershipConfig config() {
        return config;
    }

    /** Starts the loop and probes every address at once. @throws IllegalStateException if called twice */
    @Override
    public void start(MembershipContext context) {
        synchronized (lifecycle) {
            if (started || closed) {
                throw new IllegalStateException("StaticMembership is started or closed already; create one per node");
            }
            started = true;
            MembershipMeters meters = new MembershipMeters(context.meters(), context.clusterName(), kind);
            loop = new CommandLoop(context.threadFactory("membership"), MulticastMembership.QUEUE_CAPACITY, meters,
                    new RateLimitedLog(LOG, context.clock(), TimeUnit.SECONDS.toNanos(10)));
            StaticEngine e = new StaticEngine(context, config, loop, meters);
            loop.start();
            engine = e;
            e.start();
            if (!kind.equals("static")) {
                return; // the owner logs its own start line
            }
            LOG.log(System.Logger.Level.INFO, () -> "Static membership started: " + config.members().size()
                    + " configured addresses, frequency " + config.frequency().toMillis() + " ms, dropTime "
                    + config.dropTime().toMillis() + " ms, local " + context.localMember().describe());
        }
    }

    /** The current view; null before {@link #start}. For tests and diagnostics. */
    View view() {
        StaticEngine e = engine;
        return e == null ? null : e.view();
    }

    /** Replaces the addresses to probe (see {@link StaticEngine#addresses}); ignored before {@link #start}. */
    void addresses(List<StaticAddress> listed, String reason) {
        StaticEngine e = engine;
        if (e != null) {
            e.addresses(listed, reason);
        }
    }

    @Override
    public void suspect(MemberId member, String reason) {
        StaticEngine e = engine;
        if (e != null) {
            e.suspect(Objects.requireNonNull(member, "member"), Objects.requireNonNull(reason, "reason"));
        }
    }

    @Override
    public void left(MemberId member) {
        StaticEngine e = engine;
        if (e != null) {
            e.left(Objects.requireNonNull(member, "member"));
        }
    }

    /** A listed address that probed this node is probed now rather than at the next round. */
    @Override
    public void probedBy(Member member) {
        StaticEngine e = engine;
        if (e != null) {
            e.probedBy(Objects.requireNonNull(member, "member"));
        }
    }

    /** Stops probing. Static membership has no leave message: the transport's goodbye tells the others. */
    @Override
    public void close() {
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            closed = true;
            if (!started) {
                return;
            }
        }
        engine.close();
        try {
            if (!loop.close(CLOSE_WAIT)) {
                LOG.log(System.Logger.Level.WARNING, "Static membership loop did not stop within "
                        + CLOSE_WAIT.toMillis() + " ms");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            LOG.log(System.Logger.Level.WARNING, "Interrupted while closing static membership");
        }
    }
}
