package io.flotilla.tomcat;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.replication.SessionRecord;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.catalina.authenticator.Constants;
import org.apache.catalina.authenticator.SavedRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * FORM authentication across a failover, on two embedded Tomcats ({@link EmbeddedNode}: {@code /secure/*} needs
 * role {@code user}; {@code alice}/{@code secret}). The saved request, the login form's session id and the
 * principal replicate, so neither a login in progress nor a finished one is lost with its node.
 */
class FormLoginFailoverIT {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String CREDENTIALS = "j_username=alice&j_password=secret";

    private static Map<String, Object> replicaNotes(EmbeddedNode node, String id) {
        return node.manager().engine().replica(id).map(SessionRecord::metadata)
                .map(md -> AuthenticationNotes.decode(md.notes())).orElse(Map.of());
    }

    @Test
    @Timeout(120)
    void aLoginStartedOnANodeThatDiesEndsOnTheOtherAtTheOriginallyRequestedPage() throws Exception {
        EmbeddedNode[] n = EmbeddedNode.pair("8");
        try (EmbeddedNode a = n[0]; EmbeddedNode b = n[1]) {
            TestClient c = new TestClient();
            HttpResponse<String> form = c.get(a, "secure/page?item=42");
            assertEquals(200, form.statusCode());
            assertEquals("login-form", form.body(), "a asks for the login first");
            String id = c.sessionId();
            assertTrue(id != null && id.endsWith(".a"), id);
            await("b holds the saved request and the login form's session id", WAIT, () -> {
                Map<String, Object> notes = replicaNotes(b, id);
                return notes.get(Constants.FORM_REQUEST_NOTE) instanceof SavedRequest saved
                        && "/app/secure/page".equals(saved.getDecodedRequestURI())
                        && id.equals(notes.get(Constants.SESSION_ID_NOTE));
            }, () -> "notes on b: " + replicaNotes(b, id).keySet());

            a.stop();
            await("b sees a leave", WAIT, () -> b.cluster.getMemberCount() == 1);

            HttpResponse<String> login = c.post(b, "j_security_check", CREDENTIALS);
            assertEquals(303, login.statusCode(), "j_security_check on b redirects to the saved request: "
                    + login.body());
            String location = login.headers().firstValue("Location").orElseThrow();
            assertTrue(location.endsWith("/app/secure/page?item=42"), location);
            assertTrue(c.sessionId().endsWith(".b"), "the session moved to b: " + c.sessionId());

            HttpResponse<String> page = c.send(HttpRequest.newBuilder(
                    TestClient.uri(b, "").resolve(location)).timeout(WAIT).build());
            assertEquals(200, page.statusCode(), page.body());
            assertEquals("secure /app/secure/page user=alice inRole=true query=item=42", page.body(),
                    "b restored the request a saved, logged in");
            assertEquals("secure /app/secure/page user=alice inRole=true query=null",
                    c.get(b, "secure/page").body(), "and the login holds for the next request");
        }
    }

    @Test
    @Timeout(120)
    void aUserLoggedInOnANodeThatDiesIsStillLoggedInOnTheOther() throws Exception {
        EmbeddedNode[] n = EmbeddedNode.pair("8");
        try (EmbeddedNode a = n[0]; EmbeddedNode b = n[1]) {
            TestClient c = new TestClient();
            assertEquals("login-form", c.get(a, "secure/page").body());
            HttpResponse<String> login = c.post(a, "j_security_check", CREDENTIALS);
            assertEquals(303, login.statusCode(), login.body());
            assertEquals("secure /app/secure/page user=alice inRole=true query=null", c.get(a, "secure/page").body());
            String id = c.sessionId();
            await("b holds the principal without the finished login's notes", WAIT,
                    () -> b.manager().engine().replica(id).map(r -> r.metadata().principal() != null).orElse(false)
                            && replicaNotes(b, id).isEmpty(), () -> "notes on b: " + replicaNotes(b, id).keySet());

            a.stop();
            await("b sees a leave", WAIT, () -> b.cluster.getMemberCount() == 1);

            HttpResponse<String> page = c.get(b, "secure/page");
            assertEquals(200, page.statusCode());
            assertEquals("secure /app/secure/page user=alice inRole=true query=null", page.body(),
                    "no login form on b: the principal and its role came with the session");
            assertNotEquals(id, c.sessionId(), "the session moved to b's route");
        }
    }

    /**
     * In {@code mode="backup"} over three nodes, a login gives the session a new id (session fixation protection),
     * which placement gives the other backup half the time: the write with the rename reaches the new id's backup as
     * the whole session, the former backup drops its copy, and after the node that served the logins leaves, every
     * user is still logged in. Before, the new backup acknowledged a write it could not apply and the former one kept
     * a copy nothing updated. Ten users, so that some login moves its copy (all ten staying put: 1 run in 1,024).
     */
    @Test
    @Timeout(120)
    void loginsInBackupModeMoveTheSessionsCopyToTheirNewIdsBackup() throws Exception {
        EmbeddedNode[] n = EmbeddedNode.cluster(3, "6", node -> {
            node.cluster.setMode("backup");
            node.cluster.setBackups("1");
        });
        try (EmbeddedNode a = n[0]; EmbeddedNode b = n[1]; EmbeddedNode c = n[2]) {
            List<EmbeddedNode> backups = List.of(b, c);
            List<TestClient> users = new ArrayList<>();
            int moved = 0;
            for (int u = 0; u < 10; u++) {
                TestClient client = new TestClient();
                users.add(client);
                assertEquals("login-form", client.get(a, "secure/page").body());
                String before = client.sessionId();
                await("one backup holds the new session", WAIT, () -> holders(backups, before, false).size() == 1);
                EmbeddedNode was = holders(backups, before, false).get(0);
                HttpResponse<String> login = client.post(a, "j_security_check", CREDENTIALS);
                assertEquals(303, login.statusCode(), login.body());
                String id = client.sessionId();
                assertNotEquals(before.substring(0, before.indexOf('.')), id.substring(0, id.indexOf('.')),
                        "the login gave the session a new id");
                await("one backup holds the logged-in session under its new id, none under the former one", WAIT,
                        () -> holders(backups, id, true).size() == 1 && holders(backups, id, false).size() == 1
                                && holders(backups, before, false).isEmpty(),
                        () -> "under the new id: " + holders(backups, id, false) + ", logged in: "
                                + holders(backups, id, true) + "; under the former: " + holders(backups, before, false));
                moved += holders(backups, id, true).get(0) == was ? 0 : 1;
            }
            assertTrue(moved > 0, "some login gave its session the other backup");

            a.stop();
            await("b and c see a leave", WAIT, () -> b.cluster.getMemberCount() == 2 && c.cluster.getMemberCount() == 2);
            for (TestClient client : users) {
                for (EmbeddedNode x : backups) {
                    HttpResponse<String> page = client.get(x, "secure/page");
                    assertEquals("secure /app/secure/page user=alice inRole=true query=null", page.body(),
                            "still logged in on " + x.route);
                }
            }
        }
    }

    /** The nodes of {@code nodes} holding a copy of {@code id}; with {@code loggedIn}, one with a principal. */
    private static List<EmbeddedNode> holders(List<EmbeddedNode> nodes, String id, boolean loggedIn) {
        List<EmbeddedNode> out = new ArrayList<>();
        for (EmbeddedNode x : nodes) {
            if (x.manager().engine().replica(id).map(r -> !loggedIn || r.metadata().principal() != null)
                    .orElse(false)) {
                out.add(x);
            }
        }
        return out;
    }
}
