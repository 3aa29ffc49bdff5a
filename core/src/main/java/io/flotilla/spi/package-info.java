/**
 * SPI: what a transport or a membership service implements to plug into a {@link io.flotilla.Node}, and the clock
 * and scheduler a test or a host may inject. Implementations in this project: {@code flotilla-transport-netty},
 * {@code flotilla-membership} and the in-memory test network of core's test-jar.
 *
 * <p>Compatibility: kept within a minor version; a change is announced in the release notes. Application code
 * uses the API in {@code io.flotilla} and never calls these interfaces itself.
 *
 * <p>Threading and errors: the node calls {@link io.flotilla.spi.Transport} and
 * {@link io.flotilla.spi.MembershipService} from any thread, once {@code start} returned; an implementation calls
 * back into its {@link io.flotilla.spi.TransportContext} / {@link io.flotilla.spi.InboundHandler} from its I/O
 * threads and into {@link io.flotilla.spi.MembershipContext#publish} from the service's one thread, and those
 * callbacks never block. A transport only frames, handshakes, pools connections and reports broken ones; ordering,
 * acknowledgement and retries are the node's. Failures to reach a member are reported through {@link
 * io.flotilla.spi.InboundHandler#onSendFailed}, never thrown from {@code send}; a misconfiguration is a {@link
 * io.flotilla.ConfigurationException} from the factory.
 */
package io.flotilla.spi;
