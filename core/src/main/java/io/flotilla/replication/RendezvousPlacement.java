package io.flotilla.replication;

import io.flotilla.Member;
import io.flotilla.View;
import java.util.Arrays;
import java.util.List;

/**
 * A primary plus {@code backups} members: the members other than the primary that score highest for the session
 * id (up to its route suffix, see {@link #idHash}), a score being a hash of the id and the member's address (rendezvous, or highest-random-weight, hashing).
 * Every member computes the same answer from the same view. A member joining or leaving changes the holders of only
 * the sessions it ranks first for (about {@code backups / N} of them among N members); the address, not the member
 * id, enters the hash, so a node restarted on the same address gets back the same sessions.
 *
 * <p>Threading: immutable; safe from any thread. No allocation but the answer: it is asked on every replication.
 */
final class RendezvousPlacement implements Placement {
    private final int backups;

    RendezvousPlacement(int backups) {
        if (backups < 1) {
            throw new IllegalArgumentException("backups must be at least 1, was " + backups);
        }
        this.backups = backups;
    }

    @Override
    public List<Member> holders(String sessionId, Member primary, View view) {
        long key = mix(idHash(sessionId));
        Member[] best = new Member[backups];
        long[] scores = new long[backups];
        int n = 0;
        for (Member m : view.members()) {
            if (m.id().equals(primary.id())) {
                continue;
            }
            long score = score(key, m);
            int at = n;
            while (at > 0 && beats(score, m, scores[at - 1], best[at - 1])) {
                at--;
            }
            if (at == backups) {
                continue;
            }
            int last = Math.min(n, backups - 1);
            System.arraycopy(best, at, best, at + 1, last - at);
            System.arraycopy(scores, at, scores, at + 1, last - at);
            best[at] = m;
            scores[at] = score;
            n = Math.min(n + 1, backups);
        }
        return List.of(n == backups ? best : Arrays.copyOf(best, n));
    }

    /**
     * The hash placement reads of a session id: {@link String#hashCode} of the id up to its first {@code '.'}, so a
     * route suffix ({@code ABC.node2}, rewritten whenever the session moves to another node) does not move its copies:
     * the rename goes to the members that already hold the session, and the deltas after it too.
     */
    static int idHash(String sessionId) {
        int h = 0;
        for (int i = 0, n = sessionId.length(); i < n; i++) {
            char c = sessionId.charAt(i);
            if (c == '.') {
                break;
            }
            h = 31 * h + c;
        }
        return h;
    }

    /** The score of {@code m} for a session whose mixed id hash is {@code key}. */
    static long score(long key, Member m) {
        return mix(key ^ mix(((long) m.host().hashCode() << 32) ^ m.port()));
    }

    /** Higher score first; a tie (two incarnations on one address, for a moment) goes to the lower member id. */
    private static boolean beats(long score, Member m, long otherScore, Member other) {
        int c = Long.compareUnsigned(score, otherScore);
        return c > 0 || c == 0 && m.id().compareTo(other.id()) < 0;
    }

    /** SplitMix64's finalizer: every input bit reaches every output bit. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    @Override
    public String toString() {
        return "backups(" + backups + ")";
    }
}
