package io.flotilla.replication;

import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.View;
import io.flotilla.spi.Clock;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Every session this member knows, in one place, and the ownership rules: the primaries it owns, the replicas it
 * holds ({@link ReplicaStore}), the owner of each replica, and the full copies it waits for. Each change of who
 * owns what (create, take-over, rename, a claim by another member, a hand-over to an older owner, a replica that
 * ends) is one method here, under one lock.
 *
 * <p>Rules: the member that creates a session owns it; a replica's owner is the sender of its deltas, an
 * ownership claim, or the state transfer's entry; a replica is taken over only when its owner is not in the view;
 * when two members own one session (a healed split, an owner back from a pause), see {@link #contest}.
 *
 * <p>Threading: safe from any thread. One lock ({@code lock}) orders every change of ownership, then a session's own
 * lock ({@link PrimarySession}), then the store's; reads go to the concurrent maps without it. Sends made under it
 * only enqueue. Replica changes are queued on the store's {@link ReplicaEvents}; the caller delivers them after.
 */
final class SessionTable {
    private static final System.Logger LOG = System.getLogger(SessionTable.class.getName());
    /** The owner of a transferred replica whose source did not know it. */
    static final MemberId UNKNOWN_OWNER = new MemberId(0, 0);

    private final MemberId self;
    private final ReplicaStore store;
    private final ReplicationConfig config;
    private final ConcurrentHashMap<String, PrimarySession> primaries = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, MemberId> owners = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Long> awaitingFull = new ConcurrentHashMap<>();
    /** Per primary: the version its ownership here began at (absent: created here, 0). */
    private final ConcurrentHashMap<String, Long> since = new ConcurrentHashMap<>();
    /**
     * Sessions this member handed to a member that asked ({@link #release}), while it still holds them: told to a
     * member that comes back, which missed the release while it was away ({@link #handedTo()}).
     */
    private final ConcurrentHashMap<String, MemberId> handedTo = new ConcurrentHashMap<>();
    /**
     * Sessions released here whose new owner has not confirmed its adoption yet ({@link #granted}): until it does,
     * nobody else owns them, so this member still answers for them (a take-over round elsewhere must not adopt one).
     */
    private final Set<String> granting = ConcurrentHashMap.newKeySet();
    /**
     * Sessions owned here lately, and what became of each ({@link #lately}), for {@code keepNanos}: a take-over
     * round's query that reached a new owner before its adoption and this member after would otherwise hear "not
     * mine" from both. Expired entries are ignored when read, and dropped by the expiry sweep (not on the request
     * thread that ends a session).
     */
    private final ConcurrentHashMap<String, Gone> lately = new ConcurrentHashMap<>();
    private final Clock clock;
    private final long keepNanos;
    /**
     * Renames seen here, former id to the next (the owner's, and the holders' from the rename in a delta), the
     * {@link #MAX_ALIASES} most recent: a request still carrying a session's former id (sent before its cookie
     * changed) finds the session under its current one. Guarded by itself.
     */
    private final Map<String, String> renamedTo = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
            return size() > MAX_ALIASES;
        }
    };
    static final int MAX_ALIASES = 10_000;
    private final Object lock = new Object();

    /** What became of a claim or a delta from another member. */
    enum Verdict {
        /** Accepted: the sender owns the session (now). */
        ACCEPTED,
        /** The sender is not the owner; dropped. */
        NOT_OWNER,
        /** This member owns it: the older of the two keeps it ({@link #contest}). */
        CONTESTED,
        /**
         * A delta from the owner that this member cannot apply: it lacks the version the delta starts from (a holder
         * new to the session, whose full copy has not arrived), so the delta waits in the store.
         */
        EARLY
    }

    /**
     * {@code keep}: how long this member tells take-over rounds what became of a session it owned (twice the longest
     * round: a query that reached the new owner before its adoption reaches this member within a round's time).
     */
    SessionTable(MemberId self, ReplicaStore store, ReplicationConfig config, Clock clock, Duration keep) {
        this.clock = clock;
        this.keepNanos = keep.toNanos();
        this.self = self;
        this.store = store;
        this.config = config;
    }

    // ------------------------------------------------------------------------------------------ reads

    PrimarySession primary(String id) {
        return primaries.get(id);
    }

    Optional<SessionRecord> replica(String id) {
        return store.get(id);
    }

    Set<String> primaryIds() {
        return Set.copyOf(primaries.keySet());
    }

    int primaryCount() {
        return primaries.size();
    }

    Iterable<PrimarySession> primaries() {
        return primaries.values();
    }

    Set<String> replicaIds() {
        return store.ids();
    }

    MemberId owner(String id) {
        return owners.get(id);
    }

    /**
     * Every session held here for a state transfer to {@code requester}, primaries first, without the replicas it
     * owns: the owner holds those itself (a member that started alone asks the first member that joins, which by then
     * holds copies of the asker's own sessions).
     */
    List<String> idsToStream(MemberId requester) {
        Set<String> all = new LinkedHashSet<>(primaries.keySet());
        for (String id : store.ids()) {
            if (!requester.equals(owners.get(id))) {
                all.add(id);
            }
        }
        return new ArrayList<>(all);
    }

    /**
     * The record of {@code id} at a delta boundary and its owner, or null: a primary's last replicated state (what a
     * full-copy request gets: the owner's next delta applies to it exactly), or the replica.
     */
    Held held(String id) {
        PrimarySession ps = primaries.get(id);
        if (ps != null) {
            SessionRecord r;
            synchronized (ps) {
                r = ps.fullCopy();
            }
            return r == null ? null : new Held(r, self, true);
        }
        SessionRecord r = store.get(id).orElse(null);
        return r == null ? null : new Held(r, owners.getOrDefault(id, UNKNOWN_OWNER), false);
    }

    /**
     * The record of {@code id} as it is now, for a state transfer: a primary's current state, its changes not yet
     * replicated included (completed first as a replication would: detected mutations, a due access), with the values
     * that share objects as one graph ({@link PrimarySession#withSessionGroups}), or the replica.
     */
    Held heldNow(String id) {
        PrimarySession ps = primaries.get(id);
        if (ps == null) {
            return held(id);
        }
        SessionRecord r;
        synchronized (ps) {
            if (ps.isHandedOver()) {
                return null;
            }
            ps.prepareDrain(config.mutationDetection(), config.accessInterval().toMillis());
            r = ps.recorder().current();
            r = r == null ? null : ps.withSessionGroups(r);
        }
        return r == null ? null : new Held(r, self, true);
    }

    /** A session's record as held here, with its owner. */
    record Held(SessionRecord record, MemberId owner, boolean primary) {
    }

    // ------------------------------------------------------------------------------------------ primaries

    /** Registers a session created here; throws when the id is known here. */
    void create(String id, PrimarySession ps) {
        synchronized (lock) {
            if (primaries.putIfAbsent(id, ps) != null || store.get(id).isPresent()) {
                primaries.remove(id, ps);
                throw new IllegalStateException("session " + SessionRecord.redact(id) + " already exists");
            }
        }
    }

    /**
     * Makes {@code id} a primary here at the newest of {@code newest} (what a take-over round learned; may be null)
     * and the replica held here: the replica leaves the store ({@link ReplicaCause#TAKEN_OVER}), {@code resume}
     * builds the primary, and {@code announce} runs under the new primary's lock, so its claim leaves before any of
     * its deltas.
     *
     * {@code endedAt}: the version the session's last owner ended it at lately (-1: none); a copy at or below it is
     * of the ended session: the replica here goes ({@link ReplicaCause#ENDED}) and nothing is adopted.
     *
     * @return the primary (already owned here, or taken over); null when no copy is known, or it ended
     * @throws TakeOverException when a live member of {@code view} became the owner meanwhile
     */
    PrimarySession adopt(String id, SessionRecord newest, long endedAt, View view,
            Function<SessionRecord, PrimarySession> resume, Consumer<PrimarySession> announce) {
        synchronized (lock) {
            PrimarySession ps = primaries.get(id);
            if (ps != null) {
                return ps;
            }
            String current = currentId(id);
            if (!current.equals(id) && primaries.containsKey(current)) {
                // Owned here under the id it was renamed to while the round ran (a hand-off or a drain's push came
                // first, then the jvmRoute rename): adopting the round's copy would make a second owner of it.
                return null;
            }
            MemberId owner = owners.get(id);
            // This member as the owner, with no primary here: it renamed the session away or handed it on since
            if (owner != null && !owner.equals(UNKNOWN_OWNER) && !owner.equals(self) && view.contains(owner)) {
                throw new TakeOverException("member " + view.find(owner).map(Member::describe).orElse("?")
                        + " owns session " + SessionRecord.redact(id) + " now");
            }
            SessionRecord local = store.get(id).orElse(null);
            SessionRecord r = local != null && (newest == null || local.version() >= newest.version()) ? local
                    : newest;
            if (r == null) {
                return null;
            }
            if (r.version() <= endedAt) {
                // Its last owner ended it at that version lately: no later line of writes exists, the copy goes.
                if (local != null) {
                    forget(id, ReplicaCause.ENDED);
                }
                return null;
            }
            forget(id, ReplicaCause.TAKEN_OVER);
            ps = resume.apply(r);
            synchronized (ps) {
                primaries.put(id, ps);
                lately.remove(id);
                since.put(id, r.version());
                LOG.log(Level.INFO, "took over session " + SessionRecord.redact(id) + " at version " + r.version()
                        + (local == null || local.version() != r.version() ? " (newer than the copy held here, "
                                + (local == null ? "none" : "version " + local.version()) + ")" : "")
                        + (owner == null ? " (owner unknown)" : " from departed member " + owner.shortString()));
                announce.accept(ps);
            }
            return ps;
        }
    }

    /** The version a primary's ownership here began at: 0 when created here, else the version taken over. */
    long ownedSince(String id) {
        return since.getOrDefault(id, 0L);
    }

    /**
     * The newest version of a primary whose replication every holder acknowledged (or that had no holder): its
     * writes that count. A write whose replication failed moved the primary's version but not this.
     */
    long acknowledged(String id) {
        PrimarySession ps = primaries.get(id);
        return Math.max(ownedSince(id), ps == null ? 0 : ps.acknowledged());
    }

    /**
     * Renames a primary; throws when another primary here has the new id. A replica under the new id is a copy of
     * this very session left from when it last had that id (a member placement no longer names missed the rename
     * back, as when a session returns to a node and takes its route suffix again): it is dropped. Ids are random
     * enough that no other session has it.
     */
    String rename(PrimarySession ps, String newId) {
        synchronized (lock) {
            if (primaries.containsKey(newId)) {
                throw new IllegalStateException("session " + SessionRecord.redact(newId) + " already exists");
            }
            if (store.get(newId).isPresent()) {
                forget(newId, ReplicaCause.REMOVED);
            }
            String old = ps.renameLocked(newId);
            primaries.remove(old, ps);
            primaries.put(newId, ps);
            renamed(old, newId);
            Long began = since.remove(old);
            if (began != null) {
                since.put(newId, began);
            }
            return old;
        }
    }

    private void renamed(String old, String newId) {
        synchronized (renamedTo) {
            renamedTo.remove(newId); // an id that comes back is current again
            renamedTo.put(old, newId);
        }
    }

    /**
     * Its owner renamed a session from {@code former} to {@code id} (placement other than ALL, told to every member):
     * whatever this member holds under {@code id} is from an earlier life of the id and goes, and the rename is
     * remembered (a request with the former id finds the session). A primary here under {@code id} is left to the
     * contest rule.
     */
    void renamedElsewhere(String former, String id) {
        synchronized (lock) {
            if (!primaries.containsKey(id) && (owners.containsKey(id) || store.get(id).isPresent())) {
                forget(id, ReplicaCause.REMOVED);
            }
        }
        renamed(former, id);
    }

    /** The id {@code id} was last renamed to as far as this member saw (a few hops at most), or {@code id}. */
    String currentId(String id) {
        String current = id;
        synchronized (renamedTo) {
            for (int hop = 0; hop < 8; hop++) {
                String next = renamedTo.get(current);
                if (next == null) {
                    break;
                }
                current = next;
            }
        }
        return current;
    }

    /** A primary's last delta ({@code version}) ended it: it is no longer owned here. */
    void ended(PrimarySession ps, String id, long version) {
        if (primaries.remove(ps.recorder().id(), ps)) {
            since.remove(ps.recorder().id());
        }
        if (primaries.remove(id, ps)) {
            since.remove(id);
        }
        remember(id, null, version);
    }

    /**
     * Another member acts as owner of {@code mine}. A line of writes that acknowledged nothing since the other's
     * ownership began (a paused owner back in the view: a stopped process writes nothing) yields to the other's;
     * when neither or both did, the older member in the view keeps it. {@code otherSince} is the version the
     * other's ownership began at and {@code otherAcknowledged} the newest version its holders acknowledged, both -1
     * when unknown (a delta): then this member keeps it, and the caller tells the other its own figures so that the
     * other decides with both. When this member yields it hands the session over (its handle dies) and returns the
     * number of its acknowledged writes the other's copy does not have (those since the later of the two ownerships
     * began); the caller asks for the other's copy. Returns -1 when this member keeps it.
     */
    long contest(View view, Member other, PrimarySession mine, long otherSince, long otherAcknowledged) {
        synchronized (lock) {
            String id = mine.id();
            long mineSince = ownedSince(id);
            long mineAcknowledged = acknowledged(id);
            if (otherSince < 0 || otherAcknowledged < 0) {
                return -1;
            }
            // Both sides evaluate this with the same four figures, so exactly one of them yields.
            boolean mineStale = mineAcknowledged <= otherSince;
            boolean otherStale = otherAcknowledged <= mineSince;
            if (mineStale == otherStale ? !older(view, other.id(), self) : !mineStale) {
                return -1;
            }
            synchronized (mine) {
                primaries.remove(id, mine);
                mine.handOver();
            }
            since.remove(id);
            long discarded = Math.max(0, mineAcknowledged - Math.max(mineSince, otherSince));
            owners.put(id, other.id());
            remember(id, other.id(), -1);
            store.remove(id, ReplicaCause.REMOVED);
            if (discarded > 0) {
                LOG.log(Level.WARNING, "session " + SessionRecord.redact(id) + " is also owned by older member "
                        + other.describe() + "; handing it over at acknowledged version " + mineAcknowledged + ": "
                        + discarded + " write(s) acknowledged here since the split are discarded");
            } else {
                LOG.log(Level.INFO, "session " + SessionRecord.redact(id) + " is also owned by " + other.describe()
                        + " (its ownership began at version " + otherSince + "); handing it over: no write "
                        + "acknowledged here since is lost");
            }
            return discarded;
        }
    }

    /**
     * Hands the primary {@code id} to {@code to}, which asked for it: its current state (changes not yet replicated
     * included) becomes the replica here, {@code to} its owner, and this handle dies. Nothing happens while a request
     * uses it ({@link PrimarySession#beginAccess}).
     *
     * @return the record handed over, and whether it holds changes the holders do not have (made since the last
     *     replication, such as the access time a request's end records): they must get the record itself; null when
     *     this member does not own {@code id} or a request is using it (see {@code busy})
     */
    Released release(String id, MemberId to, boolean[] busy) {
        synchronized (lock) {
            PrimarySession ps = primaries.get(id);
            if (ps == null) {
                return null;
            }
            SessionRecord r;
            boolean ahead;
            synchronized (ps) {
                if (ps.inUse() || ps.isHandedOver()) {
                    busy[0] = ps.inUse();
                    return null;
                }
                SessionRecord replicated = ps.recorder().snapshot();
                ps.prepareDrain(config.mutationDetection(), config.accessInterval().toMillis());
                r = ps.recorder().current();
                if (r == null) {
                    return null; // invalidated: its end is on its way to the holders
                }
                r = ps.withSessionGroups(r); // objects shared between attributes stay shared on the new owner
                ps.handOver();
                primaries.remove(id, ps);
                ahead = replicated == null || replicated.version() != r.version();
            }
            since.remove(id);
            store.applyFull(r, true);
            owners.put(id, to);
            handedTo.put(id, to);
            granting.add(id);
            return new Released(r, ahead);
        }
    }

    /**
     * The hand-off of {@code id}, released here, to {@code to} ended: its new owner confirmed its adoption, or will not
     * (it failed or left). This member names {@code to} to take-over rounds for a while ({@link #lately}); null: the
     * grant was never sent.
     */
    void granted(String id, MemberId to) {
        if (to != null) {
            remember(id, to, -1);
        }
        granting.remove(id);
    }

    /**
     * What became of {@code id} (or of the id it was renamed to), owned here until lately: handed to a member, lost
     * to an older owner, or ended here; null when it was not owned here lately. A round's query takes no snapshot: it
     * may reach a new owner before its adoption and this member after it.
     */
    Gone lately(String id) {
        if (lately.isEmpty()) {
            return null;
        }
        long now = clock.nanoTime();
        Gone g = lately.get(id);
        if (g == null) {
            g = lately.get(currentId(id));
        }
        return g == null || g.untilNanos() - now <= 0 ? null : g;
    }

    private void remember(String id, MemberId to, long endedAt) {
        lately.put(id, new Gone(to, endedAt, clock.nanoTime() + keepNanos));
    }

    /**
     * What became of a session owned here lately: handed to {@code to}, or ended here at version {@code endedAt}
     * ({@code to} null; else -1); told until {@code untilNanos}.
     */
    record Gone(MemberId to, long endedAt, long untilNanos) {
    }

    /**
     * Whether {@code id}, or the id it was renamed to as far as this member saw, was released here and its new owner
     * has not confirmed its adoption yet.
     */
    boolean granting(String id) {
        return !granting.isEmpty() && (granting.contains(id) || granting.contains(currentId(id)));
    }

    /** How many sessions released here wait for their new owner to confirm its adoption. */
    int grantingCount() {
        return granting.size();
    }

    /** A session {@link #release}d: its record, and whether the holders lack some of it. */
    record Released(SessionRecord record, boolean ahead) {
    }

    /**
     * Makes the record {@code to} was handed by its owner a primary here ({@link #release} on the owner): the replica
     * leaves the store ({@link ReplicaCause#TAKEN_OVER}), {@code resume} builds the primary and {@code announce} runs
     * under its lock. {@code asked} is the id this member asked for: a former id of the record's (the owner renamed
     * the session, and this member missed it) is remembered as such, and a replica under it goes (the record is
     * newer). Returns the primary already owned here, if any.
     */
    PrimarySession adoptHandedOver(SessionRecord r, String asked, Function<SessionRecord, PrimarySession> resume,
            Consumer<PrimarySession> announce) {
        synchronized (lock) {
            PrimarySession ps = primaries.get(r.id());
            if (ps != null) {
                return ps;
            }
            if (asked != null && !asked.equals(r.id()) && !primaries.containsKey(asked)) {
                forget(asked, ReplicaCause.REMOVED);
                renamed(asked, r.id());
            }
            forget(r.id(), ReplicaCause.TAKEN_OVER);
            ps = resume.apply(r);
            synchronized (ps) {
                primaries.put(r.id(), ps);
                lately.remove(r.id());
                since.put(r.id(), r.version());
                announce.accept(ps);
            }
            return ps;
        }
    }

    /**
     * {@code from} says it handed {@code id} to {@code newOwner} at {@code version}: followed when {@code from} is the
     * owner known here (or none is known, or it left). A primary here (a second owner, after a split) is left to the
     * contest rule. Under a placement other than ALL, a copy placement names neither for {@code from} nor for {@code
     * newOwner} goes (left from an earlier owner); a holder of {@code from} that the new owner's placement does not
     * name keeps its copy, following the new owner, which drops it once its own holders have theirs: until then it
     * may be the only copy besides the former owner's, and the grant may never reach the new owner.
     *
     * {@code record}, when the owner sent it (it held changes not replicated before), replaces the replica. Under
     * ALL, a member holding neither a copy nor an owner (its state transfer under way) follows the new owner.
     *
     * @return whether the replica here is at another version than the one handed over (the caller asks for the copy)
     */
    boolean released(View view, Member from, String id, long version, MemberId newOwner, SessionRecord record) {
        synchronized (lock) {
            if (primaries.containsKey(id) || newOwner.equals(self)) {
                return false;
            }
            MemberId known = owners.get(id);
            if (known == null && store.get(id).isEmpty()) {
                if (config.placement() == Placement.ALL) {
                    // A member whose state transfer is under way: the transferred copy may name the former owner
                    // (encoded before its source heard this release) and must not outrank it (applyTransferred).
                    owners.put(id, newOwner);
                    if (record != null) {
                        store.applyFull(record);
                    }
                }
                return false; // neither a copy nor an owner here (placement other than ALL tells every member)
            }
            if (known != null && !known.equals(from.id()) && !known.equals(UNKNOWN_OWNER) && view.contains(known)) {
                return false;
            }
            boolean placed = placedFor(id, newOwner, view);
            if (!placed && !placedFor(id, from.id(), view)) {
                // A copy left from an earlier owner (placement other than ALL tells every member): not a holder of
                // the former owner, so none of its acknowledged writes count on this copy; it would only linger.
                forget(id, ReplicaCause.REMOVED);
                return false;
            }
            owners.put(id, newOwner);
            if (record != null) {
                store.applyFull(record);
            }
            if (!placed) {
                // A holder of the former owner that the new one's placement does not name keeps its copy, following
                // the new owner, until the new owner has placed its own copies and drops this one (Rebalancer.moved):
                // until then it may hold the only copy, besides the former owner's, of writes acknowledged before.
                return false;
            }
            return store.get(id).map(SessionRecord::version).orElse(-1L) != version;
        }
    }

    /** Whether placement names this member a holder of {@code id} owned by {@code owner} (always under ALL). */
    private boolean placedFor(String id, MemberId owner, View view) {
        if (config.placement() == Placement.ALL) {
            return true;
        }
        Optional<Member> o = view.find(owner);
        return o.isEmpty() || config.placement().holders(id, o.get(), view).stream().anyMatch(m -> m.id().equals(self));
    }

    // ------------------------------------------------------------------------------------------ replicas

    /**
     * A delta from {@code from}: applied when it comes from the owner (or the owner is gone or unknown); {@link
     * Verdict#EARLY} when it comes from the owner but waits for the version it starts from.
     */
    Verdict applyDelta(View view, Member from, SessionDelta delta) {
        String id = delta.sessionId();
        if (primaries.containsKey(id)) {
            return Verdict.CONTESTED;
        }
        MemberId known = owners.get(id);
        if (known == null || known.equals(UNKNOWN_OWNER) || !view.contains(known)) {
            owners.put(id, from.id());
        } else if (!known.equals(from.id())) {
            return Verdict.NOT_OWNER;
        }
        String current = id;
        for (SessionOp op : delta.ops()) {
            if (op instanceof SessionOp.ChangeId c) {
                owners.put(c.newId(), from.id());
                renamed(current, c.newId());
                current = c.newId();
            }
        }
        store.apply(delta);
        if (delta.expires()) {
            owners.remove(id);
            awaitingFull.remove(id);
            return Verdict.ACCEPTED;
        }
        // Held at its version under the id it ends with, or ended or renamed away at or after it (a tombstone).
        return store.holds(current, delta.version()) || !current.equals(id) && store.holds(id, delta.version())
                ? Verdict.ACCEPTED : Verdict.EARLY;
    }

    /**
     * A full copy asked of {@code from}; false when the session is owned here, or another live member owns it (an
     * answer from an owner that has handed the session over since: its line of writes may have been discarded).
     */
    boolean applyFull(View view, Member from, SessionRecord record) {
        String id = record.id();
        if (primaries.containsKey(id)) {
            return false;
        }
        MemberId known = owners.get(id);
        if (known == null || known.equals(UNKNOWN_OWNER)) {
            owners.put(id, from.id());
        } else if (view.contains(known) && !known.equals(from.id())) {
            return false; // still awaited from the owner: asked again after gapTimeout
        }
        // An owner out of the view keeps its place: the copy came from another holder (fullSource), which must not
        // become the owner, or the owner's deltas would be refused once it is back. A member that takes the session
        // over announces itself (OWNER), and a delta from a live sender is taken while the owner is away.
        awaitingFull.remove(id);
        store.applyFull(record);
        return true;
    }

    /**
     * A transferred copy: kept unless owned here or older than the replica. The owner it names is followed only when
     * none is known here: this member listened before it asked for the transfer, so an owner it learned since (a
     * release, a claim, a delta) is at least as recent as the source's, whose copy may have been encoded before the
     * source heard of a hand-off.
     */
    void applyTransferred(SessionRecord r, MemberId owner) {
        synchronized (lock) {
            if (primaries.containsKey(r.id())) {
                return; // owned here: the local copy is the truth
            }
            MemberId known = owners.get(r.id());
            if (store.applyFull(r, true) == ReplicaStore.Outcome.APPLIED
                    && (known == null || known.equals(UNKNOWN_OWNER))) {
                owners.put(r.id(), owner);
            }
        }
    }

    /**
     * {@code from} says it does not know {@code id}: the replica goes when {@code from} is its owner (or no owner is
     * known). Another member may simply never have held it (a full copy asked of it while the owner is away), or
     * hand it over since: only the owner knows that the session ended.
     */
    void gone(Member from, String id) {
        MemberId known = owners.get(id);
        if (known != null && !known.equals(UNKNOWN_OWNER) && !known.equals(from.id())) {
            return;
        }
        synchronized (lock) {
            if (!primaries.containsKey(id)) {
                forget(id, ReplicaCause.REMOVED);
            }
        }
    }

    /**
     * {@code from} claims {@code id} at {@code version}. A primary here is contested; an older live owner keeps it;
     * otherwise the claimant is the owner, and {@code refetch} asks for its copy when the replica is at another
     * version (a newer replica, from another line of writes, goes at once; an older one stays until replaced). With
     * {@code heal} (a digest entry), a replica that followed another owner is fetched again even at the same version.
     */
    Verdict claim(View view, Member from, String id, long version, boolean heal, Consumer<PrimarySession> contest,
            Runnable refetch) {
        synchronized (lock) {
            PrimarySession mine = primaries.get(id);
            if (mine != null) {
                contest.accept(mine);
                return Verdict.CONTESTED;
            }
            MemberId known = owners.get(id);
            if (known != null && !known.equals(from.id()) && view.contains(known) && older(view, known, from.id())) {
                return Verdict.NOT_OWNER; // the older live owner keeps it; it answers the claimant itself
            }
            owners.put(id, from.id());
            long have = store.get(id).map(SessionRecord::version).orElse(-1L);
            // At a heal, a copy that followed another owner may be another line of writes even at the same version
            // (both sides of a partition counted on from where they split): the claimant's copy replaces it.
            boolean otherLine = heal && known != null && !known.equals(from.id()) && have == version;
            if (have > version || otherLine) {
                store.remove(id, ReplicaCause.REMOVED); // another line of writes: the claimant's copy replaces it
            }
            if (have != version || otherLine) {
                refetch.run(); // an older copy stays until the newer one arrives (a take-over meanwhile uses it)
            }
            return Verdict.ACCEPTED;
        }
    }

    /**
     * {@code from} says it handed {@code id} over to another member (a contest at a heal): a replica that followed
     * {@code from} follows the new owner, drops a copy newer than {@code keepUpTo} (another line of writes), and
     * {@code refetch} asks the new owner for its copy (an older one stays until the newer arrives). Ignored when this
     * member owns the session or followed another owner.
     */
    void handedOver(Member from, String id, MemberId owner, long keepUpTo, Runnable refetch) {
        synchronized (lock) {
            if (primaries.containsKey(id) || !from.id().equals(owners.get(id))) {
                return;
            }
            owners.put(id, owner);
            if (store.get(id).map(SessionRecord::version).orElse(-1L) > keepUpTo) {
                store.remove(id, ReplicaCause.REMOVED);
            }
            refetch.run();
        }
    }

    /**
     * Replicas whose owner left {@code view} and that stayed idle for twice their max inactive interval at {@code
     * nowMillis} leave ({@link ReplicaCause#EXPIRED}); owners of sessions no longer held are forgotten, and so is
     * what became of sessions owned here once it is no longer told ({@link #lately}).
     *
     * @return the ids expired
     */
    List<String> expireReplicas(View view, long nowMillis) {
        List<String> expired = new ArrayList<>();
        for (String id : store.ids()) {
            MemberId owner = owners.get(id);
            if (owner != null && view.contains(owner)) {
                continue;
            }
            SessionRecord r = store.get(id).orElse(null);
            if (r == null) {
                continue;
            }
            int max = r.metadata().maxInactiveIntervalSeconds();
            if (max > 0 && nowMillis - r.metadata().lastAccessedTime() >= 2L * max * 1000L) {
                synchronized (lock) {
                    if (store.get(id).map(x -> x.version() == r.version()).orElse(false)) {
                        forget(id, ReplicaCause.EXPIRED);
                        expired.add(id);
                    }
                }
            }
        }
        owners.keySet().removeIf(id -> !primaries.containsKey(id) && store.get(id).isEmpty()
                && !awaitingFull.containsKey(id));
        long now = clock.nanoTime();
        lately.values().removeIf(g -> g.untilNanos() - now <= 0);
        return expired;
    }

    /** A replica, its owner and a pending full request go together (under the lock). */
    private void forget(String id, ReplicaCause cause) {
        store.remove(id, cause);
        owners.remove(id);
        awaitingFull.remove(id);
        handedTo.remove(id);
    }

    /** The sessions this member handed over and still holds, with the member it handed each to. */
    Map<String, MemberId> handedTo() {
        handedTo.keySet().removeIf(id -> primaries.containsKey(id) || store.get(id).isEmpty());
        return Map.copyOf(handedTo);
    }

    // ------------------------------------------------------------------------------------------ full copies

    /** Whom to ask for the full copy of {@code id}: its owner, or when unknown or gone the oldest other member. */
    Member fullSource(View view, String id) {
        MemberId owner = owners.get(id);
        Member target = owner == null ? null : view.find(owner).orElse(null);
        if (target == null) {
            List<Member> others = view.othersThan(self);
            return others.isEmpty() ? null : others.get(0);
        }
        return target;
    }

    void awaitingFull(String id, long nanos) {
        awaitingFull.put(id, nanos);
    }

    /** The ids whose full copy was asked for at least {@code timeoutNanos} before {@code nowNanos}. */
    List<String> overdueFull(long nowNanos, long timeoutNanos) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Long> e : awaitingFull.entrySet()) {
            if (nowNanos - e.getValue() >= timeoutNanos) {
                out.add(e.getKey());
            }
        }
        return out;
    }

    long replicaVersion(String id) {
        return store.get(id).map(SessionRecord::version).orElse(0L);
    }

    static boolean older(View view, MemberId a, MemberId b) {
        Optional<Member> ma = view.find(a);
        Optional<Member> mb = view.find(b);
        if (ma.isPresent() && mb.isPresent()) {
            return View.AGE_ORDER.compare(ma.get(), mb.get()) < 0;
        }
        return ma.isPresent(); // a member in the view beats one that is not
    }
}
