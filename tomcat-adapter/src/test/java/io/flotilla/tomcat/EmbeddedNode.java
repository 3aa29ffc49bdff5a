package io.flotilla.tomcat;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.catalina.Context;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;

/**
 * One embedded Tomcat on 127.0.0.1 (connector on a free port) with a {@link FlotillaCluster} on its Engine (static
 * membership, receiver on 127.0.0.1) and a distributable context {@code /app} whose servlet counts in the session.
 */
final class EmbeddedNode implements AutoCloseable {
    /** A value class no allowlist names. */
    static final class Unlisted implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
    }

    final Tomcat tomcat = new Tomcat();
    final FlotillaCluster cluster = new FlotillaCluster();
    final String route;
    final Path base;
    Context context;
    private boolean stopped;

    EmbeddedNode(String route, int receiverPort, List<Integer> allReceiverPorts, String sendOptions) {
        this.route = route;
        try {
            base = Files.createTempDirectory("flotilla-tomcat-" + route);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        cluster.setMembership("static");
        cluster.setStaticMembers(allReceiverPorts.stream().map(p -> "127.0.0.1:" + p).collect(Collectors.joining(",")));
        cluster.setReceiverAddress("127.0.0.1");
        cluster.setReceiverPort(Integer.toString(receiverPort));
        cluster.setAutoBind("0");
        cluster.setFrequency("100");
        cluster.setDropTime("1000");
        cluster.setChannelSendOptions(sendOptions);
        cluster.setStateTransferTimeout("20");
        cluster.setClusterName("it");
    }

    EmbeddedNode start() throws LifecycleException {
        tomcat.setBaseDir(base.toString());
        tomcat.setHostname("localhost");
        Connector connector = new Connector();
        connector.setPort(0);
        connector.setProperty("address", "127.0.0.1");
        tomcat.setConnector(connector);
        tomcat.getEngine().setJvmRoute(route);
        tomcat.getEngine().setCluster(cluster);
        Path docBase = base.resolve("app");
        try {
            Files.createDirectories(docBase);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        context = tomcat.addContext("/app", docBase.toString());
        context.setDistributable(true);
        Tomcat.addServlet(context, "count", new CountServlet());
        context.addServletMappingDecoded("/count", "count");
        Tomcat.addServlet(context, "bad", new BadServlet());
        context.addServletMappingDecoded("/bad", "bad");
        tomcat.start();
        return this;
    }

    int httpPort() {
        return tomcat.getConnector().getLocalPort();
    }

    FlotillaManager manager() {
        return (FlotillaManager) context.getManager();
    }

    /** Stops this Tomcat: the cluster leaves gracefully. */
    void stop() throws LifecycleException {
        if (!stopped) {
            stopped = true;
            tomcat.stop();
            tomcat.destroy();
        }
    }

    @Override
    public void close() throws LifecycleException, IOException {
        stop();
        try (Stream<Path> files = Files.walk(base)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** {@code n=<count> id=<session id> original=<id before a route change>}. */
    static final class CountServlet extends HttpServlet {
        private static final long serialVersionUID = 1L;

        @Override
        protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
            HttpSession session = req.getSession(true);
            int n;
            synchronized (session) {
                Integer old = (Integer) session.getAttribute("n");
                n = old == null ? 1 : old + 1;
                session.setAttribute("n", n);
            }
            resp.setContentType("text/plain");
            resp.getWriter().print("n=" + n + " id=" + session.getId() + " original="
                    + req.getAttribute("org.apache.catalina.ha.session.JvmRouteOriginalSessionID"));
        }
    }

    /** Sets a value whose class is not allowed and reports the refusal. */
    static final class BadServlet extends HttpServlet {
        private static final long serialVersionUID = 1L;

        @Override
        protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
            HttpSession session = req.getSession(true);
            resp.setContentType("text/plain");
            try {
                session.setAttribute("cart", new Unlisted());
                resp.getWriter().print("accepted");
            } catch (IllegalArgumentException e) {
                resp.getWriter().print("refused: " + e.getMessage());
            }
        }
    }
}
