package io.flotilla.membership;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * Runs loop commands on the calling thread, one at a time, as the real loop would: a command posted by a running
 * command runs after it, never inside it. With a {@link io.flotilla.testing.ManualClock} this makes the membership
 * engines fully deterministic.
 */
final class InlineLoop implements Executor {
    private final ArrayDeque<Runnable> queue = new ArrayDeque<>();
    private final List<RuntimeException> failures = new ArrayList<>();
    private boolean running;

    @Override
    public synchronized void execute(Runnable command) {
        queue.add(command);
        if (running) {
            return;
        }
        running = true;
        try {
            for (int i = 0; i < 100_000 && !queue.isEmpty(); i++) {
                try {
                    queue.poll().run();
                } catch (RuntimeException e) {
                    failures.add(e);
                }
            }
        } finally {
            running = false;
        }
    }

    synchronized List<RuntimeException> failures() {
        return List.copyOf(failures);
    }
}
