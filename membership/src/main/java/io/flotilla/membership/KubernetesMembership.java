package io.flotilla.membership;

import io.flotilla.MemberId;
import io.flotilla.View;
import io.flotilla.spi.MembershipContext;
import io.flotilla.spi.MembershipFactory;
import io.flotilla.spi.MembershipService;
import java.util.Objects;

/**
 * Membership from the Kubernetes API: every {@code resolveInterval} the pods of a namespace that match a label
 * selector are listed by the API server (over HTTPS, with the pod's service-account token read again for every
 * request, trusting only the cluster CA), and each pod's IP on {@code port} is a candidate. As with
 * {@link DnsMembership}, a candidate becomes a member only when it answers a probe over the transport, whose
 * handshake makes it prove the cluster secret; liveness is the static membership's; a member whose pod is no longer
 * listed is verified at once, stays while it answers and is removed when it fails or says goodbye; a failed request
 * (the API server unreachable, a refused token, a certificate that does not verify) changes nothing.
 *
 * <pre>{@code
 * MembershipFactory membership = KubernetesMembership.factory(KubernetesMembershipConfig.builder()
 *         .inCluster(System.getenv()).namespace("shop").labelSelector("app=shop").port(4000).build());
 * }</pre>
 *
 * <p>The service account needs {@code get} and {@code list} on {@code pods} in the namespace (a {@code Role} and a
 * {@code RoleBinding}; docs/tomcat.md has one).
 *
 * <p>Threading: every method is safe from any thread and returns without waiting for the API server or other
 * members; {@link #close} waits a bounded time. Requests run on one {@code kubernetes} thread and hand their answer
 * to the membership's loop thread, which owns the member table and publishes events.
 */
public final class KubernetesMembership implements MembershipService {
    private final KubernetesMembershipConfig config;
    private final Discovery discovery;

    KubernetesMembership(KubernetesMembershipConfig config, AddressSource pods, String source) {
        this.config = Objects.requireNonNull(config, "config");
        this.discovery = new Discovery("kubernetes", source, config.resolveInterval(), config.requestTimeout()
                .multipliedBy(2), config.probing(), pods);
    }

    /** A factory of services with {@code config}; each node gets its own. */
    public static MembershipFactory factory(KubernetesMembershipConfig config) {
        Objects.requireNonNull(config, "config");
        return () -> {
            KubernetesPodSource pods = new KubernetesPodSource(config);
            return new KubernetesMembership(config, pods, "Kubernetes GET " + pods.url());
        };
    }

    public KubernetesMembershipConfig config() {
        return config;
    }

    /** Starts probing and the first request at once. @throws IllegalStateException if called twice */
    @Override
    public void start(MembershipContext context) {
        discovery.start(context, () -> "pods on port " + config.port() + ", token " + config.tokenFile() + ", CA "
                + config.caFile() + "; probes every " + config.frequency().toMillis() + " ms, dropTime "
                + config.dropTime().toMillis() + " ms");
    }

    /** The current view; null before {@link #start}. For tests and diagnostics. */
    View view() {
        return discovery.view();
    }

    @Override
    public void suspect(MemberId member, String reason) {
        discovery.suspect(member, reason);
    }

    @Override
    public void left(MemberId member) {
        discovery.left(member);
    }

    /** Stops the requests (waiting at most about two request timeouts for one in flight) and the probes. */
    @Override
    public void close() {
        discovery.close();
    }
}
