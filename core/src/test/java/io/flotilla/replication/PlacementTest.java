package io.flotilla.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.View;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link Placement#successor}: the member a drain hands a session to, the same on every member. */
class PlacementTest {
    private static final long SEED = 19_001;

    private static List<Member> members(int n, Random rnd) {
        List<Member> all = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            all.add(new Member(MemberId.random(rnd), "m" + i, "127.0.0.1", 4000 + i, "", new byte[0], i));
        }
        return all;
    }

    /**
     * 16 members: a leaving member's sessions spread evenly over the other 15, and when another member leaves too,
     * only the sessions whose successor it was get another one (rendezvous hashing).
     */
    @Test
    void successorsSpreadEvenlyAndMoveOnlyWhenTheirSuccessorLeaves() {
        System.out.println("PlacementTest seed " + SEED);
        Random rnd = new Random(SEED);
        List<Member> all = members(16, rnd);
        Member leaving = all.get(0);
        View view = new View(1, all);
        int sessions = 15_000;
        Map<String, Member> before = new HashMap<>();
        Map<Member, Integer> per = new HashMap<>();
        for (int s = 0; s < sessions; s++) {
            String id = Long.toHexString(rnd.nextLong()) + Long.toHexString(rnd.nextLong());
            Member m = Placement.ALL.successor(id, leaving, view);
            assertTrue(!m.id().equals(leaving.id()), "never the leaving member itself");
            before.put(id, m);
            per.merge(m, 1, Integer::sum);
        }
        assertEquals(15, per.size(), "every other member is someone's successor");
        for (int count : per.values()) { // 1,000 each on average
            assertTrue(count > 800 && count < 1200, "even spread: " + per.values());
        }
        Member gone = all.get(5);
        List<Member> rest = new ArrayList<>(all);
        rest.remove(gone);
        View after = new View(2, rest);
        int moved = 0;
        for (Map.Entry<String, Member> e : before.entrySet()) {
            Member now = Placement.ALL.successor(e.getKey(), leaving, after);
            if (!now.id().equals(e.getValue().id())) {
                assertEquals(gone.id(), e.getValue().id(), "only the departed member's sessions move");
                moved++;
            }
        }
        assertEquals(per.get(gone), moved, "and all of those");
    }

    @Test
    void aMemberAloneHasNoSuccessor() {
        Member self = members(1, new Random(SEED)).get(0);
        assertNull(Placement.ALL.successor("A", self, new View(1, List.of(self))));
    }
}
