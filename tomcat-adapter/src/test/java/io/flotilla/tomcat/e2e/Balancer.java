package io.flotilla.tomcat.e2e;

import java.io.IOException;
import java.util.List;

/**
 * What stands between the simulated users and the Tomcats: {@link StickyBalancer} (a routing client in the test JVM)
 * or {@link HaproxyBalancer} (a real HAProxy on 127.0.0.1, sticky on the {@code jvmRoute} of the session id, as an
 * operator runs it).
 *
 * <p>Threading: safe for concurrent use, as long as each {@link SimulatedUser} is used by one thread at a time.
 */
public interface Balancer extends AutoCloseable {
    /** The answer of one request and which node gave it. */
    record Reply(int status, String body, TomcatNode node, boolean failedOver) {
    }

    /** Sends {@code path} for {@code user} with its session cookie, and takes the cookie of the answer. */
    Reply send(SimulatedUser user, String path) throws IOException;

    /** {@code /counter} for {@code user}, booked on the user. */
    default Reply increment(SimulatedUser user) throws IOException {
        Reply r = send(user, "/counter");
        user.counted(r.status(), r.body());
        return r;
    }

    /**
     * Waits until requests are routed only to {@code up} (a balancer with health checks must have seen the others go
     * down and these come up); at once for a client that learns from each connection.
     */
    void awaitRoutingTo(List<TomcatNode> up);

    /** One line for a person: what this balancer is. */
    String describe();

    /** Stops what it started (by PID); idempotent. */
    @Override
    void close();
}
