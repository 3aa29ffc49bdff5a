package io.flotilla.membership;

import io.flotilla.spi.MembershipFactory;
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
 * <p>Threading: the factory and the services it makes are safe from any thread; a service's methods return without
 * waiting for the API server or other members, and its {@code close} waits a bounded time. Requests run on one
 * {@code kubernetes} thread and hand their answer to the membership's loop thread, which owns the member table and
 * publishes events.
 */
public final class KubernetesMembership {
    private KubernetesMembership() {
    }

    /** A factory of services with {@code config}; each node gets its own. */
    public static MembershipFactory factory(KubernetesMembershipConfig config) {
        Objects.requireNonNull(config, "config");
        return () -> {
            KubernetesPodSource pods = new KubernetesPodSource(config);
            return service(config, pods, "Kubernetes GET " + pods.url());
        };
    }

    /** One node's service, listing pods with {@code pods} (tests give their own server's). */
    static Discovery service(KubernetesMembershipConfig config, AddressSource pods, String source) {
        return new Discovery("kubernetes", source, config.resolveInterval(), config.requestTimeout().multipliedBy(2),
                config.probing(), pods, () -> "pods on port " + config.port() + ", token " + config.tokenFile()
                + ", CA " + config.caFile() + "; probes every " + config.frequency().toMillis() + " ms, dropTime "
                + config.dropTime().toMillis() + " ms");
    }
}
