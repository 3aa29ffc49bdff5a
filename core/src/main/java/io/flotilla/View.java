package io.flotilla;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The members a node sees at one moment, oldest first. Every change of membership produces a new view with a
 * larger {@link #id()}; the local member is always part of its own view.
 *
 * <p>Threading: immutable, safe to share.
 */
public final class View {
    /** Oldest first: by start time, then by id so the order is the same on every node. */
    public static final Comparator<Member> AGE_ORDER =
            Comparator.comparingLong(Member::startTimeMillis).thenComparing(Member::id);

    private final long id;
    private final List<Member> members;

    /**
     * @param id the view's number; a node's views have strictly increasing ids
     * @param members the members, in any order (they are sorted oldest first)
     */
    public View(long id, List<Member> members) {
        this.id = id;
        List<Member> sorted = new ArrayList<>(members);
        sorted.sort(AGE_ORDER);
        this.members = Collections.unmodifiableList(sorted);
    }

    public long id() {
        return id;
    }

    /** All members, the local one included, oldest first. */
    public List<Member> members() {
        return members;
    }

    public int size() {
        return members.size();
    }

    public boolean contains(MemberId memberId) {
        return find(memberId).isPresent();
    }

    public Optional<Member> find(MemberId memberId) {
        for (Member m : members) {
            if (m.id().equals(memberId)) {
                return Optional.of(m);
            }
        }
        return Optional.empty();
    }

    /** The oldest member: the one a joining node asks for state. */
    public Member oldest() {
        return members.get(0);
    }

    /** The members other than {@code self}. */
    public List<Member> othersThan(MemberId self) {
        List<Member> others = new ArrayList<>(members.size());
        for (Member m : members) {
            if (!m.id().equals(self)) {
                others.add(m);
            }
        }
        return Collections.unmodifiableList(others);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("View#").append(id).append('[');
        for (int i = 0; i < members.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(members.get(i).describe());
        }
        return sb.append(']').toString();
    }
}
