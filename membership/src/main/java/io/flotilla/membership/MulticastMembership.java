package io.flotilla.membership;

import io.flotilla.internal.RateLimitedLog;
import io.flotilla.FlotillaException;
import io.flotilla.MemberId;
import io.flotilla.View;
import io.flotilla.spi.MembershipContext;
import io.flotilla.spi.MembershipFactory;
import io.flotilla.spi.MembershipService;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Membership by multicast heartbeats, like Tomcat's {@code McastService}, with TCP verification of every newcomer
 * and every suspect, like its {@code TcpFailureDetector}.
 *
 * <p>Every {@code frequency} the node multicasts a heartbeat (Flotilla's own versioned datagram: cluster name,
 * sequence number, the member). {@link #start} sends the first heartbeat at once and does not wait for anyone; a
 * node that hears a member it does not know answers at once with a heartbeat of its own, so a joiner learns every
 * member within one round trip and they learn it as soon as its first heartbeat arrives. A newcomer joins the view
 * once a TCP probe ({@link MembershipContext#probe}) reaches its receiver. A member silent for {@code dropTime} (or
 * per the phi accrual detector), or reported by the transport through {@link #suspect}, is probed: if it answers it
 * stays; after {@code probeAttempts} failed probes in a row (one, if its heartbeats were silent for {@code dropTime}
 * too) it is removed as failed. Silence and probe failures while this process itself was paused (SIGSTOP, a long GC
 * pause) are not held against anyone. {@link #close} multicasts a leave, which others see as a graceful
 * leave at once. Members of another cluster or domain, and malformed datagrams, are ignored and counted.
 *
 * <pre>{@code
 * MembershipFactory membership = MulticastMembership.factory(MulticastMembershipConfig.builder()
 *         .bind("eth0").build());
 * }</pre>
 *
 * <p>Threading: every method is safe from any thread and returns without waiting for other members;
 * {@link #close} waits a bounded time for its threads. One loop thread ({@code membership}) owns the member table
 * and publishes events; one thread ({@code membership-receiver}) reads the socket and, when the loop is idle, runs a
 * datagram's command itself (one command at a time either way, in the order posted); timers run on the node's
 * scheduler and only post to the loop.
 */
public final class MulticastMembership implements MembershipService {
    private static final System.Logger LOG = System.getLogger(MulticastMembership.class.getName());
    /** Commands the loop holds at most; datagrams are shed once it is half full. */
    static final int QUEUE_CAPACITY = 4096;
    /** How long close() waits for each of its threads. */
    static final Duration CLOSE_WAIT = Duration.ofSeconds(2);
    /** Consecutive socket errors after which the receiver gives up (the socket is broken, not a datagram). */
    static final int MAX_CONSECUTIVE_RECEIVE_ERRORS = 1000;

    private final MulticastMembershipConfig config;
    private final Object lifecycle = new Object();
    private boolean started;
    private boolean closed;
    private volatile HeartbeatEngine engine;
    private CommandLoop loop;
    private MulticastChannel channel;
    private Thread receiver;
    private MembershipMeters meters;
    private RateLimitedLog receiveLog;

    private MulticastMembership(MulticastMembershipConfig config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    /** A factory of services with {@code config}; each node gets its own. */
    public static MembershipFactory factory(MulticastMembershipConfig config) {
        Objects.requireNonNull(config, "config");
        return () -> new MulticastMembership(config);
    }

    /** The configuration this service runs with. */
    MulticastMembershipConfig config() {
        return config;
    }

    /**
     * Opens the socket, starts the loop and the receiver, and sends the first heartbeat.
     *
     * @throws FlotillaException if the socket cannot be opened or joined (the message names port and interface)
     * @throws IllegalStateException if called twice
     */
    @Override
    public void start(MembershipContext context) {
        synchronized (lifecycle) {
            if (started) {
                throw new IllegalStateException("MulticastMembership is started already; create one per node");
            }
            started = true;
            if (closed) {
                throw new IllegalStateException("MulticastMembership is closed");
            }
            meters = new MembershipMeters(context.meters(), context.clusterName(), "multicast");
            receiveLog = new RateLimitedLog(LOG, context.clock(), TimeUnit.SECONDS.toNanos(10));
            try {
                channel = MulticastChannel.open(config, context.localMember());
            } catch (IOException e) {
                throw new FlotillaException("Could not open the multicast socket on " + config.address()
                        .getHostAddress() + ":" + config.port() + " (bind='" + config.bind() + "'): " + e
                        + ". Check that the interface supports multicast, or use static membership", e);
            }
            try {
                loop = new CommandLoop(context.threadFactory("membership"), QUEUE_CAPACITY, meters,
                        new RateLimitedLog(LOG, context.clock(), TimeUnit.SECONDS.toNanos(10)));
                HeartbeatEngine e = new HeartbeatEngine(context, config, loop, channel, meters);
                receiver = context.threadFactory("membership-receiver").newThread(() -> receive(e, context));
                loop.start();
                receiver.start();
                engine = e;
                e.start();
            } catch (RuntimeException e) {
                stop(false);
                throw e;
            }
            LOG.log(System.Logger.Level.INFO, () -> "Multicast membership started: group " + config.address()
                    .getHostAddress() + ":" + config.port() + " on " + channel.networkInterface().getName()
                    + ", ttl " + config.ttl() + ", frequency " + config.frequency().toMillis() + " ms, "
                    + detectionText() + ", local " + context.localMember().describe());
        }
    }

    private String detectionText() {
        return config.failureDetection() instanceof FailureDetection.PhiAccrual phi
                ? "phi accrual threshold " + phi.threshold() : "dropTime " + config.dropTime().toMillis() + " ms";
    }

    private void receive(HeartbeatEngine e, MembershipContext context) {
        ByteBuffer buffer = ByteBuffer.allocate(config.maxDatagramBytes() + 1); // +1: larger ones show as too large
        int errors = 0;
        while (true) {
            try {
                if (!channel.receive(buffer)) {
                    return;
                }
                errors = 0;
                Runnable command = e.accept(buffer, context.clock().nanoTime());
                if (command != null && !loop.runHereOrPost(command)) {
                    meters.ignored("overloaded");
                }
            } catch (IOException ex) {
                if (!channel.isOpen()) {
                    return;
                }
                if (++errors >= MAX_CONSECUTIVE_RECEIVE_ERRORS) {
                    LOG.log(System.Logger.Level.ERROR, "Multicast receiver stops after " + errors
                            + " consecutive socket errors; this node no longer hears heartbeats", ex);
                    return;
                }
                receiveLog.log(System.Logger.Level.WARNING, () -> "Multicast receive failed: " + ex);
            }
        }
    }

    /** The current view; null before {@link #start}. For tests and diagnostics. */
    View view() {
        HeartbeatEngine e = engine;
        return e == null ? null : e.view();
    }

    @Override
    public void suspect(MemberId member, String reason) {
        HeartbeatEngine e = engine;
        if (e != null) {
            e.suspect(Objects.requireNonNull(member, "member"), Objects.requireNonNull(reason, "reason"));
        }
    }

    @Override
    public void left(MemberId member) {
        HeartbeatEngine e = engine;
        if (e != null) {
            e.left(Objects.requireNonNull(member, "member"));
        }
    }

    /** Multicasts the leave datagram, then stops heartbeating and closes the socket. Idempotent. */
    @Override
    public void close() {
        stop(true);
    }

    /**
     * Stops without a leave datagram, as a crashed or hung node would look from outside (its TCP receiver is the
     * test's business). For tests.
     */
    void stopSilently() {
        stop(false);
    }

    private void stop(boolean announce) {
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            closed = true;
            if (!started) {
                return;
            }
        }
        List<String> problems = new ArrayList<>();
        HeartbeatEngine e = engine;
        if (e != null) {
            e.close(announce); // runs on the loop, before the stop marker queued by loop.close
        }
        try {
            if (loop != null && !loop.close(CLOSE_WAIT)) {
                problems.add("the membership loop did not stop within " + CLOSE_WAIT.toMillis() + " ms");
            }
            if (channel != null) {
                try {
                    channel.close();
                } catch (IOException ex) {
                    problems.add("closing the multicast socket failed: " + ex);
                }
            }
            if (receiver != null && receiver != Thread.currentThread() && receiver.isAlive()) {
                receiver.join(CLOSE_WAIT.toMillis());
                if (receiver.isAlive()) {
                    problems.add("the multicast receiver did not stop within " + CLOSE_WAIT.toMillis() + " ms");
                }
            }
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            problems.add("interrupted while waiting for the membership threads");
        }
        if (problems.isEmpty()) {
            LOG.log(System.Logger.Level.INFO, announce ? "Multicast membership closed (leave announced)"
                    : "Multicast membership stopped without a leave");
        } else {
            LOG.log(System.Logger.Level.WARNING, "Multicast membership closed with problems: " + problems);
        }
    }
}
