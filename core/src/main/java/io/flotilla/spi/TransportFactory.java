package io.flotilla.spi;

/**
 * Creates the transport of a node. Transports are not shared between nodes.
 *
 * <p>Threading: called once, on the thread that starts the node.
 */
@FunctionalInterface
public interface TransportFactory {
    Transport create();
}
