/**
 * Membership services: who is in the cluster, with failure detection.
 *
 * <p><b>API</b>: {@link io.flotilla.membership.MulticastMembership} with {@link
 * io.flotilla.membership.MulticastMembershipConfig} (heartbeats on a multicast group, Tomcat's names and defaults),
 * {@link io.flotilla.membership.StaticMembership} with {@link io.flotilla.membership.StaticMembershipConfig} (a fixed
 * list of {@code host:port}), and {@link io.flotilla.membership.FailureDetection}. A program passes a factory to
 * {@code Node.builder().membership(...)}; it never calls the service itself. Everything else here is
 * package-private.
 *
 * <p>Threading and errors: configs are immutable and validated once by their builders, which throw {@link
 * io.flotilla.ConfigurationException} naming the setting and the bad value. A running service owns its member table
 * on one loop thread; it publishes view changes from that thread, and a bad or foreign datagram is counted and
 * dropped, never thrown.
 */
package io.flotilla.membership;
