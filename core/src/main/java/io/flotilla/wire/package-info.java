/**
 * SPI for transports and membership services: the frame format on every Flotilla TCP connection
 * ({@link io.flotilla.wire.Frame}, {@link io.flotilla.wire.FrameType}, {@link io.flotilla.wire.FrameCodec}), the
 * transport-neutral connection handshake ({@link io.flotilla.wire.Handshaker}, formats and proofs in
 * {@link io.flotilla.wire.Handshake}), the member encoding shared with heartbeats
 * ({@link io.flotilla.wire.MemberCodec}) and {@link io.flotilla.wire.WireException}, the one type an application may
 * see (as the cause of a refused connection). The layout is documented in {@code docs/architecture.md}, "Wire
 * format".
 *
 * <p>Compatibility: the bytes on the wire are versioned (the header's version field); the Java types are kept for
 * the project's own transports and membership and carry no promise to applications.
 *
 * <p>Threading and errors: every type here is immutable or stateless and safe from any thread, except a
 * {@code Handshaker}, which belongs to one connection and is driven by one thread at a time (its event loop). Input
 * from the network is untrusted: {@code FrameCodec.readHeader} and the readers check sizes before allocating and
 * throw {@code WireException} with a reason code; they never return a partial result.
 */
package io.flotilla.wire;
