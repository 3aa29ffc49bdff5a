package io.flotilla;

/**
 * A change of membership, as {@link MembershipListener}s see it. Each event carries the view that holds after it.
 *
 * <p>Threading: immutable, safe to share.
 */
public sealed interface MembershipEvent {
    /** The view after this event. */
    View view();

    /** The member the event is about. */
    Member member();

    /** The member was added to the view. */
    record Joined(Member member, View view) implements MembershipEvent { }

    /**
     * The member was removed from the view.
     *
     * @param graceful true when it said goodbye (a clean stop); false when it was removed as failed
     */
    record Left(Member member, View view, boolean graceful) implements MembershipEvent { }

    /** The member stopped answering and is being verified; it stays in the view until verification fails. */
    record Suspected(Member member, View view, String reason) implements MembershipEvent { }

    /** A suspected member answered verification and stays. */
    record Unsuspected(Member member, View view) implements MembershipEvent { }
}
