package io.flotilla.tomcat.e2e;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A load balancer in the test JVM, as mod_jk or HAProxy do it for Tomcat: a request with a session goes to the node
 * named by the {@code .route} suffix of its session id; a new one to the user's home node; when a node does not take
 * the connection (or drops it), the request is sent to the next node. It only knows what the sockets tell it.
 *
 * <p>Threading: safe for concurrent use, as long as each {@link SimulatedUser} is used by one thread at a time.
 */
public final class StickyBalancer implements Balancer {
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(15);

    private final List<TomcatNode> nodes;
    private final HttpClient client;
    /** Null when sticky; else the next node of the rotation. */
    private final AtomicInteger roundRobin;

    public StickyBalancer(TomcatCluster cluster) {
        this(cluster, false);
    }

    private StickyBalancer(TomcatCluster cluster, boolean roundRobin) {
        this.nodes = cluster.nodes();
        this.client = cluster.client();
        this.roundRobin = roundRobin ? new AtomicInteger() : null;
    }

    /** The same client without stickiness: every request goes to the next node in turn, whatever its session. */
    public static StickyBalancer roundRobin(TomcatCluster cluster) {
        return new StickyBalancer(cluster, true);
    }

    /** Sends {@code path} for {@code user}, sticky, failing over on connection errors. */
    @Override
    public Reply send(SimulatedUser user, String path) throws IOException {
        int first = firstChoice(user);
        IOException last = null;
        for (int attempt = 0; attempt < nodes.size(); attempt++) {
            TomcatNode node = nodes.get((first + attempt) % nodes.size());
            try {
                HttpResponse<String> r = client.send(request(node, path, user.sessionId()),
                        HttpResponse.BodyHandlers.ofString());
                r.headers().allValues("Set-Cookie").stream()
                        .filter(c -> c.startsWith("JSESSIONID="))
                        .findFirst()
                        .ifPresent(c -> user.cookie(c.substring("JSESSIONID=".length()).split(";", 2)[0]));
                return new Reply(r.statusCode(), r.body(), node, attempt > 0);
            } catch (IOException e) {
                last = e; // refused, reset or timed out: like a balancer, try the next node
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
        }
        throw new IOException("no node answered " + path + " for " + user, last);
    }

    /** Sends {@code path} straight to {@code node} with the user's cookie (no balancing, no failover). */
    public Reply direct(TomcatNode node, SimulatedUser user, String path) throws IOException {
        try {
            HttpResponse<String> r = client.send(request(node, path, user.sessionId()),
                    HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r.body(), node, false);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /** Nothing to wait for: it tries the nodes in turn and learns from each connection. */
    @Override
    public void awaitRoutingTo(List<TomcatNode> up) {
    }

    @Override
    public String describe() {
        return "a routing client in the demo's JVM (" + (roundRobin == null ? "sticky by jvmRoute" : "round robin")
                + ", next node on a connection error)";
    }

    @Override
    public void close() {
        // Nothing of its own: the HTTP client is the cluster's.
    }

    private int firstChoice(SimulatedUser user) {
        if (roundRobin != null) {
            return Math.floorMod(roundRobin.getAndIncrement(), nodes.size());
        }
        String route = user.route();
        if (route != null) {
            for (int i = 0; i < nodes.size(); i++) {
                if (nodes.get(i).route().equals(route)) {
                    return i;
                }
            }
        }
        return user.homeNode() % nodes.size();
    }

    private static HttpRequest request(TomcatNode node, String path, String sessionId) {
        HttpRequest.Builder b = HttpRequest.newBuilder(node.uri(path)).timeout(REQUEST_TIMEOUT).GET();
        if (sessionId != null) {
            b.header("Cookie", "JSESSIONID=" + sessionId);
        }
        return b.build();
    }
}
