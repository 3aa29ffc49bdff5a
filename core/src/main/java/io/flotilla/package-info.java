/**
 * Flotilla's API: what a program embedding a cluster member relies on (see {@code docs/embedding.md}).
 *
 * <p><b>API</b> (compatibility promised within a major version): {@link io.flotilla.Node} and its builder, the
 * validated {@link io.flotilla.NodeConfig}, {@link io.flotilla.Member}, {@link io.flotilla.MemberId},
 * {@link io.flotilla.View}, {@link io.flotilla.MembershipEvent} with {@link io.flotilla.MembershipListener},
 * {@link io.flotilla.Message} with {@link io.flotilla.MessageListener}, {@link io.flotilla.Delivery},
 * {@link io.flotilla.Registration}, {@link io.flotilla.ClusterSecret}, and {@link io.flotilla.FlotillaException}
 * with its subclasses. Every public type here is API.
 *
 * <p>Threading and errors: a {@code Node}'s methods are safe from any thread and never block on the network (a
 * send waits only for room in a full queue, at most the configured {@code timeout}); sends return a
 * {@code CompletionStage} that completes off the I/O threads. Listeners run on the node's delivery threads, never on
 * an I/O thread: one sender's messages one at a time and in order, membership events in order on one thread. A
 * listener that throws is logged and skipped (for {@code PROCESSED} the sender's stage fails with
 * {@link io.flotilla.RemoteProcessingException}). Every failure is an unchecked {@link io.flotilla.FlotillaException}:
 * {@link io.flotilla.ConfigurationException} once, at build time, naming the setting and the bad value;
 * {@link io.flotilla.DeliveryException} subclasses on a send's stage; {@link io.flotilla.NodeClosedException} after
 * {@code close()}. Value types (configs, members, views, events, messages) are immutable.
 */
package io.flotilla;
