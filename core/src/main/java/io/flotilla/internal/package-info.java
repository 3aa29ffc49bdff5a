/**
 * Internal: the delivery engine behind {@link io.flotilla.Node} ({@code DefaultNode}, the per-member
 * {@code OutboundStream} and {@code InboundStream}, {@code DeliveryFuture}) and helpers shared by the project's
 * modules ({@code NodeThreads}, {@code DefaultScheduler}, {@code RateLimitedLog}).
 *
 * <p>No compatibility promise: a type is public here only because another package of Flotilla uses it (as Netty's
 * {@code io.netty.util.internal}). Applications use {@code io.flotilla} instead; anything may change in any release.
 * Each type's own javadoc states its threading.
 */
package io.flotilla.internal;
