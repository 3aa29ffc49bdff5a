package io.flotilla;

/**
 * The node was closed before the operation could complete, or the operation was started on a closed node.
 *
 * <p>Threading: immutable, safe to share.
 */
public final class NodeClosedException extends FlotillaException {
    private static final long serialVersionUID = 1L;

    public NodeClosedException(String message) {
        super(message);
    }
}
