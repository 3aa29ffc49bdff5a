package io.flotilla.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.replication.ReplicationConfig.MutationDetection;
import io.flotilla.replication.fixtures.Cart;
import io.flotilla.replication.fixtures.Item;
import io.flotilla.replication.fixtures.WriteCounter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/**
 * Issue 11, items 2 and 3: the state at the end of the request is what replicates (one encode per changed attribute
 * per replication), a value that cannot be encoded then fails the replication loudly, and a value a take-over cannot
 * decode is never turned into a missing attribute.
 */
class SessionFidelityTest {
    private static final String ID = "0123456789ABCDEF0123456789ABCDEF";

    private static ReplicationConfig.Builder config() {
        return ReplicationConfig.builder().stateTransferOnStart(false);
    }

    private static Object value(EngineHarness h, int node, String name) {
        return h.engine(node).replica(ID).map(r -> r.attribute(name, h.engine(node).codec(),
                SessionFidelityTest.class.getClassLoader())).orElse(null);
    }

    @Test
    void aChangeMadeAfterSetAttributeWithinTheRequestIsReplicatedInEveryMode() {
        for (MutationDetection mode : MutationDetection.values()) {
            try (EngineHarness h = new EngineHarness(2, 21, EngineHarness.nodeConfig(100))) {
                ReplicationEngine owner = h.start(0, config().mutationDetection(mode).build());
                h.start(1, config().build());
                PrimarySession s = owner.create(ID, 1800);
                List<String> cart = new ArrayList<>(); // jsp:useBean: create, setAttribute, then jsp:setProperty
                s.setAttribute("cart", cart);
                cart.add("video");
                owner.replicate(ID);
                assertTrue(h.runUntil(() -> List.of("video").equals(value(h, 1, "cart")), 1000),
                        mode + ": the value as the request left it: " + value(h, 1, "cart"));
            }
        }
    }

    @Test
    void eachChangedAttributeIsEncodedOncePerReplication() {
        for (MutationDetection mode : MutationDetection.values()) {
            try (EngineHarness h = new EngineHarness(2, 22, EngineHarness.nodeConfig(100))) {
                ReplicationEngine owner = h.start(0, config().mutationDetection(mode)
                        .codec(CodecConfig.builder().allow(WriteCounter.class.getName())
                                .javaSerialization(WriteCounter.class.getName()).build()).build());
                h.start(1, config().codec(CodecConfig.builder().allow(WriteCounter.class.getName())
                        .javaSerialization(WriteCounter.class.getName()).build()).build());
                PrimarySession s = owner.create(ID, 1800);
                WriteCounter v = new WriteCounter("a");
                s.setAttribute("v", v);
                s.setAttribute("v", v); // set twice in one request: still one encode
                assertEquals(0, v.writes(), mode + ": setAttribute checks the class only");
                owner.replicate(ID);
                assertEquals(1, v.writes(), mode + ": one encode serves the delta and the mutation hash");
                assertTrue(h.runUntil(() -> value(h, 1, "v") instanceof WriteCounter w && w.text.equals("a"), 1000));
                owner.replicate(ID);
                assertEquals(mode == MutationDetection.OFF ? 1 : 2, v.writes(),
                        mode + ": only mutation detection looks at an unchanged value again");
            }
        }
    }

