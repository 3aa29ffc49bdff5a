package io.flotilla.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.ConfigurationException;
import io.flotilla.Delivery;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Engines with different namespaces share one node (one per web application) and never see each other's sessions. */
class NamespaceTest {
    private static final String ID = "ABCDEF0123456789ABCDEF0123456789";

    @Test
    void enginesWithDifferentNamespacesOnOneNodeKeepTheirSessionsApart() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        List<ReplicationEngine> extra = new ArrayList<>();
        try (EngineHarness h = new EngineHarness(2, 7, EngineHarness.nodeConfig(100))) {
            ReplicationConfig.Builder base = ReplicationConfig.builder().stateTransferOnStart(false)
                    .delivery(Delivery.PROCESSED).meterRegistry(registry);
            ReplicationEngine shopA = h.start(0, base.namespace("/shop").build());
            ReplicationEngine shopB = h.start(1, base.namespace("/shop").build());
            ReplicationEngine adminA = start(h, 0, base.namespace("/admin").build(), extra);
            ReplicationEngine adminB = start(h, 1, base.namespace("/admin").build(), extra);
            ReplicationEngine plainB = start(h, 1, base.namespace("").build(), extra);

            shopA.create(ID, 1800).setAttribute("who", "shop");
            adminA.create(ID, 1800).setAttribute("who", "admin");
            CompletableFuture<Void> f1 = shopA.replicate(ID).toCompletableFuture();
            CompletableFuture<Void> f2 = adminA.replicate(ID).toCompletableFuture();
            assertTrue(h.runUntil(() -> f1.isDone() && f2.isDone(), 1000));
            f1.join();
            f2.join();

            assertEquals("shop", shopB.replica(ID).orElseThrow().attribute("who", shopB.codec(), loader()));
            assertEquals("admin", adminB.replica(ID).orElseThrow().attribute("who", adminB.codec(), loader()));
            assertTrue(plainB.replica(ID).isEmpty(), "the plain stream ignores namespaced messages");
            assertNotNull(registry.find("flotilla.replication.deltas.received").tag("namespace", "/admin").counter());
            assertEquals(1.0, registry.get("flotilla.replication.deltas.received").tag("namespace", "/shop")
                    .counter().count());
        } finally {
            extra.forEach(ReplicationEngine::close);
        }
    }

    /**
     * A member whose node runs only another web application (another namespace on the same topic) holds nothing of
     * this one: a take-over round must not wait its whole timeout for an answer that never comes, and fail.
     */
    @Test
    void aTakeOverDoesNotWaitForAMemberThatRunsOnlyAnotherNamespace() {
        List<ReplicationEngine> extra = new ArrayList<>();
        try (EngineHarness h = new EngineHarness(3, 11, EngineHarness.nodeConfig(100))) {
            ReplicationConfig.Builder base = ReplicationConfig.builder().stateTransferOnStart(false)
                    .delivery(Delivery.PROCESSED);
            ReplicationEngine owner = h.start(0, base.namespace("/shop").build());
            ReplicationEngine backup = h.start(1, base.namespace("/shop").build());
            start(h, 2, base.namespace("/admin").build(), extra);
            owner.create(ID, 1800).setAttribute("n", 7);
            CompletableFuture<Void> f = owner.replicate(ID).toCompletableFuture();
            assertTrue(h.runUntil(f::isDone, 1000));
            f.join();

            for (int j = 1; j < 3; j++) { // the owner crashes
                h.cluster.network().partition(h.cluster.member(0), h.cluster.member(j));
                h.cluster.membership(j).remove(h.cluster.member(0), false);
            }
            CompletableFuture<Optional<PrimarySession>> taken = backup.takeOver(ID).toCompletableFuture();
            // the round's timeout is the node's (5 s); the answers of a healthy cluster take a few milliseconds
            assertTrue(h.runUntil(taken::isDone, 1000), "the round ended without waiting for member 2's timeout");
            assertEquals(7, taken.join().orElseThrow().getAttribute("n"));
        } finally {
            extra.forEach(ReplicationEngine::close);
        }
    }

    @Test
    void aNamespaceLongerThan255BytesIsRefused() {
        ConfigurationException e = assertThrows(ConfigurationException.class,
                () -> ReplicationConfig.builder().namespace("x".repeat(256)).build());
        assertTrue(e.getMessage().contains("namespace"), e.getMessage());
    }

    private static ReplicationEngine start(EngineHarness h, int i, ReplicationConfig c, List<ReplicationEngine> out) {
        ReplicationEngine e = ReplicationEngine.builder(h.cluster.node(i)).config(c).clock(h.cluster.clock())
                .scheduler(h.cluster.clock()).start();
        out.add(e);
        return e;
    }

    private static ClassLoader loader() {
        return NamespaceTest.class.getClassLoader();
    }
}
