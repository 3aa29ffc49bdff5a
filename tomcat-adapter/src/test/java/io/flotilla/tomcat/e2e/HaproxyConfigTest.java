package io.flotilla.tomcat.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The demo's HAProxy configuration listens and connects on 127.0.0.1 only, and sends a session to the node its
 * {@code jvmRoute} names.
 */
class HaproxyConfigTest {
    private static final List<TomcatNode> NODES = List.of(
            node("node1", 8081), node("node2", 8082), node("node3", 8083));

    @Test
    void everyEndpointIsOnLoopbackWithOneStickyRulePerRoute() {
        String cfg = HaproxyBalancer.config(NODES, 9000, 9001);
        List<String> endpoints = cfg.lines().map(String::strip)
                .filter(l -> l.startsWith("bind ") || l.startsWith("server ")).toList();
        assertEquals(5, endpoints.size(), cfg);
        for (String e : endpoints) {
            assertTrue(e.matches("(bind|server \\S+) 127\\.0\\.0\\.1:\\d+.*"), e);
        }
        assertTrue(cfg.contains("bind 127.0.0.1:9000"), cfg);
        assertTrue(cfg.contains("bind 127.0.0.1:9001"), cfg);
        for (TomcatNode n : NODES) {
            assertTrue(cfg.contains("acl route_" + n.route() + " req.cook(JSESSIONID) -m end ." + n.route()), cfg);
            assertTrue(cfg.contains("use-server " + n.route() + " if route_" + n.route()), cfg);
            assertTrue(cfg.contains("server " + n.route() + " 127.0.0.1:" + n.httpPort() + " check"), cfg);
        }
        assertTrue(cfg.contains("option httpchk GET /app/ping"), cfg);
    }

    private static TomcatNode node(String route, int http) {
        return new TomcatNode(route, Path.of("/nonexistent"), Path.of("/nonexistent", route),
                new ClusterLayout.NodePorts(http, http + 10, http + 20), List.of());
    }
}
