package io.flotilla.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TickBackoffTest {
    @Test
    void attemptsAreDueAtTheFirstTickThenTwiceAsFarApartUpToTheCap() {
        TickBackoff b = new TickBackoff();
        List<Integer> dueAt = new ArrayList<>();
        for (int tick = 1; tick <= 400; tick++) {
            if (b.due()) {
                dueAt.add(tick);
            }
        }
        assertEquals(List.of(1, 3, 7, 15, 31, 63, 127, 191, 255, 319, 383), dueAt);
        assertEquals(dueAt.size(), b.attempts());
    }
}
