package io.flotilla.replication;

import io.flotilla.ConfigurationException;
import io.flotilla.spi.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The replica side: holds the sessions other members own, as {@link SessionRecord}s, and applies their deltas
 * strictly in version order. A delta is applied only to the version it is based on; an older one is dropped as a
 * duplicate; an early one waits in a bounded per-session buffer until the gap before it is filled. A gap that
 * cannot be filled (buffer full, or open longer than the gap timeout, see {@link #checkGaps()}) is reported through
 * {@link FullSessionRequester}; a full session replaces the replica when it is newer. Nothing is dropped silently:
 * every drop is counted by {@link DropReason}.
 *
 * <p>An expired or renamed session leaves a bounded tombstone, so its late deltas are recognised and dropped.
 *
 * <p>Each change of a replica (created, updated, renamed, ended, removed) is queued on the engine's {@link
 * ReplicaEvents} under the lock, so a {@link ReplicaListener} hears them in apply order.
 *
 * <p>Threading: safe from any thread. One lock orders all updates, so updates of one session never overtake each
 * other; the requester is called after the lock is released, on the thread that found the gap.
 */
final class ReplicaStore {
    private static final System.Logger LOG = System.getLogger(ReplicaStore.class.getName());

    /** Told when a session needs a full copy from its owner. */
    @FunctionalInterface
    public interface FullSessionRequester {
        /**
         * @param sessionId the session
         * @param haveVersion the version this replica holds (0 for none)
         */
        void fullSessionNeeded(String sessionId, long haveVersion);
    }

    /** What became of an update. */
    public enum Outcome {
        /** Applied (with any buffered deltas it unblocked). */
        APPLIED,
        /** Early: buffered until the gap before it is filled. */
        BUFFERED,
        /** Not applied; counted under a {@link DropReason}. */
        DROPPED
    }

    /** Why an update was not applied. */
    public enum DropReason {
        /** The replica already holds this version or a newer one. */
        DUPLICATE,
        /** A full session not newer than the replica. */
        STALE_FULL,
        /** An early delta found the session's buffer (or the store's) full; a full session was requested. */
        BUFFER_FULL,
        /** A delta that starts before the replica's version but ends after it; a full session was requested. */
        OVERLAP,
        /** A delta or full session of a session that expired or was renamed here. */
        GONE,
        /** A buffered delta, or a late rename, made obsolete by a newer full session. */
        SUPERSEDED
    }

    private final int maxBufferedPerSession;
    private final int maxBufferedTotal;
    private final int maxTombstones;
    private final long gapTimeoutNanos;
    private final Clock clock;
    private final FullSessionRequester requester;
    private final ReplicaEvents events;

    private final Object lock = new Object();
    private final Map<String, SessionRecord> sessions = new HashMap<>();
    private final Map<String, Gap> gaps = new HashMap<>();
    private final Map<String, Long> tombstones;
    private int bufferedTotal;
    private final Map<DropReason, AtomicLong> drops = new EnumMap<>(DropReason.class);

    private static final class Gap {
        final TreeMap<Long, SessionDelta> byBase = new TreeMap<>();
        long sinceNanos;
        long requestedNanos;
        boolean requested;
    }

    /**
     * @param maxBufferedPerSession early deltas kept per session (1-1024)
     * @param maxBufferedTotal early deltas kept in all (at least {@code maxBufferedPerSession})
     * @param maxTombstones expired or renamed ids remembered (0-10,000,000)
     * @param gapTimeout how long a gap may stay open before a full session is requested
     * @param clock the monotonic time the gap timeout is read from
     * @param requester told when a full session is needed
     */
    ReplicaStore(int maxBufferedPerSession, int maxBufferedTotal, int maxTombstones, Duration gapTimeout,
            Clock clock, FullSessionRequester requester) {
        this(maxBufferedPerSession, maxBufferedTotal, maxTombstones, gapTimeout, clock, requester,
                new ReplicaEvents(null, null, null, () -> { }));
    }

    /** As above, queueing every change of a replica on {@code events} (under this store's lock, in apply order). */
    ReplicaStore(int maxBufferedPerSession, int maxBufferedTotal, int maxTombstones, Duration gapTimeout,
            Clock clock, FullSessionRequester requester, ReplicaEvents events) {
        if (maxBufferedPerSession < 1 || maxBufferedPerSession > 1024) {
            throw ConfigurationException.invalid("maxBufferedPerSession", maxBufferedPerSession, "1-1024");
        }
        if (maxBufferedTotal < maxBufferedPerSession) {
            throw ConfigurationException.invalid("maxBufferedTotal", maxBufferedTotal,
                    "at least maxBufferedPerSession (" + maxBufferedPerSession + ")");
        }
        if (maxTombstones < 0 || maxTombstones > 10_000_000) {
            throw ConfigurationException.invalid("maxTombstones", maxTombstones, "0-10000000");
        }
        if (gapTimeout == null || gapTimeout.isNegative() || gapTimeout.isZero()) {
            throw ConfigurationException.invalid("gapTimeout", gapTimeout, "a positive duration");
        }
        this.maxBufferedPerSession = maxBufferedPerSession;
        this.maxBufferedTotal = maxBufferedTotal;
        this.maxTombstones = maxTombstones;
        this.gapTimeoutNanos = gapTimeout.toNanos();
        this.clock = Objects.requireNonNull(clock, "clock");
        this.requester = Objects.requireNonNull(requester, "requester");
        this.events = events;
        this.tombstones = new LinkedHashMap<>(16, 0.75f, false) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
                return size() > ReplicaStore.this.maxTombstones;
            }
        };
        for (DropReason r : DropReason.values()) {
            drops.put(r, new AtomicLong());
        }
    }

    /** Applies, buffers or drops {@code delta}. */
    public Outcome apply(SessionDelta delta) {
        List<Request> requests = new ArrayList<>(1);
        Outcome outcome;
        synchronized (lock) {
            outcome = applyLocked(delta, requests);
        }
        tell(requests);
        return outcome;
    }

    /** Replaces the replica with {@code record} when it is newer, then applies the buffered deltas that follow. */
    public Outcome applyFull(SessionRecord record) {
        return applyFull(record, false);
    }

    /** As {@link #applyFull(SessionRecord)}; {@code transferred}: it came by state transfer (told as such). */
    Outcome applyFull(SessionRecord record, boolean transferred) {
        List<Request> requests = new ArrayList<>(1);
        synchronized (lock) {
            String id = record.id();
            SessionRecord current = sessions.get(id);
            Long tomb = tombstones.get(id);
            if (current == null && tomb != null && record.version() <= tomb) {
                return drop(DropReason.GONE);
            }
            if (current != null && record.version() <= current.version()) {
                return drop(DropReason.STALE_FULL);
            }
            tombstones.remove(id);
            sessions.put(id, record);
            if (events.enabled()) {
                events.add(transferred ? ReplicaCause.TRANSFERRED : current == null ? ReplicaCause.CREATED
                        : ReplicaCause.UPDATED, id, null, current, record, differing(current, record));
            }
            Gap gap = gaps.get(id);
            if (gap != null) {
                Iterator<SessionDelta> it = gap.byBase.values().iterator();
                while (it.hasNext()) {
                    SessionDelta d = it.next();
                    if (d.version() <= record.version()) {
                        it.remove();
                        bufferedTotal--;
                        drop(DropReason.SUPERSEDED);
                    }
                }
                gap.requested = false;
            }
            drainBuffered(id, requests);
        }
        tell(requests);
        return Outcome.APPLIED;
    }

    /**
     * Requests a full session for every gap open longer than the gap timeout (again after another timeout if the
     * first request did not close it). Call it from the engine's timer.
     */
    public void checkGaps() {
        List<Request> requests = new ArrayList<>();
        synchronized (lock) {
            long now = clock.nanoTime();
            for (Map.Entry<String, Gap> e : gaps.entrySet()) {
                Gap g = e.getValue();
                long since = g.requested ? g.requestedNanos : g.sinceNanos;
                if (now - since >= gapTimeoutNanos) {
                    g.requested = true;
                    g.requestedNanos = now;
                    requests.add(new Request(e.getKey(), versionOf(e.getKey())));
                }
            }
        }
        tell(requests);
    }

    /** The replica of {@code id}, if held. */
    public Optional<SessionRecord> get(String id) {
        synchronized (lock) {
            return Optional.ofNullable(sessions.get(id));
        }
    }

    /**
     * Whether this store holds {@code id} at {@code version} or later, or saw it end or be renamed at or after it
     * (its tombstone): an update of {@code id} up to {@code version} is in it, not waiting for a gap to fill.
     */
    boolean holds(String id, long version) {
        synchronized (lock) {
            SessionRecord r = sessions.get(id);
            if (r != null) {
                return r.version() >= version;
            }
            Long ended = tombstones.get(id);
            return ended != null && ended >= version;
        }
    }

    /** The ids held. */
    public Set<String> ids() {
        synchronized (lock) {
            return Set.copyOf(sessions.keySet());
        }
    }

    /** Removes a session without a tombstone (the engine decided it is gone, e.g. its owner left long ago). */
    public void remove(String id) {
        remove(id, ReplicaCause.REMOVED);
    }

    /** As {@link #remove(String)}, told to the listener with {@code cause} when a replica was held. */
    void remove(String id, ReplicaCause cause) {
        synchronized (lock) {
            SessionRecord was = sessions.remove(id);
            if (was != null) {
                events.add(cause, id, null, was, null, Set.of());
            }
            Gap g = gaps.remove(id);
            if (g != null) {
                bufferedTotal -= g.byBase.size();
            }
        }
    }

    /** How many updates were dropped for {@code reason}. */
    public long dropped(DropReason reason) {
        return drops.get(reason).get();
    }

    /** Early deltas waiting in all. */
    public int buffered() {
        synchronized (lock) {
            return bufferedTotal;
        }
    }

    private Outcome applyLocked(SessionDelta delta, List<Request> requests) {
        String id = delta.sessionId();
        SessionRecord current = sessions.get(id);
        if (current == null && tombstones.containsKey(id) && delta.version() <= tombstones.get(id)) {
            return drop(DropReason.GONE);
        }
        long have = current == null ? 0 : current.version();
        if (delta.version() <= have) {
            return drop(DropReason.DUPLICATE);
        }
        if (delta.baseVersion() == have) {
            applyNow(current, delta, requests);
            return Outcome.APPLIED;
        }
        if (delta.baseVersion() < have) {
            requests.add(new Request(id, have));
            return drop(DropReason.OVERLAP);
        }
        Gap gap = gaps.get(id);
        if (gap != null && gap.byBase.containsKey(delta.baseVersion())) {
            return drop(DropReason.DUPLICATE);
        }
        if ((gap != null && gap.byBase.size() >= maxBufferedPerSession) || bufferedTotal >= maxBufferedTotal) {
            if (gap == null || !gap.requested) {
                requests.add(new Request(id, have));
                if (gap != null) {
                    gap.requested = true;
                    gap.requestedNanos = clock.nanoTime();
                }
            }
            return drop(DropReason.BUFFER_FULL);
        }
        if (gap == null) {
            gap = new Gap();
            gap.sinceNanos = clock.nanoTime();
            gaps.put(id, gap);
        }
        gap.byBase.put(delta.baseVersion(), delta);
        bufferedTotal++;
        return Outcome.BUFFERED;
    }

    private void applyNow(SessionRecord current, SessionDelta delta, List<Request> requests) {
        String id = delta.sessionId();
        SessionState state = SessionState.of(id, current);
        try {
            state.apply(delta.ops());
        } catch (IllegalStateException e) {
            // A delta without Create on a session this replica never had: only a full copy can help.
            requests.add(new Request(id, 0));
            drop(DropReason.OVERLAP);
            return;
        }
        if (state.expired) {
            sessions.remove(id);
            tombstone(id, delta.version());
            discardGap(id);
            if (current != null) {
                events.add(ReplicaCause.ENDED, id, null, current, null, Set.of());
            }
            return;
        }
        SessionRecord next = state.toRecord(delta.version());
        if (!state.id.equals(id)) {
            sessions.remove(id);
            tombstone(id, delta.version());
            discardGap(id);
            SessionRecord already = sessions.get(state.id);
            if (already != null && already.version() >= next.version()) {
                // The new id arrived first as a newer full session: the rename is already part of it.
                drop(DropReason.SUPERSEDED);
                if (current != null) {
                    events.add(ReplicaCause.REMOVED, id, null, current, null, Set.of());
                }
                return;
            }
            sessions.put(state.id, next);
            tombstones.remove(state.id);
            told(current, next, delta, id);
            drainBuffered(state.id, requests);
            return;
        }
        sessions.put(id, next);
        told(current, next, delta, null);
        drainBuffered(id, requests);
    }

    /** Queues the change {@code delta} made: the attributes it set to other bytes or removed. */
    private void told(SessionRecord before, SessionRecord after, SessionDelta delta, String previousId) {
        if (!events.enabled()) {
            return;
        }
        Set<String> names = new LinkedHashSet<>();
        for (SessionOp op : delta.ops()) {
            if (op instanceof SessionOp.SetAttribute a && (before == null || !Arrays.equals(
                    before.attributesUnsafe().get(a.name()), after.attributesUnsafe().get(a.name())))) {
                names.add(a.name());
            } else if (op instanceof SessionOp.RemoveAttribute r && before != null
                    && before.attributesUnsafe().containsKey(r.name())) {
                names.add(r.name());
            }
        }
        events.add(before == null ? ReplicaCause.CREATED : ReplicaCause.UPDATED, after.id(), previousId, before, after,
                names);
    }

    /** The attributes whose bytes differ between two copies of a session (every one of {@code b} when a is null). */
    private static Set<String> differing(SessionRecord a, SessionRecord b) {
        Set<String> names = new LinkedHashSet<>();
        for (Map.Entry<String, byte[]> e : b.attributesUnsafe().entrySet()) {
            if (a == null || !Arrays.equals(a.attributesUnsafe().get(e.getKey()), e.getValue())) {
                names.add(e.getKey());
            }
        }
        if (a != null) {
            for (String name : a.attributeNames()) {
                if (!b.attributesUnsafe().containsKey(name)) {
                    names.add(name);
                }
            }
        }
        return names;
    }

    private void drainBuffered(String id, List<Request> requests) {
        Gap gap = gaps.get(id);
        if (gap == null) {
            return;
        }
        SessionRecord current = sessions.get(id);
        long have = current == null ? 0 : current.version();
        while (!gap.byBase.isEmpty() && gap.byBase.firstKey() < have) {
            SessionDelta old = gap.byBase.pollFirstEntry().getValue();
            bufferedTotal--;
            drop(old.version() <= have ? DropReason.DUPLICATE : DropReason.OVERLAP);
        }
        SessionDelta next = gap.byBase.remove(have);
        if (next != null) {
            bufferedTotal--;
        }
        if (gap.byBase.isEmpty()) {
            gaps.remove(id);
        } else {
            gap.sinceNanos = clock.nanoTime();
        }
        if (next != null) {
            applyNow(current, next, requests); // recursion depth bounded by maxBufferedPerSession
        }
    }

    private void discardGap(String id) {
        Gap g = gaps.remove(id);
        if (g != null) {
            for (int i = 0; i < g.byBase.size(); i++) {
                drop(DropReason.GONE);
            }
            bufferedTotal -= g.byBase.size();
        }
    }

    private void tombstone(String id, long version) {
        if (maxTombstones > 0) {
            tombstones.put(id, version);
        }
    }

    private long versionOf(String id) {
        SessionRecord r = sessions.get(id);
        return r == null ? 0 : r.version();
    }

    private Outcome drop(DropReason reason) {
        drops.get(reason).incrementAndGet();
        return Outcome.DROPPED;
    }

    private record Request(String id, long have) {
    }

    private void tell(List<Request> requests) {
        for (Request r : requests) {
            try {
                requester.fullSessionNeeded(r.id(), r.have());
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "full-session requester failed for session "
                        + SessionRecord.redact(r.id()) + "; the next gap check asks again", e);
            }
        }
    }
}
