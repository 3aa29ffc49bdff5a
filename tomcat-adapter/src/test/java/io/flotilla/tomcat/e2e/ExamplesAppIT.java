package io.flotilla.tomcat.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.flotilla.testing.Await;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 11, item 6: Tomcat 10.1's own {@code examples} web application, made {@code <distributable/>}, on three real
 * Tomcats with the drop-in jar. A user fills the JSP shopping cart ({@code jsp/sessions/carts.jsp}: a session-scoped
 * {@code sessions.DummyCart} holding a {@code Collections.synchronizedSet}; the first item is added in the request
 * that creates the cart, after {@code jsp:useBean} set it, the second in a later request without any {@code
 * setAttribute}) and sets two {@code SessionExample} attributes; the owner gets {@code kill -9}; another node must
 * answer every item and attribute, never HTTP 500.
 *
 * <p>It runs once for each {@code mutationDetection} setting docs/tomcat.md names as correct for such an application
 * ({@code mutable_types} and {@code always}: the cart changes in place in later requests; {@code off} is Tomcat's
 * contract, which this application does not follow). To start the cluster once, every Tomcat runs one {@code
 * <Service>} per setting, each with its own connector, {@code <Engine>}, Flotilla {@code <Cluster>} (its own
 * receiver port and static member list) and copy of the application: one {@code kill -9} ends both owners.
 */
class ExamplesAppIT {
    private static final List<String> CORRECT_SETTINGS = List.of("mutable_types", "always");
    /** What docs/tomcat.md tells an operator to allow for this application. */
    private static final String ALLOWED_CLASSES = "sessions.*,java.util.Collections$SynchronizedSet";
    private static final int NODES = 3;
    private static final String CARTS = "/examples/jsp/sessions/carts.jsp";
    private static final String SESSION_EXAMPLE = "/examples/servlets/servlet/SessionExample";
    private static final Pattern JSESSIONID = Pattern.compile("JSESSIONID=([^;]+)");

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();

    @Test
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    void theJspCartAndSessionExampleSurviveKillNineOfTheirOwnerWithEveryCorrectSetting() throws Exception {
        ClusterConfig flotilla = ClusterConfig.flotilla(ClusterConfig.dropInJar(), ClusterConfig.Membership.STATIC, 6);
        Optional<String> unavailable = flotilla.unavailable();
        assumeTrue(unavailable.isEmpty(), () -> "examples e2e skipped: " + unavailable.orElse(""));
        Path home = TomcatLine.TOMCAT_10_1.requireHome();
        Path examples = examplesApp();
        ClusterLayout ports = ClusterLayout.allocate(NODES * CORRECT_SETTINGS.size());
        Path root = StockTomcatClusterIT.workDir().resolve("examples-" + UUID.randomUUID().toString().substring(0, 8))
                .toAbsolutePath();
        List<TomcatNode> nodes = new ArrayList<>();
        try {
            for (int i = 0; i < NODES; i++) {
                String route = "node" + (i + 1);
                Path base = root.resolve(route);
                TomcatCluster.layBase(home, base, serverXml(route, i, ports, flotilla), flotilla.libJars());
                for (String setting : CORRECT_SETTINGS) {
                    copyDistributable(examples, base.resolve("webapps-" + setting).resolve("examples"));
                }
                nodes.add(new TomcatNode(route, home, base, ports.nodes().get(i), TomcatCluster.javaOpts(route)));
            }
            for (TomcatNode n : nodes) {
                n.start(); // together: nothing to transfer yet, and two cores start three JVMs faster than one by one
            }
            for (int i = 0; i < NODES; i++) {
                awaitReady(nodes.get(i), i, ports);
            }
            TomcatNode owner = nodes.get(0);
            TomcatNode survivor = nodes.get(1);
            List<Browser> users = new ArrayList<>();
            for (int s = 0; s < CORRECT_SETTINGS.size(); s++) {
                Browser user = new Browser(CORRECT_SETTINGS.get(s));
                int port = http(ports, 0, s);
                String created = user.ok(port, CARTS + "?itemId=1&submit=add"); // creates the cart, then adds
                assertTrue(created.contains("X-files movie"), created);
                String later = user.ok(port, CARTS + "?itemId=3&submit=add"); // changes it in place
                assertTrue(later.contains("X-files movie") && later.contains("NIN CD"), later);
                user.ok(port, SESSION_EXAMPLE + "?dataname=color&datavalue=blue");
                String attributes = user.ok(port, SESSION_EXAMPLE + "?dataname=size&datavalue=XL");
                assertTrue(attributes.contains("color = blue") && attributes.contains("size = XL"), attributes);
                assertTrue(user.session.endsWith("." + owner.route()), user.session);
                users.add(user);
            }

            owner.kill9();

            for (int s = 0; s < CORRECT_SETTINGS.size(); s++) {
                Browser user = users.get(s);
                int port = http(ports, 1, s);
                String cart = user.ok(port, CARTS);
                assertTrue(cart.contains("X-files movie") && cart.contains("NIN CD"),
                        user.setting + ": both items after the failover: " + cart);
                String attributes = user.ok(port, SESSION_EXAMPLE);
                assertTrue(attributes.contains("color = blue") && attributes.contains("size = XL"),
                        user.setting + ": both attributes after the failover: " + attributes);
                assertTrue(user.session.endsWith("." + survivor.route()), "moved to the survivor's route: "
                        + user.session);
                System.out.println("examples, mutationDetection=" + user.setting + ": cart and SessionExample "
                        + "attributes intact on " + survivor.route() + " after kill -9 of " + owner.route());
            }
        } finally {
            for (TomcatNode n : nodes) {
                n.requestStop();
            }
            for (TomcatNode n : nodes) {
                n.stop();
            }
        }
    }

