package io.flotilla.tomcat.e2e.app;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import java.io.IOException;

/**
 * The end-to-end tests' webapp: a session counter. It is compiled with the module's tests and copied, with a
 * generated {@code web.xml} marked {@code <distributable/>}, into every {@code CATALINA_BASE} the harness makes; it
 * uses only the servlet API, so the same classes run on Tomcat 10.1 and 11.0.
 *
 * <ul>
 *   <li>{@code /ping}: {@code node=<route> ready} (the harness's readiness probe; no session);</li>
 *   <li>{@code /counter}: increments the {@code Integer} attribute {@code count} and answers
 *       {@code node=<route> count=<n> id=<session id>};</li>
 *   <li>{@code /get}: the same line without changing anything, or 404 {@code node=<route> no-session};</li>
 *   <li>{@code /set-bad}: stores a {@link NotAllowedAttribute}; answers {@code stored} or, when the session refuses
 *       it, 500 with {@code error=<exception>} so a test can read the message the operator would see.</li>
 * </ul>
 *
 * <p>The node's route comes from the system property {@code flotilla.e2e.node}, set by the harness to the Engine's
 * {@code jvmRoute}.
 *
 * <p>Threading: Tomcat calls it from many request threads at once. Increments of one node take one lock, so two
 * concurrent requests on one session never lose an update in the servlet itself: a lost update the tests see is the
 * session manager's or the cluster's.
 */
public final class CounterServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;

    /** The increment's read-modify-write; not per session, because a failover may rename the session's id. */
    private final transient Object incrementLock = new Object();

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        String node = System.getProperty("flotilla.e2e.node", "?");
        resp.setContentType("text/plain");
        resp.setCharacterEncoding("UTF-8");
        String path = req.getServletPath();
        switch (path) {
            case "/ping" -> resp.getWriter().print("node=" + node + " ready");
            case "/counter" -> {
                HttpSession session = req.getSession(true);
                int count;
                synchronized (incrementLock) {
                    Object old = session.getAttribute("count");
                    count = old instanceof Integer i ? i + 1 : 1;
                    session.setAttribute("count", count);
                }
                resp.getWriter().print("node=" + node + " count=" + count + " id=" + session.getId());
            }
            case "/get" -> {
                HttpSession session = req.getSession(false);
                if (session == null) {
                    resp.setStatus(HttpServletResponse.SC_NOT_FOUND);
                    resp.getWriter().print("node=" + node + " no-session");
                } else {
                    Object count = session.getAttribute("count");
                    resp.getWriter().print("node=" + node + " count=" + (count == null ? 0 : count) + " id="
                            + session.getId());
                }
            }
            case "/set-bad" -> {
                HttpSession session = req.getSession(true);
                try {
                    session.setAttribute("bad", new NotAllowedAttribute("not on any allowlist"));
                    resp.getWriter().print("node=" + node + " stored id=" + session.getId());
                } catch (RuntimeException e) {
                    resp.setStatus(HttpServletResponse.SC_INTERNAL_SERVER_ERROR);
                    resp.getWriter().print("node=" + node + " error=" + e);
                }
            }
            default -> resp.sendError(HttpServletResponse.SC_NOT_FOUND, path);
        }
    }
}
