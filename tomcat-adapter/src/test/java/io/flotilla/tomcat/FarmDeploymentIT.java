package io.flotilla.tomcat;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
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
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.apache.catalina.ha.deploy.FarmWarDeployer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Farm deployment on real (embedded) Tomcats, each with a Host deploying through its {@code HostConfig}: node1 runs
 * stock's {@code FarmWarDeployer} element as the digester builds it (translated at start), the others Flotilla's
 * {@code FarmDeployer}; all share a cluster secret. A WAR dropped into node1's {@code watchDir} is served by every
 * node, a new version replaces it everywhere, a node started afterwards gets it, and its removal undeploys it
 * everywhere, also on a node that was stopped meanwhile, when it comes back with its files. A peer without the
 * secret, configured to trust the network, deploys its own WAR locally and nowhere else. (A tampered or truncated stream: {@code FarmReceiverTest}.)
 */
class FarmDeploymentIT {
    private static final Duration WAIT = Duration.ofSeconds(40);
    private static final String SECRET = "farm-it-secret-0123456789abcdef";
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /**
     * A WAR serving {@code index.txt} = {@code text} through Tomcat's default servlet, with 200 KiB of random bytes
     * beside it, so that it streams in several chunks.
     */
    static byte[] war(String text) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JarOutputStream jar = new JarOutputStream(bytes)) {
            entry(jar, "WEB-INF/web.xml", """
                    <web-app xmlns="https://jakarta.ee/xml/ns/jakartaee" version="6.0" metadata-complete="true">
                      <servlet><servlet-name>default</servlet-name>
                        <servlet-class>org.apache.catalina.servlets.DefaultServlet</servlet-class></servlet>
                      <servlet-mapping><servlet-name>default</servlet-name><url-pattern>/</url-pattern></servlet-mapping>
                    </web-app>
                    """);
            entry(jar, "META-INF/context.xml", "<Context><JarScanner scanClassPath=\"false\"/></Context>");
            entry(jar, "index.txt", text);
            byte[] noise = new byte[200 * 1024];
            new Random(text.hashCode()).nextBytes(noise);
            jar.putNextEntry(new JarEntry("noise.bin"));
            jar.write(noise);
            jar.closeEntry();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static void entry(JarOutputStream jar, String name, String text) throws IOException {
        jar.putNextEntry(new JarEntry(name));
        jar.write(text.getBytes(StandardCharsets.UTF_8));
        jar.closeEntry();
    }

    /** Drops {@code bytes} into {@code dir} as {@code name}, written beside it first, as an operator's copy would. */
    private static void drop(Path dir, String name, byte[] bytes) throws IOException {
        Files.createDirectories(dir);
        Path partial = dir.resolve(name + ".part");
        Files.write(partial, bytes);
        Files.move(partial, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
    }

    /** {@code status body} of {@code path} on {@code node}. */
    private String get(EmbeddedNode node, String path) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.httpPort()
                    + path)).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() + " " + r.body();
        } catch (IOException e) {
            return "error " + e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    private void awaitEverywhere(List<EmbeddedNode> nodes, String path, String expected) {
        await(path + " answers \"" + expected + "\" on every node", WAIT,
                () -> nodes.stream().allMatch(n -> get(n, path).equals(expected)),
                () -> nodes.stream().map(n -> n.route + ": " + get(n, path) + " farm=" + n.cluster.getFarmWars())
                        .toList().toString());
    }

    /** farm.war answers 404 on every node, its file and unpacked folder are gone, and JMX lists no WAR. */
    private void awaitUndeployed(List<EmbeddedNode> nodes) {
        await("farm.war is undeployed on " + nodes.stream().map(n -> n.route).toList(), WAIT,
                () -> nodes.stream().allMatch(n -> get(n, "/farm/index.txt").startsWith("404")
                        && !Files.exists(n.appBase().resolve("farm.war")) && !Files.exists(n.appBase().resolve("farm"))
                        && n.cluster.getFarmWars().isEmpty()),
                () -> nodes.stream().map(n -> n.route + ": " + get(n, "/farm/index.txt") + " farm="
                        + n.cluster.getFarmWars()).toList().toString());
    }

    private static FarmDeployer receiving() {
        FarmDeployer d = new FarmDeployer();
        d.setProcessDeployFrequency("1");
        return d;
    }

    @Test
    @Timeout(240)
    void aWarDroppedOnOneNodeIsServedReplacedAndRemovedEverywhereAndReachesALateNodeButNotFromAStranger()
            throws Exception {
        List<Integer> ports = List.of(EmbeddedNode.freePort(), EmbeddedNode.freePort(), EmbeddedNode.freePort(),
                EmbeddedNode.freePort(), EmbeddedNode.freePort());
        List<EmbeddedNode> started = new ArrayList<>();
        try {
            EmbeddedNode node1 = new EmbeddedNode("node1", ports.get(0), ports, "8");
            Path watch = node1.base.resolve("farm-watch");
            FarmWarDeployer stock = new FarmWarDeployer(); // what the digester builds for the stock element
            stock.setWatchDir(watch.toString());
            stock.setWatchEnabled(true);
            stock.setProcessDeployFrequency(1);
            stock.setTempDir(node1.base.resolve("war-temp").toString());
            node1.deployer(stock);
            List<EmbeddedNode> cluster = new ArrayList<>(List.of(node1,
                    new EmbeddedNode("node2", ports.get(1), ports, "8").deployer(receiving()),
                    new EmbeddedNode("node3", ports.get(2), ports, "8").deployer(receiving())));
            EmbeddedNode stranger = new EmbeddedNode("stranger", ports.get(4), ports, "8");
            FarmDeployer trusting = receiving();
            trusting.setTrustNetwork("true");
            trusting.setWatchEnabled("true");
            trusting.setWatchDir(stranger.base.resolve("farm-watch").toString());
            stranger.deployer(trusting);
            for (EmbeddedNode n : cluster) {
                n.cluster.setSecret(SECRET);
                started.add(n);
                n.start();
            }
            started.add(stranger);
            stranger.start();
            await("the three members see each other", WAIT,
                    () -> cluster.stream().allMatch(n -> n.cluster.getMemberCount() == 3),
                    () -> cluster.stream().map(n -> n.cluster.getMembers()).toList().toString());

            drop(stranger.base.resolve("farm-watch"), "evil.war", war("evil"));
            drop(watch, "farm.war", war("v1"));
            awaitEverywhere(cluster, "/farm/index.txt", "200 v1");

            byte[] v2 = war("v2");
            drop(watch, "farm.war", v2);
            awaitEverywhere(cluster, "/farm/index.txt", "200 v2");
            String sha = HexFormat.of().formatHex(FarmReceiver.sha256().digest(v2));
            for (EmbeddedNode n : cluster) {
                assertTrue(n.cluster.getFarmWars().startsWith("farm.war sha256=" + sha.substring(0, 16))
                        && n.cluster.getFarmWars().endsWith(" from node1"), n.route + ": " + n.cluster.getFarmWars());
            }

            EmbeddedNode late = new EmbeddedNode("node4", ports.get(3), ports, "8").deployer(receiving());
            late.cluster.setSecret(SECRET);
            started.add(late);
            late.start();
            cluster.add(late);
            awaitEverywhere(List.of(late), "/farm/index.txt", "200 v2");

            // the stranger took its WAR in (its own farm ran) but reached no member: nobody else serves it
            awaitEverywhere(List.of(stranger), "/evil/index.txt", "200 evil");
            await("the four members see each other (and not the stranger)", WAIT,
                    () -> cluster.stream().allMatch(n -> n.cluster.getMemberCount() == 4),
                    () -> cluster.stream().map(n -> n.cluster.getMembers()).toList().toString());
            assertEquals(1, stranger.cluster.getMemberCount(), stranger.cluster.getMembers());
            for (EmbeddedNode n : cluster) {
                assertTrue(get(n, "/evil/index.txt").startsWith("404"), n.route + ": " + get(n, "/evil/index.txt"));
            }

            // node2 is away while farm.war is removed; when it comes back (its files kept) it undeploys that version
            EmbeddedNode node2 = cluster.get(1);
            node2.stop();
            started.remove(node2);
            cluster.remove(node2);
            Files.delete(watch.resolve("farm.war"));
            awaitUndeployed(cluster);
            assertTrue(Files.exists(node2.appBase().resolve("farm.war")), "node2 was away: it still has farm.war");
            EmbeddedNode back = new EmbeddedNode("node2", ports.get(1), ports, "8", node2.base).deployer(receiving());
            back.cluster.setSecret(SECRET);
            started.add(back);
            back.start();
            cluster.add(back);
            awaitUndeployed(cluster);
        } finally {
            for (int i = started.size() - 1; i >= 0; i--) {
                started.get(i).close();
            }
        }
    }
}
