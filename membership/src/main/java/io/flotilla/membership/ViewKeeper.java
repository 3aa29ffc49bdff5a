package io.flotilla.membership;

import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.MembershipEvent;
import io.flotilla.View;
import io.flotilla.spi.MembershipContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The member table's public face: the current {@link View} and the events that lead to it. Every event makes a new
 * view whose id is one larger, so listeners can check the order. The first view (id 1) holds only the local
 * member and is not published. Events gather during one loop command and go out together in {@link #flush()}.
 *
 * <p>Threading: owned by the membership loop; {@link #view()} may be read from any thread.
 */
final class ViewKeeper {
    private static final System.Logger LOG = System.getLogger(ViewKeeper.class.getName());

    private final MembershipContext context;
    private final MembershipMeters meters;
    private final Member local;
    private final Map<MemberId, Member> remotes = new LinkedHashMap<>();
    private final List<MembershipEvent> pending = new ArrayList<>();
    private volatile View view;

    ViewKeeper(MembershipContext context, MembershipMeters meters) {
        this.context = context;
        this.meters = meters;
        this.local = context.localMember();
        this.view = new View(1, List.of(local));
        meters.members(() -> view.size());
    }

    View view() {
        return view;
    }

    boolean contains(MemberId id) {
        return remotes.containsKey(id);
    }

    void join(Member member) {
        remotes.put(member.id(), member);
        View v = next();
        LOG.log(System.Logger.Level.INFO, () -> "Member joined: " + member.describe() + "; " + v);
        pending.add(new MembershipEvent.Joined(member, v));
    }

    void leave(Member member, boolean graceful, String cause) {
        if (remotes.remove(member.id()) == null) {
            return;
        }
        meters.removal(cause);
        View v = next();
        LOG.log(System.Logger.Level.INFO, () -> "Member " + (graceful ? "left: " : "removed as failed (" + cause
                + "): ") + member.describe() + "; " + v);
        pending.add(new MembershipEvent.Left(member, v, graceful));
    }

    void suspect(Member member, String reason, String cause) {
        meters.suspicion(cause);
        View v = next();
        LOG.log(System.Logger.Level.WARNING, () -> "Member suspected, verifying over TCP: " + member.describe()
                + ": " + reason);
        pending.add(new MembershipEvent.Suspected(member, v, reason));
    }

    void unsuspect(Member member) {
        View v = next();
        LOG.log(System.Logger.Level.INFO, () -> "Suspected member answered over TCP and stays: "
                + member.describe());
        pending.add(new MembershipEvent.Unsuspected(member, v));
    }

    private View next() {
        List<Member> members = new ArrayList<>(remotes.size() + 1);
        members.add(local);
        members.addAll(remotes.values());
        View v = new View(view.id() + 1, members);
        view = v;
        meters.views.increment();
        return v;
    }

    /** Publishes the events gathered since the last flush; a publisher that throws is logged and skipped. */
    void flush() {
        if (pending.isEmpty()) {
            return;
        }
        List<MembershipEvent> events = List.copyOf(pending);
        pending.clear();
        try {
            context.publish(events);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "Publishing " + events.size() + " membership events failed; "
                    + "the member table is unaffected", e);
        }
    }
}