    /** Tomcat's {@code webapps/examples}, unpacked by the build (system property {@code e2e.tomcat10.webapps}). */
    private static Path examplesApp() {
        Path dir = Path.of(System.getProperty("e2e.tomcat10.webapps", "target/tomcat-10.1-webapps"), "examples");
        if (!Files.isRegularFile(dir.resolve("WEB-INF/web.xml"))) {
            throw new IllegalStateException("Tomcat's examples application is not unpacked in " + dir.toAbsolutePath()
                    + "; run `mvn -B -pl tomcat-adapter -am verify` (phase pre-integration-test unpacks it)");
        }
        return dir;
    }

    /** Copies the application and marks its {@code web.xml} {@code <distributable/>}, as an operator would. */
    private static void copyDistributable(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(f, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        Path webXml = to.resolve("WEB-INF/web.xml");
        String xml = Files.readString(webXml, StandardCharsets.UTF_8);
        Matcher open = Pattern.compile("<web-app[^>]*>").matcher(xml);
        assertTrue(open.find() && !xml.contains("<distributable"), "examples' web.xml: " + webXml);
        Files.writeString(webXml, xml.substring(0, open.end()) + "\n  <distributable/>" + xml.substring(open.end()),
                StandardCharsets.UTF_8);
    }

    /** The HTTP port of node {@code node}'s service for setting {@code s}. */
    private static int http(ClusterLayout ports, int node, int s) {
        return ports.nodes().get(s * NODES + node).http();
    }

    /** One {@code <Service>} per setting, each with its connector, Engine, Flotilla cluster and application copy. */
    private static String serverXml(String route, int node, ClusterLayout ports, ClusterConfig flotilla) {
        StringBuilder services = new StringBuilder();
        for (int s = 0; s < CORRECT_SETTINGS.size(); s++) {
            String setting = CORRECT_SETTINGS.get(s);
            ClusterLayout own = new ClusterLayout(ports.nodes().subList(s * NODES, (s + 1) * NODES),
                    ports.multicastAddress(), ports.multicastPort());
            String cluster = flotilla.clusterXml(own, node).strip().replace(
                    "<Cluster className=\"io.flotilla.tomcat.FlotillaCluster\"",
                    "<Cluster className=\"io.flotilla.tomcat.FlotillaCluster\" clusterName=\"examples-" + setting
                            + "\" mutationDetection=\"" + setting + "\" allowedClasses=\"" + ALLOWED_CLASSES + "\"");
            services.append("""
                      <Service name="%s">
                        <Connector port="%d" address="127.0.0.1" protocol="HTTP/1.1" connectionTimeout="20000"
                                   maxThreads="8" minSpareThreads="1"/>
                        <Engine name="%s" defaultHost="localhost" jvmRoute="%s">
                    %s
                          <Host name="localhost" appBase="webapps-%s" unpackWARs="false" autoDeploy="false"
                                deployOnStartup="true"/>
                        </Engine>
                      </Service>
                    """.formatted(setting, own.nodes().get(node).http(), setting, route, cluster.indent(6).stripTrailing(),
                    setting));
        }
        return """
                <?xml version="1.0" encoding="UTF-8"?>
                <!-- Generated by ExamplesAppIT: node %s, one service per mutationDetection setting. -->
                <Server port="%d" address="127.0.0.1" shutdown="SHUTDOWN-%s">
                %s</Server>
                """.formatted(route, ports.nodes().get(node).shutdown(), UUID.randomUUID(), services);
    }

    /** Until both services answer and each Flotilla cluster of the node sees the two other nodes. */
    private void awaitReady(TomcatNode node, int index, ClusterLayout ports) {
        // The membership logs one "Member joined" line per member and cluster; each service's cluster sees the others.
        Pattern joined = Pattern.compile("Member joined: ");
        int joins = (NODES - 1) * CORRECT_SETTINGS.size();
        for (int s = 0; s < CORRECT_SETTINGS.size(); s++) {
            int port = http(ports, index, s);
            Await.await(node.route() + " serves /examples/ on " + port + " and sees the others",
                    TomcatCluster.START_TIMEOUT, () -> {
                        if (!node.alive()) {
                            throw new AssertionError(node.route() + " exited:\n" + node.logTail(40));
                        }
                        return answers(port, "/examples/index.html") && lines(node, joined) >= joins;
                    }, () -> node.logTail(15));
        }
    }

    private boolean answers(int port, String path) {
        try {
            HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .timeout(Duration.ofSeconds(5)).build();
            return http.send(r, HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (IOException e) {
            return false; // not listening yet
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    private static long lines(TomcatNode node, Pattern p) {
        try {
            if (!Files.exists(node.consoleLog())) {
                return 0;
            }
            return Files.readAllLines(node.consoleLog(), StandardCharsets.ISO_8859_1).stream()
                    .filter(l -> p.matcher(l).find()).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One user of one service: its session cookie, following the id the server sets (a failover renames it). */
    private final class Browser {
        final String setting;
        String session;

        Browser(String setting) {
            this.setting = setting;
        }

        /** GET {@code path} on {@code port} with the session cookie; fails unless 200. */
        String ok(int port, String path) throws IOException, InterruptedException {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .timeout(Duration.ofSeconds(30));
            if (session != null) {
                b.header("Cookie", "JSESSIONID=" + session);
            }
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            for (String c : r.headers().allValues("Set-Cookie")) {
                Matcher m = JSESSIONID.matcher(c);
                if (m.lookingAt()) {
                    session = m.group(1);
                }
            }
            assertEquals(200, r.statusCode(), "mutationDetection=" + setting + ": GET " + path + " on " + port
                    + " answered " + r.statusCode() + ":\n" + r.body());
            return r.body();
        }
    }
}
