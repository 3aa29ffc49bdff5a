package io.flotilla.replication;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.replication.ReplicationConfig.MutationDetection;
import io.flotilla.replication.fixtures.Cart;
import io.flotilla.replication.fixtures.Item;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * Issue 11: attributes of one session that share an object keep sharing it on the member that takes the session
 * over, wherever stock {@code DeltaManager} keeps it: the attributes of one replication (stock: one delta request,
 * one object stream) and a whole session sent by its owner at state transfer (stock: one stream per session).
 * Attributes set in different requests arrive as copies, as with stock.
 */
class SharedAttributesTest {
    private static final String ID = "0123456789ABCDEF0123456789ABCDEF";
    private static final CodecConfig CODEC = CodecConfig.builder().allow(Cart.class.getName(), Item.class.getName())
            .build();

    private static ReplicationConfig.Builder config() {
        return ReplicationConfig.builder().stateTransferOnStart(false).codec(CODEC);
    }

    private static Cart cart(String owner) {
        Cart c = new Cart(owner, BigDecimal.ONE);
        c.items.add(new Item("sku", "thing", 1, BigDecimal.ONE, null));
        return c;
    }

    /** Member 0 (the owner) leaves the views of the others. */
    private static void ownerFails(EngineHarness h) {
        for (int i = 1; i < h.engines.size(); i++) {
            h.cluster.membership(i).remove(h.cluster.member(0), false);
            h.cluster.network().partition(h.cluster.member(0), h.cluster.member(i));
        }
    }

    private static boolean replicaHas(EngineHarness h, int node, String name) {
        return h.engine(node).replica(ID).map(r -> r.attributeNames().contains(name)).orElse(false);
    }

    @Test
    void attributesOfOneRequestSharingAnObjectShareItAfterATakeOver() {
        for (MutationDetection mode : MutationDetection.values()) {
            try (EngineHarness h = new EngineHarness(2, 31, EngineHarness.nodeConfig(100))) {
                ReplicationEngine owner = h.start(0, config().mutationDetection(mode).build());
                h.start(1, config().build());
                PrimarySession s = owner.create(ID, 1800);
                Cart cart = cart("alice");
                s.setAttribute("cart", cart);
                s.setAttribute("lastCart", cart);
                s.setAttribute("items", cart.items); // a nested object of the cart, shared
                s.setAttribute("n", 1);
                owner.replicate(ID);
                long version = s.version();
                owner.replicate(ID);
                assertEquals(version, s.version(), mode + ": a group does not look changed to mutation detection");
                assertTrue(h.runUntil(() -> replicaHas(h, 1, "n"), 1000));
                ReplicaHeld held = new ReplicaHeld(h.engine(1).replica(ID).orElseThrow());
                assertSame(held.bytes("cart"), held.bytes("lastCart"), "the replica keeps one array per group");
                assertFalse(AttributeGroup.isGroup(held.bytes("n")), "a value sharing nothing stays on its own");
                assertEquals(cart, h.engine(1).replica(ID).orElseThrow().attribute("lastCart", h.engine(1).codec(),
                        getClass().getClassLoader()), "a member decodes on its own");

                ownerFails(h);
                PrimarySession taken = h.takeOver(1, ID).orElseThrow();
                Cart copy = (Cart) taken.getAttribute("lastCart");
                assertEquals(cart, copy);
                assertSame(copy, taken.getAttribute("cart"), mode + ": one object, as on the owner");
                assertSame(copy.items, taken.getAttribute("items"), mode + ": the shared nested list too");
                assertEquals(1, taken.getAttribute("n"));
            }
        }
    }

    @Test
    void aReplicaListenerGetsTheValuesOfOneChangeSharingWhatTheyShared() {
        List<ReplicaChange> changes = new CopyOnWriteArrayList<>();
        try (EngineHarness h = new EngineHarness(2, 36, EngineHarness.nodeConfig(100))) {
            ReplicationEngine owner = h.start(0, config().build());
            h.start(1, config().build(), changes::add);
            PrimarySession s = owner.create(ID, 1800);
            Cart cart = cart("alice");
            s.setAttribute("cart", cart);
            s.setAttribute("lastCart", cart);
            owner.replicate(ID);
            assertTrue(h.runUntil(() -> !changes.isEmpty(), 1000));
            ReplicaChange created = changes.get(0);
            assertEquals(ReplicaCause.CREATED, created.cause());
            assertEquals(cart, created.value("cart"));
            assertSame(created.value("cart"), created.value("lastCart"), "as stock's backup session holds them");
        }
    }

