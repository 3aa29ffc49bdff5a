package io.flotilla.replication;

import io.flotilla.Member;
import io.flotilla.View;
import java.util.List;

/**
 * Which members hold a copy of a session besides its primary. The engine asks it for every replication, so the
 * answer follows the view; it must be a pure function of its arguments (every member computes the same answer).
 *
 * <p>{@link #ALL} is the {@code DeltaManager} role: every member holds every session. A primary-plus-backups mode
 * (rendezvous hashing of the session id over the view's member ids, the {@code BackupManager} role without its
 * O(N) work per create) fits the same shape: it returns the N highest-scoring members other than the primary.
 *
 * <p>Threading: implementations must be safe from any thread; they are called on request and delivery threads.
 */
@FunctionalInterface
public interface Placement {
    /** Every other member of the view holds every session. */
    Placement ALL = (sessionId, primary, view) -> view.othersThan(primary.id());

    /**
     * A primary plus {@code backups} members chosen by rendezvous hashing of the session id (up to its first {@code
     * '.'}: a route suffix, rewritten as the session moves, does not move its copies) over the view's member
     * addresses: a replication costs O(backups) messages whatever the view's size, and a member joining or leaving
     * moves only about {@code backups / N} of the sessions' copies. With it the engine keeps each session's copies
     * where this placement says as the view changes (docs/architecture.md, "Backup mode").
     *
     * @throws IllegalArgumentException when {@code backups} is below 1
     */
    static Placement backups(int backups) {
        return new RendezvousPlacement(backups);
    }

    /**
     * @param sessionId the session's current id
     * @param primary the member that owns the session (usually the caller)
     * @param view the current view, the primary included
     * @return the members other than {@code primary} that should hold a copy; never null
     */
    List<Member> holders(String sessionId, Member primary, View view);

    /**
     * The member that owns the session next when {@code primary} leaves (a drain hands it there): among {@link
     * #holders}, the one with the highest rendezvous score of the session id and the member id, so every member names
     * the same one, the sessions of a leaving member spread evenly over the others, and a member that joins or leaves
     * changes the successor of only the sessions it wins or held. A mode with fewer holders (backups) thus hands a
     * session to one of its backups.
     *
     * @return the successor; null when no other member holds the session
     */
    default Member successor(String sessionId, Member primary, View view) {
        Member best = null;
        long bestScore = 0;
        int idHash = RendezvousPlacement.idHash(sessionId); // String's hash, specified: the same on every JVM
        for (Member m : holders(sessionId, primary, view)) {
            long score = rendezvousScore(idHash, m);
            if (best == null || Long.compareUnsigned(score, bestScore) > 0
                    || score == bestScore && m.id().compareTo(best.id()) < 0) {
                best = m;
                bestScore = score;
            }
        }
        return best;
    }

    /** A session's (by its id's hash) score on {@code m}: both mixed by SplitMix64's finalizer. */
    private static long rendezvousScore(int idHash, Member m) {
        long z = m.id().mostSignificant() * 31 + m.id().leastSignificant() + idHash * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
