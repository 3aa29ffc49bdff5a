package io.flotilla.tomcat;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.CookieManager;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 11, items 2 and 3, in Tomcat: what a request did to a value after {@code setAttribute} replicates; a value that
 * cannot be encoded when the request ends answers 500; a session taken over with a value this node cannot decode
 * answers 500 naming it and keeps it, instead of 200 without it; two attributes holding one object hold one object
 * after a failover.
 */
class SessionFidelityIT {
    private static final Duration WAIT = Duration.ofSeconds(20);

    private final HttpClient http = HttpClient.newBuilder().cookieHandler(new CookieManager())
            .connectTimeout(Duration.ofSeconds(5)).build();

    private HttpResponse<String> get(EmbeddedNode node, String path) throws Exception {
        HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.httpPort() + "/app/" + path))
                .timeout(Duration.ofSeconds(20)).build();
        return http.send(r, HttpResponse.BodyHandlers.ofString());
    }

    private static String sessionId(EmbeddedNode node) {
        List<String> ids = List.copyOf(node.manager().engine().primaryIds());
        assertEquals(1, ids.size(), ids.toString());
        return ids.get(0);
    }

    @Test
    @Timeout(120)
    void whatTheRequestDidAfterSetAttributeReplicatesAndAnUnencodableValueAnswers500() throws Exception {
        EmbeddedNode[] n = EmbeddedNode.pair("8");
        try (EmbeddedNode a = n[0]; EmbeddedNode b = n[1]) {
            HttpResponse<String> first = get(a, "cart?add=video");
            assertEquals(200, first.statusCode(), first.body());
            String id = sessionId(a);
            await("b holds the cart as the request left it", WAIT,
                    () -> List.of("video").equals(b.replicaValue(id, "cart")), () -> "" + b.replicaValue(id, "cart"));

            HttpResponse<String> bad = get(a, "cart?fresh&addUnlisted");
            assertEquals(500, bad.statusCode(), "accepted at setAttribute, refused when the request ends");
            assertTrue(bad.body().contains("'cart'") && bad.body().contains(EmbeddedNode.Unlisted.class.getName()),
                    bad.body());
            assertEquals(1L, a.manager().getUnencodableAttributes());
            await("b dropped its older cart rather than serve it", WAIT, () -> b.replicaValue(id, "cart") == null);
        }
    }

    @Test
    @Timeout(120)
    void twoAttributesSetToOneObjectInOneRequestAreOneObjectAfterAFailover() throws Exception {
        EmbeddedNode[] n = EmbeddedNode.pair("8");
        try (EmbeddedNode a = n[0]; EmbeddedNode b = n[1]) {
            assertEquals(200, get(a, "cart?add=video&alias=lastCart").statusCode());
            String id = sessionId(a);
            await("b holds both attributes", WAIT, () -> b.manager().engine().replica(id)
                    .map(r -> r.attributeNames().containsAll(List.of("cart", "lastCart"))).orElse(false));
            a.stop();
            await("b sees a leave", WAIT, () -> b.cluster.getMemberCount() == 1);

            HttpResponse<String> r = get(b, "cart?same=lastCart");
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("[video] same=true", r.body(), "one cart, as on the node that failed (and as with stock)");
        }
    }

    @Test
    @Timeout(120)
    void aTakeOverThatCannotDecodeAValueAnswers500NamingItAndKeepsTheSession() throws Exception {
        String unlisted = EmbeddedNode.Unlisted.class.getName();
        EmbeddedNode[] n = EmbeddedNode.pair("8", node -> {
            if (node.route.equals("a")) {
                node.cluster.setAllowedClasses(unlisted); // b was not given the class
            }
        });
        try (EmbeddedNode a = n[0]; EmbeddedNode b = n[1]) {
            assertEquals("accepted", get(a, "bad").body());
            assertEquals(200, get(a, "session?set=n&value=1").statusCode());
            String id = sessionId(a);
            await("b holds both values", WAIT, () -> b.manager().engine().replica(id)
                    .map(r -> r.attributeNames().containsAll(List.of("cart", "n"))).orElse(false));
            // b's session listeners could not be told of the cart (notifyListenersOnReplication): counted, not lost
            await("b counted the value its listeners missed", WAIT,
                    () -> b.manager().getListenerUndecodableAttributes() == 1L);
            a.stop();
            await("b sees a leave", WAIT, () -> b.cluster.getMemberCount() == 1);

            for (int i = 0; i < 2; i++) {
                HttpResponse<String> r = get(b, "session?get=n");
                assertEquals(500, r.statusCode(), "never the session without its cart: " + r.body());
                assertTrue(r.body().contains("'cart'") && r.body().contains(unlisted)
                        && r.body().contains("allowedClasses"), r.body());
            }
            assertEquals(1L, b.manager().getUndecodableAttributes(), "counted once per value");
            assertTrue(b.manager().engine().find(id).orElseThrow().attributeNames().contains("cart"),
                    "the session keeps the value's bytes");
        }
    }
}