    @Test
    void aLaterRequestReplacingOneAttributeOfAGroupLeavesTheOthersIntact() {
        try (EngineHarness h = new EngineHarness(2, 32, EngineHarness.nodeConfig(100))) {
            ReplicationEngine owner = h.start(0, config().build());
            h.start(1, config().build());
            PrimarySession s = owner.create(ID, 1800);
            Cart cart = cart("alice");
            s.setAttribute("cart", cart);
            s.setAttribute("lastCart", cart);
            s.setAttribute("current", cart);
            owner.replicate(ID);
            Cart other = cart("bob");
            s.setAttribute("cart", other); // the group's bytes now stay with lastCart and current only
            owner.replicate(ID);
            assertTrue(h.runUntil(() -> h.engine(1).replica(ID).map(r -> r.version() == s.version()).orElse(false),
                    1000));

            ownerFails(h);
            PrimarySession taken = h.takeOver(1, ID).orElseThrow();
            assertEquals(other, taken.getAttribute("cart"));
            assertEquals(cart, taken.getAttribute("lastCart"));
            assertSame(taken.getAttribute("lastCart"), taken.getAttribute("current"), "the rest of the group shares");
            assertNotSame(taken.getAttribute("cart"), taken.getAttribute("current"));
        }
    }

    @Test
    void attributesSetInDifferentRequestsArriveAsEqualCopiesAsWithStock() {
        try (EngineHarness h = new EngineHarness(2, 33, EngineHarness.nodeConfig(100))) {
            ReplicationEngine owner = h.start(0, config().build());
            h.start(1, config().build());
            PrimarySession s = owner.create(ID, 1800);
            Cart cart = cart("alice");
            s.setAttribute("cart", cart);
            owner.replicate(ID);
            s.setAttribute("lastCart", cart);
            owner.replicate(ID);
            assertTrue(h.runUntil(() -> replicaHas(h, 1, "lastCart"), 1000));

            ownerFails(h);
            PrimarySession taken = h.takeOver(1, ID).orElseThrow();
            assertEquals(taken.getAttribute("cart"), taken.getAttribute("lastCart"));
            assertNotSame(taken.getAttribute("cart"), taken.getAttribute("lastCart"), "two deltas, two streams");
        }
    }

    @Test
    void aFullCopyOrStateTransferFromTheOwnerSendsTheWholeSessionAsOneGraph() {
        // lastCart replicated in a later request: the joiner gets the session as the owner's full copy (its deltas
        // were skipped while it did not listen); not replicated yet: by state transfer, as the owner holds it now.
        for (boolean replicated : new boolean[] {true, false}) {
            try (EngineHarness h = new EngineHarness(2, 34, EngineHarness.nodeConfig(100))) {
                ReplicationEngine owner = h.start(0, config().build());
                PrimarySession s = owner.create(ID, 1800);
                Cart cart = cart("alice");
                s.setAttribute("cart", cart);
                s.setAttribute("n", 1);
                owner.replicate(ID);
                s.setAttribute("lastCart", cart); // another request: in the deltas, a copy
                if (replicated) {
                    owner.replicate(ID);
                }
                ReplicationEngine joiner = h.start(1, config().stateTransferOnStart(true).build());
                assertTrue(h.runUntil(() -> joiner.stateTransfer().isDone() && replicaHas(h, 1, "lastCart"), 5000));

                ownerFails(h);
                PrimarySession taken = h.takeOver(1, ID).orElseThrow();
                assertEquals(cart, taken.getAttribute("lastCart"));
                assertSame(taken.getAttribute("cart"), taken.getAttribute("lastCart"),
                        "replicated before: " + replicated + ": one stream per session");
                assertEquals(1, taken.getAttribute("n"));
            }
        }
    }

