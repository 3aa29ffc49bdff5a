package io.flotilla.membership;

import io.flotilla.MemberId;
import io.flotilla.View;
import io.flotilla.internal.RateLimitedLog;
import io.flotilla.spi.MembershipContext;
import io.flotilla.spi.MembershipFactory;
import io.flotilla.spi.MembershipService;
import io.flotilla.spi.Scheduler;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import javax.naming.NamingException;

/**
 * Membership from DNS, for Kubernetes headless Services and cloud VMs behind a DNS name: every
 * {@code resolveInterval} the name is looked up (A/AAAA records with a configured port, or SRV records that give the
 * port too), and the addresses found are the candidates. A candidate becomes a member only when it answers a probe
 * over the transport (connect, handshake, ping), as in {@link StaticMembership}: with a cluster secret the handshake
 * makes it prove the secret, so a record that names a stranger, a dead node or a stale address never adds a member.
 * Liveness is the static membership's (probes every {@code frequency}; removed after {@code dropTime} and
 * {@code probeAttempts} failed probes, at once after a transport suspicion's failed probes; a goodbye is a graceful
 * leave). A member whose address is no longer listed is suspected and verified at once: it stays while it answers
 * (during a rolling update a terminating pod leaves DNS first, then says goodbye when it stops) and is removed when
 * it fails. A lookup that fails (no answer, server failure) changes nothing; a name that does not exist (NXDOMAIN)
 * lists nobody.
 *
 * <pre>{@code
 * MembershipFactory membership = DnsMembership.factory(DnsMembershipConfig.builder()
 *         .addresses("tomcat.shop.svc.cluster.local", 4000).build());
 * }</pre>
 *
 * <p>DNS is asked through the JDK only ({@code JndiDnsResolver}): no cache with a configured {@code server} or SRV
 * records; the JVM's address cache ({@code networkaddress.cache.ttl}) with A records through the system resolver.
 *
 * <p>Threading: every method is safe from any thread and returns without waiting for DNS or other members;
 * {@link #close} waits a bounded time. Lookups run on one {@code dns} thread and hand their answer to the
 * membership's loop thread, which owns the member table and publishes events.
 */
public final class DnsMembership implements MembershipService {
    private static final System.Logger LOG = System.getLogger(DnsMembership.class.getName());
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(2);

    private final DnsMembershipConfig config;
    private final DnsResolver resolver;
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

    DnsMembership(DnsMembershipConfig config, DnsResolver resolver) {
        this.config = Objects.requireNonNull(config, "config");
        this.resolver = Objects.requireNonNull(resolver, "resolver");
        this.probing = new StaticMembership(config.probing(), "dns");
    }

    /** A factory of services with {@code config}; each node gets its own. */
    public static MembershipFactory factory(DnsMembershipConfig config) {
        Objects.requireNonNull(config, "config");
        return () -> new DnsMembership(config, new JndiDnsResolver(config));
    }

    public DnsMembershipConfig config() {
        return config;
    }

    /** Starts probing and the first lookup at once. @throws IllegalStateException if called twice */
    @Override
    public void start(MembershipContext ctx) {
        synchronized (lifecycle) {
            if (started || closed) {
                throw new IllegalStateException("DnsMembership is started or closed already; create one per node");
            }
            started = true;
            context = ctx;
            meters = new MembershipMeters(ctx.meters(), ctx.clusterName(), "dns");
            failures = new RateLimitedLog(LOG, ctx.clock(), TimeUnit.SECONDS.toNanos(60));
            probing.start(ctx);
            lookups = Executors.newSingleThreadExecutor(ctx.threadFactory("dns"));
            lookups.execute(this::lookup);
            LOG.log(System.Logger.Level.INFO, () -> "DNS membership started: " + config.recordType() + " records of "
                    + config.name() + (config.recordType() == DnsMembershipConfig.RecordType.A ? ", port "
                    + config.port() : "") + ", server " + (config.server().isEmpty() ? "the system's resolver"
                    : config.server()) + ", every " + config.resolveInterval().toMillis() + " ms; probes every "
                    + config.frequency().toMillis() + " ms, dropTime " + config.dropTime().toMillis() + " ms, local "
                    + ctx.localMember().describe());
        }
    }

    /** One lookup on the {@code dns} thread; its answer goes to the loop, and the next one is scheduled. */
    private void lookup() {
        if (closed) {
            return;
        }
        try {
            List<StaticAddress> found = resolver.resolve();
            meters.lookup(found.isEmpty() ? "empty" : "ok");
            Set<String> listed = new TreeSet<>();
            found.forEach(a -> listed.add(a.toString()));
            if (!listed.equals(last)) { // servers rotate the order of records: only a change of the set is news
                LOG.log(System.Logger.Level.INFO, () -> "DNS " + config.name() + " lists " + (listed.isEmpty()
                        ? "nobody" : listed) + "; each is a candidate until it answers a probe");
                last = listed;
            }
            probing.addresses(found, "its address is no longer listed in DNS (" + config.name() + ")");
        } catch (NamingException | RuntimeException e) {
            meters.lookup("failed");
            failures.log(System.Logger.Level.WARNING, "lookup", "DNS lookup of " + config.name() + " failed; the "
                    + "members stay as they are until a lookup succeeds: " + e, null);
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
                        // closed meanwhile: no more lookups, by design
                        return;
                    }
                }, config.resolveInterval().toNanos());
            }
        }
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
        try {
            if (!lookups.awaitTermination(CLOSE_WAIT.toMillis() + config.lookupTimeout().toMillis(),
                    TimeUnit.MILLISECONDS)) {
                lookups.shutdownNow();
                LOG.log(System.Logger.Level.WARNING, "A DNS lookup of " + config.name() + " did not end within "
                        + (CLOSE_WAIT.plus(config.lookupTimeout())).toMillis() + " ms of close");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            LOG.log(System.Logger.Level.WARNING, "Interrupted while closing DNS membership");
        }
        probing.close();
    }
}
