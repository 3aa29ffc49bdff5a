package io.flotilla.spi;

import io.flotilla.Member;
import io.flotilla.MemberId;

/**
 * Finds members and decides when they are gone: multicast heartbeats, a static list, or a test double. One thread
 * of the service owns the member table; views change only there.
 *
 * <p>Threading: every method is safe from any thread and returns at once; the work happens on the service's
 * thread.
 */
public interface MembershipService extends AutoCloseable {
    /** Starts announcing the local member and finding others. Does not wait for them. */
    void start(MembershipContext context);

    /**
     * The transport lost its connections to a member without a goodbye, or could not reach it: verify it and
     * remove it if it does not answer.
     */
    void suspect(MemberId member, String reason);

    /** The member said goodbye on its connection: remove it as a graceful leave. */
    void left(MemberId member);

    /**
     * The transport answered a probe from {@code member} ({@link InboundHandler#onProbed}): a membership that finds
     * members by probing addresses may verify it now rather than at its next round. It is not verified by this alone
     * (a prober's own receiver may be unreachable). The default does nothing.
     */
    default void probedBy(Member member) {
    }

    /** Announces the local member's leave (where the mechanism has one) and stops. Idempotent. */
    @Override
    void close();
}