    @Test
    void aGroupThatDoesNotDecodeFailsEachOfItsAttributesAndKeepsTheBytes() {
        try (EngineHarness h = new EngineHarness(2, 35, EngineHarness.nodeConfig(100))) {
            ReplicationEngine owner = h.start(0, config().build());
            h.start(1, ReplicationConfig.builder().stateTransferOnStart(false).build()); // does not admit Cart
            PrimarySession s = owner.create(ID, 1800);
            Cart cart = cart("alice");
            s.setAttribute("cart", cart);
            s.setAttribute("lastCart", cart);
            owner.replicate(ID);
            assertTrue(h.runUntil(() -> replicaHas(h, 1, "lastCart"), 1000));

            ownerFails(h);
            PrimarySession taken = h.takeOver(1, ID).orElseThrow();
            for (String name : List.of("cart", "lastCart")) {
                AttributeCodecException e = assertThrows(AttributeCodecException.class, () -> taken.getAttribute(name));
                assertEquals(name, e.attributeName());
                assertTrue(e.getMessage().contains(Cart.class.getName()), e.getMessage());
            }
            assertEquals(2, h.engine(1).stats().attributesUndecodable());
            assertTrue(taken.attributeNames().containsAll(List.of("cart", "lastCart")), "never a missing attribute");
        }
    }

    @Test
    void aDeltaOrRecordCarriesAGroupOnceAndAPlainOneIsUnchanged() {
        AttributeCodec codec = new AttributeCodec(CODEC);
        SessionCodec sessions = new SessionCodec(CODEC);
        Cart cart = cart("alice");
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("cart", cart);
        values.put("lastCart", cart);
        values.put("n", 7);
        Map<String, byte[]> encoded = codec.encodeAll(values);
        byte[] group = encoded.get("cart");
        assertTrue(AttributeGroup.isGroup(group));
        assertSame(group, encoded.get("lastCart"));

        List<SessionOp> ops = new ArrayList<>();
        encoded.forEach((name, bytes) -> ops.add(new SessionOp.SetAttribute(name, bytes)));
        byte[] wire = sessions.encodeDelta(new SessionDelta(ID, 3, 4, ops));
        assertEquals(SessionCodec.DELTA_GROUPED, wire[0]);
        assertTrue(wire.length < 2 * group.length, wire.length + " bytes: the group once, not twice");
        SessionDelta back = sessions.decodeDelta(wire);
        assertEquals(ops, back.ops());

        SessionRecord record = new SessionRecord(ID, 4, SessionMetadata.created(1L, 60), encoded);
        byte[] full = sessions.encodeRecord(record);
        assertEquals(SessionCodec.RECORD_GROUPED, full[0]);
        assertTrue(full.length < 2 * group.length);
        SessionRecord decoded = sessions.decodeRecord(full);
        assertEquals(record, decoded);
        assertSame(decoded.attributesUnsafe().get("cart"), decoded.attributesUnsafe().get("lastCart"));
        Map<String, Object> copies = codec.decodeAll(decoded.attributesUnsafe(), getClass().getClassLoader());
        assertSame(copies.get("cart"), copies.get("lastCart"));

        byte[] plain = sessions.encodeDelta(new SessionDelta(ID, 3, 4,
                List.of(new SessionOp.SetAttribute("n", encoded.get("n")))));
        assertEquals(SessionCodec.DELTA, plain[0], "a delta without a group is written as before");
        assertArrayEquals(codec.encode("n", 7), encoded.get("n"));
        // A reference to a group the message has not carried is malformed.
        byte[] bad = {SessionCodec.DELTA_GROUPED, 0, 3, 1, 1, 2, 1, 'a', 0, 0};
        assertThrows(CodecException.class, () -> sessions.decodeDelta(bad));
        // A delta referring to its group far more often than a group has members is refused before it is copied.
        Cart big = cart("x".repeat(20_000));
        byte[] large = codec.encodeAll(Map.of("a", big, "b", big)).get("a");
        List<SessionOp> many = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            many.add(new SessionOp.SetAttribute("a" + i, large));
        }
        CodecException bomb = assertThrows(CodecException.class,
                () -> sessions.decodeDelta(sessions.encodeDelta(new SessionDelta(ID, 3, 4, many))));
        assertEquals(CodecException.Reason.LIMIT_EXCEEDED, bomb.reason());
    }

    /** The bytes a replica record holds, without copying them (to see that a group is one array). */
    private record ReplicaHeld(SessionRecord record) {
        byte[] bytes(String name) {
            return record.attributesUnsafe().get(name);
        }
    }
}
