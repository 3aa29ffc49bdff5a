package io.flotilla.spi;

/**
 * Creates the membership service of a node. Services are not shared between nodes.
 *
 * <p>Threading: called once, on the thread that starts the node.
 */
@FunctionalInterface
public interface MembershipFactory {
    MembershipService create();
}
