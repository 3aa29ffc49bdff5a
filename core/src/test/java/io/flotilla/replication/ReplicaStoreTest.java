package io.flotilla.replication;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.replication.ReplicaStore.DropReason;
import io.flotilla.replication.ReplicaStore.Outcome;
import io.flotilla.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ReplicaStoreTest {
    private static final SessionMetadata META = SessionMetadata.created(1_700_000_000_000L, 1800);
    private final ManualClock clock = new ManualClock();
    private final List<String> requests = new ArrayList<>();
    private final ReplicaStore store = new ReplicaStore(4, 100, 1000, Duration.ofSeconds(2), clock,
            (id, have) -> requests.add(id + "@" + have));

    /** Deltas d[0..n) of one session: create, then one attribute set each. */
    private static List<SessionDelta> deltas(SessionRecorder r, int n) {
        List<SessionDelta> out = new ArrayList<>();
        out.add(r.drain().orElseThrow());
        for (int i = 1; i < n; i++) {
            r.setAttribute("a" + i, new byte[] {(byte) i});
            out.add(r.drain().orElseThrow());
        }
        return out;
    }

    @Test
    void aChangeOfTheMetadataAloneSharesTheAttributesAndALaterSetLeavesEarlierRecordsAlone() {
        SessionRecorder r = SessionRecorder.create("s1", META);
        r.setAttribute("a", new byte[] {1});
        r.setAttribute("b", new byte[] {2});
        r.drain();
        SessionRecord first = r.snapshot();
        r.access(META.lastAccessedTime() + 5, false);
        SessionRecord current = r.current(); // the access not drained yet
        r.drain();
        SessionRecord accessed = r.snapshot();
        assertSame(first.attributesUnsafe(), current.attributesUnsafe(), "the access alone: nothing copied");
        assertSame(first.attributesUnsafe(), accessed.attributesUnsafe());
        assertEquals(META.lastAccessedTime() + 5, accessed.metadata().lastAccessedTime());

        r.setAttribute("a", new byte[] {3});
        r.removeAttribute("b");
        r.drain();
        SessionRecord changed = r.snapshot();
        assertArrayEquals(new byte[] {3}, changed.attributeBytes("a"));
        assertEquals(Set.of("a"), changed.attributeNames());
        for (SessionRecord earlier : List.of(first, current, accessed)) {
            assertArrayEquals(new byte[] {1}, earlier.attributeBytes("a"), earlier.toString());
            assertArrayEquals(new byte[] {2}, earlier.attributeBytes("b"), earlier.toString());
        }

        // a replica's store: an access-only delta shares as well, a set copies
        store.applyFull(changed);
        r.access(META.lastAccessedTime() + 9, false);
        store.apply(r.drain().orElseThrow());
        assertSame(changed.attributesUnsafe(), store.get("s1").orElseThrow().attributesUnsafe());
        r.setAttribute("c", new byte[] {4});
        store.apply(r.drain().orElseThrow());
        assertEquals(Set.of("a", "c"), store.get("s1").orElseThrow().attributeNames());
        assertEquals(Set.of("a"), changed.attributeNames());
    }

    @Test
    void aGapFilledTellsEachBufferedDeltaAsItsOwnChangeInVersionOrder() {
        List<ReplicaChange> heard = new ArrayList<>();
        ReplicaEvents events = new ReplicaEvents(heard::add, new AttributeCodec(CodecConfig.defaults()),
                getClass().getClassLoader(), () -> { });
        ReplicaStore told = new ReplicaStore(4, 100, 1000, Duration.ofSeconds(2), clock, (id, have) -> { }, events);
        SessionRecorder r = SessionRecorder.create("S", META);
        List<SessionDelta> d = deltas(r, 4);
        told.apply(d.get(2));
        told.apply(d.get(3));
        told.apply(d.get(1));
        events.deliver();
        assertTrue(heard.isEmpty(), "nothing applied yet");
        told.apply(d.get(0));
        events.deliver();
        assertEquals(List.of("CREATED 1 []", "UPDATED 2 [a1]", "UPDATED 3 [a2]", "UPDATED 4 [a3]"),
                heard.stream().map(c -> c.cause() + " " + c.after().version() + " " + c.changedNames()).toList());
        told.remove("S");
        events.deliver();
        assertEquals(ReplicaCause.REMOVED, heard.get(4).cause());
        assertEquals(4, heard.get(4).before().version());
    }

    @Test
    void appliesInOrder() {
        SessionRecorder r = SessionRecorder.create("S", META);
        for (SessionDelta d : deltas(r, 5)) {
            assertEquals(Outcome.APPLIED, store.apply(d));
        }
        assertEquals(r.snapshot(), store.get("S").orElseThrow());
    }

    @Test
    void dropsDuplicatesAndCountsThem() {
        SessionRecorder r = SessionRecorder.create("S", META);
        List<SessionDelta> d = deltas(r, 3);
        d.forEach(store::apply);
        assertEquals(Outcome.DROPPED, store.apply(d.get(1)));
        assertEquals(Outcome.DROPPED, store.apply(d.get(2)));
        assertEquals(2, store.dropped(DropReason.DUPLICATE));
        assertEquals(r.snapshot(), store.get("S").orElseThrow());
    }

    @Test
    void bufferedEarlyDeltasApplyWhenTheGapFills() {
        SessionRecorder r = SessionRecorder.create("S", META);
        List<SessionDelta> d = deltas(r, 4);
        assertEquals(Outcome.BUFFERED, store.apply(d.get(3)));
        assertEquals(Outcome.BUFFERED, store.apply(d.get(1)), "even before the create: never dropped silently");
        assertEquals(Outcome.BUFFERED, store.apply(d.get(2)));
        assertTrue(store.get("S").isEmpty());
        assertEquals(Outcome.APPLIED, store.apply(d.get(0)));
        assertEquals(r.snapshot(), store.get("S").orElseThrow());
        assertEquals(0, store.buffered());
        assertTrue(requests.isEmpty());
    }

    @Test
    void aGapThatStaysOpenAsksForTheFullSessionAfterTheTimeout() {
        SessionRecorder r = SessionRecorder.create("S", META);
        List<SessionDelta> d = deltas(r, 4);
        store.apply(d.get(0));
        store.apply(d.get(2)); // d1 lost
        store.checkGaps();
        assertTrue(requests.isEmpty(), "not before the timeout");
        clock.advance(Duration.ofSeconds(2));
        store.checkGaps();
        assertEquals(List.of("S@" + d.get(0).version()), requests);
        store.checkGaps();
        assertEquals(1, requests.size(), "not again until another timeout passed");
        // The full session arrives; buffered d2 is superseded, later d3 applies on top.
        assertEquals(Outcome.APPLIED, store.applyFull(r.snapshot()));
        assertEquals(1, store.dropped(DropReason.SUPERSEDED));
        assertEquals(Outcome.DROPPED, store.apply(d.get(3)));
        assertEquals(r.snapshot(), store.get("S").orElseThrow());
    }

    @Test
    void aFullBufferAsksForTheFullSessionAtOnce() {
        SessionRecorder r = SessionRecorder.create("S", META);
        List<SessionDelta> d = deltas(r, 8);
        store.apply(d.get(0));
        for (int i = 2; i < 6; i++) {
            assertEquals(Outcome.BUFFERED, store.apply(d.get(i)));
        }
        assertEquals(Outcome.DROPPED, store.apply(d.get(6)));
        assertEquals(1, store.dropped(DropReason.BUFFER_FULL));
        assertEquals(List.of("S@" + d.get(0).version()), requests);
        store.applyFull(r.snapshot());
        assertEquals(r.snapshot(), store.get("S").orElseThrow());
        assertEquals(0, store.buffered());
    }

    @Test
    void aFullSessionReplacesOnlyWhenNewer() {
        SessionRecorder r = SessionRecorder.create("S", META);
        List<SessionDelta> d = deltas(r, 3);
        d.forEach(store::apply);
        SessionRecord current = store.get("S").orElseThrow();
        SessionRecord older = new SessionRecord("S", current.version() - 1, META, Map.of());
        assertEquals(Outcome.DROPPED, store.applyFull(older));
        assertEquals(Outcome.DROPPED, store.applyFull(current));
        assertEquals(2, store.dropped(DropReason.STALE_FULL));
        SessionRecord newer = new SessionRecord("S", current.version() + 5, META, Map.of("z", new byte[] {9}));
        assertEquals(Outcome.APPLIED, store.applyFull(newer));
        assertEquals(newer, store.get("S").orElseThrow());
    }

    @Test
    void expiryAndIdChangeLeaveTombstonesThatCatchLateDeltas() {
        SessionRecorder r = SessionRecorder.create("S", META);
        List<SessionDelta> d = deltas(r, 2);
        d.forEach(store::apply);
        r.changeId("T");
        SessionDelta rename = r.drain().orElseThrow();
        r.setAttribute("after", new byte[] {1});
        SessionDelta afterRename = r.drain().orElseThrow();
        assertEquals(Outcome.BUFFERED, store.apply(afterRename), "overtook the rename: waits under the new id");
        assertEquals(Outcome.APPLIED, store.apply(rename));
        assertTrue(store.get("S").isEmpty());
        assertEquals(r.snapshot(), store.get("T").orElseThrow());
        assertEquals(Outcome.DROPPED, store.apply(d.get(1)));
        assertEquals(1, store.dropped(DropReason.GONE));
        r.expire();
        store.apply(r.drain().orElseThrow());
        assertTrue(store.ids().isEmpty());
        assertEquals(Outcome.DROPPED, store.apply(afterRename));
        assertEquals(2, store.dropped(DropReason.GONE));
    }
}
