package io.flotilla.membership;

import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.View;
import io.flotilla.internal.RateLimitedLog;
import io.flotilla.spi.MembershipContext;
import io.flotilla.spi.MembershipService;
import io.flotilla.spi.Scheduler;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.naming.NamingException;

/**
 * What {@link DnsMembership} and {@link KubernetesMembership} share: every {@code interval} an {@link AddressSource}
 * is asked for the candidates (on one lookup thread, which hands each answer to the {@link StaticMembership} loop that
 * probes them). A candidate becomes a member only when it answers a probe over the transport (connect, handshake with
 * the cluster secret, ping); a member whose address is no longer listed is suspected and verified at once, stays while
 * it answers, and is removed when it fails. A failed lookup changes nothing.
 *
 * <p>Threading: every method is safe from any thread; {@link #close} waits a bounded time for a lookup in flight.
 */
final class Discovery implements MembershipService {
    private static final System.Logger LOG = System.getLogger(Discovery.class.getName());
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(2);

    private final String kind;
    private final String source;
    private final Duration interval;
    private final Duration lookupTimeout;
    private final AddressSource addresses;
    private final Supplier<String> settings;
    private final StaticMembership probing;
    private final Object lifecycle = new Object();
    private boolean started;
    private volatile boolean closed;
    private MembershipContext context;
    private MembershipMeters meters;
    private RateLimitedLog failures;
    private ExecutorService lookups;
    private Scheduler.Cancellable next;
    private Set<String> last;

    /**
     * @param kind the meters' kind tag and the lookup thread's role ({@code dns}, {@code kubernetes})
     * @param source what is asked, for the log ({@code DNS tomcat.shop.svc.cluster.local})
     * @param settings the rest of the settings, for the start line
     */
    Discovery(String kind, String source, Duration interval, Duration lookupTimeout, StaticMembershipConfig probing,
            AddressSource addresses, Supplier<String> settings) {
        this.kind = kind;
        this.source = source;
        this.interval = interval;
        this.lookupTimeout = lookupTimeout;
        this.addresses = Objects.requireNonNull(addresses, "addresses");
        this.settings = settings;
        this.probing = new StaticMembership(probing, kind);
    }

    /** Starts probing and the first lookup at once. @throws IllegalStateException if called twice */
    @Override
    public void start(MembershipContext ctx) {
        synchronized (lifecycle) {
            if (started || closed) {
                throw new IllegalStateException("A " + kind + " membership is started or closed already; create one "
                        + "per node");
            }
            started = true;
            context = ctx;
            meters = new MembershipMeters(ctx.meters(), ctx.clusterName(), kind);
            failures = new RateLimitedLog(LOG, ctx.clock(), TimeUnit.SECONDS.toNanos(60));
            probing.start(ctx);
            lookups = Executors.newSingleThreadExecutor(ctx.threadFactory(kind));
            lookups.execute(this::lookup);
            LOG.log(System.Logger.Level.INFO, () -> kind + " membership started: " + source + ", every "
                    + interval.toMillis() + " ms; " + settings.get() + ", local " + ctx.localMember().describe());
        }
    }

    /** One lookup on the lookup thread; its answer goes to the loop, and the next one is scheduled. */
    private void lookup() {
        if (closed) {
            return;
        }
        try {
            List<StaticAddress> found = addresses.addresses();
            meters.lookup(found.isEmpty() ? "empty" : "ok");
            Set<String> listed = new TreeSet<>();
            found.forEach(a -> listed.add(a.toString()));
            if (!listed.equals(last)) { // servers rotate the order of records: only a change of the set is news
                LOG.log(System.Logger.Level.INFO, () -> source + " lists " + (listed.isEmpty() ? "nobody" : listed)
                        + "; each is a candidate until it answers a probe");
                last = listed;
            }
            probing.addresses(found, "its address is no longer listed by " + source);
        } catch (NamingException | IOException | RuntimeException e) {
            meters.lookup("failed");
            failures.log(System.Logger.Level.WARNING, "lookup", "Looking up " + source + " failed; the members stay "
                    + "as they are until a lookup succeeds: " + e, null);
        } finally {
            schedule();
        }
    }

    private void schedule() {
        synchronized (lifecycle) {
            if (!closed) {
                next = context.scheduler().schedule(() -> {
                    try {
                        lookups.execute(this::lookup);
                    } catch (RejectedExecutionException e) {
                        return; // closed meanwhile: no more lookups, by design
                    }
                }, interval.toNanos());
            }
        }
    }

    /** {@code dns membership of DNS tomcat.shop.svc.cluster.local}: what it is and what it asks. */
    @Override
    public String toString() {
        return kind + " membership of " + source;
    }

    /** The current view; null before {@link #start}. For tests and diagnostics. */
    View view() {
        return probing.view();
    }

    @Override
    public void suspect(MemberId member, String reason) {
        probing.suspect(member, reason);
    }

    @Override
    public void left(MemberId member) {
        probing.left(member);
    }

    @Override
    public void probedBy(Member member) {
        probing.probedBy(member);
    }

    /** Stops the lookups (waiting at most about the lookup timeout for one in flight) and the probes. */
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
            if (next != null) {
                next.cancel();
            }
            lookups.shutdown();
        }
        Duration wait = CLOSE_WAIT.plus(lookupTimeout);
        try {
            if (!lookups.awaitTermination(wait.toMillis(), TimeUnit.MILLISECONDS)) {
                lookups.shutdownNow();
                LOG.log(System.Logger.Level.WARNING, "A lookup of " + source + " did not end within "
                        + wait.toMillis() + " ms of close");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            LOG.log(System.Logger.Level.WARNING, "Interrupted while closing the " + kind + " membership");
        }
        probing.close();
    }
}
