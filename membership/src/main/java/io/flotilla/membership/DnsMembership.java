package io.flotilla.membership;

import io.flotilla.spi.MembershipFactory;
import java.util.Objects;

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
 * lists nobody, except through the system resolver (no {@code server}), which cannot tell the two apart: there it
 * is a failed lookup.
 *
 * <pre>{@code
 * MembershipFactory membership = DnsMembership.factory(DnsMembershipConfig.builder()
 *         .addresses("tomcat.shop.svc.cluster.local", 4000).build());
 * }</pre>
 *
 * <p>DNS is asked through the JDK only ({@code JndiDnsResolver}): no cache with a configured {@code server} or SRV
 * records; the JVM's address cache ({@code networkaddress.cache.ttl}) with A records through the system resolver.
 *
 * <p>Threading: the factory and the services it makes are safe from any thread; a service's methods return without
 * waiting for DNS or other members, and its {@code close} waits a bounded time. Lookups run on one {@code dns} thread
 * and hand their answer to the membership's loop thread, which owns the member table and publishes events.
 */
public final class DnsMembership {
    private DnsMembership() {
    }

    /** A factory of services with {@code config}; each node gets its own. */
    public static MembershipFactory factory(DnsMembershipConfig config) {
        Objects.requireNonNull(config, "config");
        return () -> service(config, new JndiDnsResolver(config));
    }

    /** One node's service, asking {@code resolver} (tests give their own). */
    static Discovery service(DnsMembershipConfig config, AddressSource resolver) {
        return new Discovery("dns", "DNS " + config.name(), config.resolveInterval(), config.lookupTimeout(),
                config.probing(), resolver, () -> config.recordType() + " records" + (config.recordType()
                == DnsMembershipConfig.RecordType.A ? " on port " + config.port() : "") + ", server "
                + (config.server().isEmpty() ? "the system's resolver" : config.server()) + "; probes every "
                + config.frequency().toMillis() + " ms, dropTime " + config.dropTime().toMillis() + " ms");
    }
}
