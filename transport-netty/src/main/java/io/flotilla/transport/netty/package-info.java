/**
 * The TCP transport on Netty.
 *
 * <p><b>API</b>: {@link io.flotilla.transport.netty.NettyTransport} (its {@code factory} goes to {@code
 * Node.builder().transport(...)}), {@link io.flotilla.transport.netty.NettyTransportConfig} and {@link
 * io.flotilla.transport.netty.TransportTls}. Everything else here is package-private, and no Netty type appears in
 * a public signature.
 *
 * <p>Threading and errors: the config and TLS settings are immutable and validated once ({@link
 * io.flotilla.ConfigurationException} naming the setting and the bad value). The transport is driven by the node
 * from any thread; its event loops do I/O and framing only and never run user code. A bad frame or a refused
 * handshake closes that connection (counted, logged rate-limited), never the transport.
 */
package io.flotilla.transport.netty;
