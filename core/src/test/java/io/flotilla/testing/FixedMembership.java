package io.flotilla.testing;

import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.MembershipEvent;
import io.flotilla.View;
import io.flotilla.spi.MembershipContext;
import io.flotilla.spi.MembershipService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A membership service the test drives: members join and leave when the test says so. Records the suspicions and
 * leaves the engine reports, without acting on them.
 *
 * <p>Threading: call from one thread at a time (the test's).
 */
public final class FixedMembership implements MembershipService {
    private MembershipContext ctx;
    private final List<Member> members = new ArrayList<>();
    private long viewId;
    /** Suspicions the node reported, as "memberId: reason". */
    public final List<String> suspicions = new CopyOnWriteArrayList<>();
    /** Graceful leaves the node reported. */
    public final List<MemberId> leaves = new CopyOnWriteArrayList<>();
    /** Members whose probes of this node the node reported. */
    public final List<Member> probedBy = new CopyOnWriteArrayList<>();

    @Override
    public void start(MembershipContext context) {
        ctx = context;
        members.add(context.localMember());
    }

    /** Adds {@code m} to the view and publishes the join. */
    public void join(Member m) {
        members.add(m);
        ctx.publish(List.of(new MembershipEvent.Joined(m, new View(++viewId, members))));
    }

    /** Publishes that the suspected member {@code m} answered its verification and stays. */
    public void verifiedAlive(Member m) {
        ctx.publish(List.of(new MembershipEvent.Unsuspected(m, new View(++viewId, members))));
    }

    /** Removes {@code m} and publishes the leave. */
    public void remove(Member m, boolean graceful) {
        members.removeIf(x -> x.id().equals(m.id()));
        ctx.publish(List.of(new MembershipEvent.Left(m, new View(++viewId, members), graceful)));
    }

    @Override
    public void suspect(MemberId member, String reason) {
        suspicions.add(member + ": " + reason);
    }

    @Override
    public void left(MemberId member) {
        leaves.add(member);
    }

    @Override
    public void probedBy(Member member) {
        probedBy.add(member);
    }

    /** Probes {@code m}'s receiver through the node's transport, as a membership verifies a member. */
    public CompletionStage<Member> probe(Member m) {
        return ctx.probe(m.address(), Duration.ofSeconds(1));
    }

    @Override
    public void close() {
    }
}
