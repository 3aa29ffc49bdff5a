package io.flotilla.tomcat;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jakarta.servlet.AsyncContext;
import jakarta.servlet.http.HttpServletRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Async servlets: the session changes of an async request replicate when its async cycle completes (by {@code
 * complete()} or after a {@code dispatch()}), not when the container thread leaves the servlet; a failover then
 * shows them. The test thread plays the application's worker thread.
 */
class AsyncReplicationIT {
    private static final Duration WAIT = Duration.ofSeconds(20);

    /** Starts {@code /async} on a and waits until the container thread has left the valves. */
    private static AsyncContext startAsync(EmbeddedNode a, TestClient c, CompletableFuture<?>[] response)
            throws Exception {
        long asyncBefore = a.replicationValve().getAsyncRequestCount();
        response[0] = c.getAsync(a, "async");
        AsyncContext ac = a.pendingAsync.poll(20, TimeUnit.SECONDS);
        assertNotNull(ac, "the async servlet started");
        await("the container thread returned through the ReplicationValve", WAIT,
                () -> a.replicationValve().getAsyncRequestCount() == asyncBefore + 1);
        return ac;
    }

    @Test
    @Timeout(120)
    void changesOfAnAsyncRequestReplicateWhenItCompletesAndSurviveFailover() throws Exception {
        EmbeddedNode[] n = EmbeddedNode.pair("8");
        try (EmbeddedNode a = n[0]; EmbeddedNode b = n[1]) {
            TestClient c = new TestClient();
            long deltasBefore = a.manager().getDeltasSent();
            CompletableFuture<?>[] response = new CompletableFuture<?>[1];
            AsyncContext ac = startAsync(a, c, response);
            String id = ((HttpServletRequest) ac.getRequest()).getSession(false).getId();

            assertEquals(deltasBefore, a.manager().getDeltasSent(), "nothing replicated when the container thread left");
            assertTrue(b.manager().engine().replica(id).isEmpty(), "b knows nothing of the session yet");

            ((HttpServletRequest) ac.getRequest()).getSession(false).setAttribute("phase", "done");
            ac.getResponse().getWriter().print("completed " + id);
            ac.complete();
            HttpResponse<?> r = (HttpResponse<?>) response[0].get(20, TimeUnit.SECONDS);
            assertEquals("completed " + id, r.body());

            await("b has the value set by the worker", WAIT, () -> "done".equals(b.replicaValue(id, "phase")));
            assertEquals(deltasBefore + 1, a.manager().getDeltasSent(), "the whole async request was one delta");

            a.stop();
            await("b sees a leave", WAIT, () -> b.cluster.getMemberCount() == 1);
            String body = c.get(b, "session?get=phase").body();
            assertTrue(body.endsWith(".b done"), "b took the session over with the async request's value: " + body);
        }
    }

    @Test
    @Timeout(120)
    void changesOfADispatchedAsyncRequestReplicateBothTheWorkersAndTheDispatchTargets() throws Exception {
        EmbeddedNode[] n = EmbeddedNode.pair("8");
        try (EmbeddedNode a = n[0]; EmbeddedNode b = n[1]) {
            TestClient c = new TestClient();
            long deltasBefore = a.manager().getDeltasSent();
            CompletableFuture<?>[] response = new CompletableFuture<?>[1];
            AsyncContext ac = startAsync(a, c, response);
            String id = ((HttpServletRequest) ac.getRequest()).getSession(false).getId();
            assertEquals(deltasBefore, a.manager().getDeltasSent(), "nothing replicated when the container thread left");

            ((HttpServletRequest) ac.getRequest()).getSession(false).setAttribute("phase", "worked");
            ac.dispatch("/async-done");
            HttpResponse<?> r = (HttpResponse<?>) response[0].get(20, TimeUnit.SECONDS);
            assertEquals("done " + id, r.body());

            await("b has the worker's and the dispatch target's values", WAIT,
                    () -> "worked".equals(b.replicaValue(id, "phase")) && "yes".equals(b.replicaValue(id, "dispatched")));

            a.stop();
            await("b sees a leave", WAIT, () -> b.cluster.getMemberCount() == 1);
            assertTrue(c.get(b, "session?get=phase").body().endsWith(".b worked"));
            assertTrue(c.get(b, "session?get=dispatched").body().endsWith(".b yes"));
        }
    }
}
