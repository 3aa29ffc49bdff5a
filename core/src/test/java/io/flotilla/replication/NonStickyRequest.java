package io.flotilla.replication;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * One request of a non-sticky model (HandoffTest, DrainTest): move the session to the member it reached, use it
 * ({@link PrimarySession#beginAccess}), write the counter {@code n} plus one, replicate, end. Advanced step by step by
 * the test, which books {@link #ackedValue} when {@link #done}.
 *
 * <p>Threading: the test's thread only.
 */
final class NonStickyRequest {
    final EngineHarness h;
    final int member;
    final String id;
    CompletableFuture<Optional<PrimarySession>> moving;
    CompletableFuture<Void> writing;
    PrimarySession session;
    int ackedValue = -1;
    int value;
    boolean done;

    NonStickyRequest(EngineHarness h, int member, String id) {
        this.h = h;
        this.member = member;
        this.id = id;
        this.moving = h.engine(member).moveHere(id).toCompletableFuture();
    }

    void advance() {
        if (writing != null) {
            if (writing.isDone()) {
                if (!writing.isCompletedExceptionally()) {
                    ackedValue = value;
                }
                session.endAccess();
                done = true;
            }
            return;
        }
        if (!moving.isDone()) {
            return;
        }
        if (moving.isCompletedExceptionally() || moving.join().isEmpty()) {
            done = true; // refused with a clear error: the request fails, nothing is acknowledged
            return;
        }
        session = moving.join().get();
        if (!session.beginAccess()) {
            moving = h.engine(member).moveHere(id).toCompletableFuture(); // moved away meanwhile: ask again
            return;
        }
        value = (Integer) session.getAttribute("n") + 1;
        session.setAttribute("n", value);
        writing = h.engine(member).replicate(id).toCompletableFuture();
    }
}