    @Test
    void aValueThatCannotBeEncodedAtTheEndOfTheRequestFailsEveryReplicationUntilReplaced() throws Exception {
        try (EngineHarness h = new EngineHarness(2, 23, EngineHarness.nodeConfig(100))) {
            SimpleMeterRegistry reg = new SimpleMeterRegistry();
            ReplicationEngine owner = h.start(0, config().meterRegistry(reg).build());
            h.start(1, config().build());
            PrimarySession s = owner.create(ID, 1800);
            List<Object> list = new ArrayList<>(List.of("ok"));
            s.setAttribute("list", list);
            owner.replicate(ID);
            assertTrue(h.runUntil(() -> List.of("ok").equals(value(h, 1, "list")), 1000));

            list.add(new Object()); // accepted at setAttribute (ArrayList is allowed); refused when encoded
            s.setAttribute("list", list);
            s.setAttribute("other", "fine");
            CompletableFuture<Void> f = owner.replicate(ID).toCompletableFuture();
            assertTrue(f.isCompletedExceptionally(), "ASYNC too: the failure is known when the delta is made");
            ExecutionException ex = assertThrows(ExecutionException.class, f::get);
            AttributeCodecException cause = (AttributeCodecException) ex.getCause();
            assertEquals("list", cause.attributeName());
            assertTrue(cause.getMessage().contains("java.lang.Object"), cause.getMessage());
            assertTrue(h.runUntil(() -> "fine".equals(value(h, 1, "other")), 1000), "the rest of the delta went");
            assertEquals(null, value(h, 1, "list"), "the replica dropped its older value");
            assertSame(list, s.getAttribute("list"), "the primary keeps the value");
            assertEquals(1.0, reg.counter("flotilla.replication.attributes.unencodable").count());

            assertTrue(owner.replicate(ID).toCompletableFuture().isCompletedExceptionally(),
                    "the next request fails too while the value cannot be replicated");
            assertEquals(2.0, reg.counter("flotilla.replication.attributes.unencodable").count());

            list.remove(1); // the application fixed the value in place
            assertFalse(owner.replicate(ID).toCompletableFuture().isCompletedExceptionally());
            assertTrue(h.runUntil(() -> List.of("ok").equals(value(h, 1, "list")), 1000), "retried and replicated");
        }
    }

    @Test
    void aValueATakeOverCannotDecodeFailsLoudlyCountsOnceAndKeepsItsBytes() {
        String cartClass = Cart.class.getName() + "," + Item.class.getName();
        try (EngineHarness h = new EngineHarness(3, 24, EngineHarness.nodeConfig(100))) {
            SimpleMeterRegistry reg = new SimpleMeterRegistry();
            h.start(0, config().codec(CodecConfig.builder().allow(cartClass.split(",")).build()).build());
            ReplicationEngine narrow = h.start(1, config().meterRegistry(reg).build()); // does not admit Cart
            h.start(2, config().codec(CodecConfig.builder().allow(cartClass.split(",")).build()).build());
            Cart cart = new Cart("alice", BigDecimal.TEN);
            PrimarySession s = h.engine(0).create(ID, 1800);
            s.setAttribute("cart", cart);
            s.setAttribute("n", 1);
            h.engine(0).replicate(ID);
            assertTrue(h.runUntil(() -> h.engine(1).replica(ID).isPresent() && h.engine(2).replica(ID).isPresent(),
                    1000));
            for (int i = 1; i < 3; i++) {
                h.cluster.membership(i).remove(h.cluster.member(0), false);
                h.cluster.network().partition(h.cluster.member(0), h.cluster.member(i));
            }

            PrimarySession taken = h.takeOver(1, ID).orElseThrow();
            AttributeCodecException first = assertThrows(AttributeCodecException.class,
                    () -> taken.getAttribute("cart"));
            assertTrue(first.getMessage().contains(Cart.class.getName()), first.getMessage());
            assertSame(first, assertThrows(AttributeCodecException.class, () -> taken.getAttribute("cart")),
                    "the same verdict, not decoded again");
            assertEquals(1.0, reg.counter("flotilla.replication.attributes.undecodable").count());
            assertTrue(taken.attributeNames().contains("cart"), "not turned into a missing attribute");
            assertEquals(1, taken.getAttribute("n"));

            taken.setAttribute("n", 2);
            h.engine(1).replicate(ID);
            assertTrue(h.runUntil(() -> Integer.valueOf(2).equals(value(h, 2, "n")), 1000));
            assertEquals(cart, value(h, 2, "cart"), "the bytes stay replicated: a member that admits Cart has it");
        }
    }
}
