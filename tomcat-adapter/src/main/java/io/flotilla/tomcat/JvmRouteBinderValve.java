package io.flotilla.tomcat;

import jakarta.servlet.ServletException;
import java.io.IOException;
import java.util.concurrent.atomic.LongAdder;
import org.apache.catalina.Context;
import org.apache.catalina.Session;
import org.apache.catalina.authenticator.Constants;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ValveBase;
import org.apache.juli.logging.Log;
import org.apache.juli.logging.LogFactory;

/**
 * After a failover, moves a session to the local {@code jvmRoute}: a request whose session id ends in another
 * node's route ({@code ABC.node1} arriving at {@code node2}) gets the session, taken over here, under {@code
 * ABC.node2}; the response carries the new cookie, so the load balancer sticks to this node from now on, and the
 * request attribute {@code sessionIdAttribute} holds the original id. Replicas follow the rename. A FORM login in
 * progress (its session id note) follows it too.
 *
 * <p>Threading: one instance serves all requests concurrently; its settings are for the configuration thread.
 */
public final class JvmRouteBinderValve extends ValveBase {
    private static final Log log = LogFactory.getLog(JvmRouteBinderValve.class);

    private volatile boolean enabled = true;
    private volatile String sessionIdAttribute = "org.apache.catalina.ha.session.JvmRouteOriginalSessionID";
    private final LongAdder rewritten = new LongAdder();

    public JvmRouteBinderValve() {
        super(true);
    }

    public void setEnabled(boolean v) {
        enabled = v;
    }

    public boolean getEnabled() {
        return enabled;
    }

    public void setSessionIdAttribute(String v) {
        sessionIdAttribute = v;
    }

    public String getSessionIdAttribute() {
        return sessionIdAttribute;
    }

    /** Sessions moved to the local route. */
    public long getNumberOfSessions() {
        return rewritten.sum();
    }

    @Override
    public void invoke(Request request, Response response) throws IOException, ServletException {
        if (enabled) {
            rebind(request);
        }
        getNext().invoke(request, response);
    }

    private void rebind(Request request) throws IOException {
        Context ctx = request.getContext();
        String id = request.getRequestedSessionId();
        if (ctx == null || id == null || !(ctx.getManager() instanceof FlotillaManager manager)) {
            return;
        }
        String local = manager.getJvmRoute();
        if (local == null || local.isEmpty()) {
            return;
        }
        String route = FlotillaManager.routeOf(id);
        if (local.equals(route)) {
            return;
        }
        Session session = manager.findSession(id); // takes the session over when its owner is gone
        if (session == null) {
            return;
        }
        String newId = (route == null ? id : id.substring(0, id.length() - route.length() - 1)) + "." + local;
        if (newId.equals(session.getIdInternal())) {
            // A former id (a request sent before the cookie changed), resolved to the session here under this route
            // already: nothing to rename; the request, and its cookie, take the current id.
            request.changeSessionId(newId);
            return;
        }
        try {
            manager.changeSessionId(session, newId);
        } catch (IllegalStateException e) {
            log.warn("session could not move to route " + local + ": " + e.getMessage());
            return;
        }
        request.changeSessionId(newId);
        // FORM authentication checks at j_security_check that the session id is the one its login form was shown
        // under: a login that started on the failed node goes on under the new id (stock does the same).
        if (id.equals(session.getNote(Constants.SESSION_ID_NOTE))) {
            session.setNote(Constants.SESSION_ID_NOTE, newId);
        }
        String attr = sessionIdAttribute;
        if (attr != null && !attr.isEmpty()) {
            request.setAttribute(attr, id);
        }
        rewritten.increment();
        if (log.isDebugEnabled()) {
            log.debug("session moved from route " + route + " to " + local);
        }
    }
}
