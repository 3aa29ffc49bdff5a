package io.flotilla;

/**
 * Told about every change of membership, in the order of the views.
 *
 * <p>Threading: called on the node's single membership thread, one event at a time, never concurrently. Do
 * not block in it: hand long work to another thread. An exception it throws is logged and skipped; it never
 * stops the node or other listeners.
 */
@FunctionalInterface
public interface MembershipListener {
    void onEvent(MembershipEvent event);
}
