package io.flotilla.tomcat;

import static io.flotilla.testing.Await.await;

import io.flotilla.testing.FreePorts;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpSessionAttributeListener;
import jakarta.servlet.http.HttpSessionBindingEvent;
import jakarta.servlet.http.HttpSessionEvent;
import jakarta.servlet.http.HttpSessionIdListener;
import jakarta.servlet.http.HttpSessionListener;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.security.Principal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.catalina.Context;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.Manager;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.ha.ClusterDeployer;
import org.apache.catalina.authenticator.FormAuthenticator;
import org.apache.catalina.realm.GenericPrincipal;
import org.apache.catalina.realm.RealmBase;
import org.apache.catalina.startup.HostConfig;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.util.descriptor.web.LoginConfig;
import org.apache.tomcat.util.descriptor.web.SecurityCollection;
import org.apache.tomcat.util.descriptor.web.SecurityConstraint;

/**
 * One embedded Tomcat on 127.0.0.1 (connector on a free port) with a {@link FlotillaCluster} on its Engine (static
 * membership, receiver on 127.0.0.1) and a distributable context {@code /app} whose servlet counts in the session,
 * with FORM authentication for {@code /secure/*}.
 */
final class EmbeddedNode implements AutoCloseable {
    /** A value class no allowlist names. */
    static final class Unlisted implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    final Tomcat tomcat = new Tomcat();
    final FlotillaCluster cluster;
    final String route;
    final Path base;
    /** What this node's session listeners heard, in order ({@link SessionEvents}). */
    final List<String> events = new CopyOnWriteArrayList<>();
    /** Async requests {@code /async} started and left for the test to finish. */
    final BlockingQueue<AsyncContext> pendingAsync = new LinkedBlockingQueue<>();
    Context context;
    /** The context's own {@code <Manager>}, or null for what the cluster creates. */
    private Manager contextManager;
    /** A nested {@code <Deployer>}, or null. */
    private ClusterDeployer deployer;
    private boolean stopped;

    EmbeddedNode(String route, int receiverPort, List<Integer> allReceiverPorts, String sendOptions) {
        this(route, receiverPort, allReceiverPorts, sendOptions, tempBase(route));
    }

    /** The same on the {@code CATALINA_BASE} of a node stopped before (a restart: its files are kept). */
    EmbeddedNode(String route, int receiverPort, List<Integer> allReceiverPorts, String sendOptions, Path base) {
        this(route, new FlotillaCluster(), base);
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

    /** A node whose cluster is configured elsewhere (read from a server.xml by Catalina's digester), as it is. */
    EmbeddedNode(String route, FlotillaCluster cluster) {
        this(route, cluster, tempBase(route));
    }

    private EmbeddedNode(String route, FlotillaCluster cluster, Path base) {
        this.route = route;
        this.cluster = cluster;
        this.base = base;
    }

    private static Path tempBase(String route) {
        try {
            return Files.createTempDirectory("flotilla-tomcat-" + route);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String toString() {
        return "node " + route;
    }

    /** Copies the class file of {@code c} into {@code /app}'s {@code WEB-INF/classes}: the application defines it. */
    EmbeddedNode applicationClass(Class<?> c) {
        String file = c.getName().replace('.', '/') + ".class";
        Path target = base.resolve("app/WEB-INF/classes").resolve(file);
        try (var in = c.getClassLoader().getResourceAsStream(file)) {
            Files.createDirectories(target.getParent());
            Files.copy(in, target);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    /**
     * Multicast membership instead of the static list: {@code group}:{@code port} on the loopback interface only
     * ({@code bind="lo"}, TTL 0), so no datagram leaves the machine.
     */
    EmbeddedNode multicast(String group, int port) {
        cluster.setMembership("multicast");
        cluster.setStaticMembers(null);
        cluster.setAddress(group);
        cluster.setPort(Integer.toString(port));
        cluster.setBind("lo");
        cluster.setTtl("0");
        return this;
    }

    /** Names {@code m} as the context's own manager, as a {@code <Manager>} in {@code context.xml} does. */
    EmbeddedNode contextManager(Manager m) {
        contextManager = m;
        return this;
    }

    /**
     * A farm deployer in the cluster, as a nested {@code <Deployer>}: the Host gets its {@code HostConfig} (which a
     * server.xml Host has) and {@code appBase} {@link #appBase}, and the Engine runs its background tasks (the farm's
     * watch) every second.
     */
    EmbeddedNode deployer(ClusterDeployer d) {
        deployer = d;
        return this;
    }

    Path appBase() {
        return base.resolve("webapps");
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
        Tomcat.addServlet(context, "dummy-cart", new DummyCartServlet());
        context.addServletMappingDecoded("/dummy-cart", "dummy-cart");
        Tomcat.addServlet(context, "bad", new BadServlet());
        context.addServletMappingDecoded("/bad", "bad");
        formLogin(context);
        Tomcat.addServlet(context, "session", new SessionServlet());
        context.addServletMappingDecoded("/session", "session");
        Tomcat.addServlet(context, "cart", new CartServlet());
        context.addServletMappingDecoded("/cart", "cart");
        Tomcat.addServlet(context, "async", new AsyncServlet(pendingAsync)).setAsyncSupported(true);
        context.addServletMappingDecoded("/async", "async");
        Tomcat.addServlet(context, "async-done", new AsyncDoneServlet()).setAsyncSupported(true);
        context.addServletMappingDecoded("/async-done", "async-done");
        context.addServletContainerInitializer((classes, ctx) -> ctx.addListener(new SessionEvents(events)), null);
        if (contextManager != null) {
            context.setManager(contextManager);
        }
        if (deployer != null) {
            try {
                Files.createDirectories(appBase());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            tomcat.getHost().setAppBase(appBase().toString());
            tomcat.getHost().addLifecycleListener(new HostConfig());
            tomcat.getEngine().setBackgroundProcessorDelay(1);
            cluster.setClusterDeployer(deployer);
        }
        tomcat.start();
        return this;
    }

    /** Two started nodes on free ports that see each other; {@code configure} runs on each before its start. */
    static EmbeddedNode[] pair(String sendOptions, Consumer<EmbeddedNode> configure) throws Exception {
        return cluster(2, sendOptions, configure);
    }

    /**
     * {@code count} started nodes (routes {@code a}, {@code b}, ...) on free ports that all see each other; {@code
     * configure} runs on each before its start.
     */
    static EmbeddedNode[] cluster(int count, String sendOptions, Consumer<EmbeddedNode> configure) throws Exception {
        List<Integer> ports = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            ports.add(freePort());
        }
        EmbeddedNode[] nodes = new EmbeddedNode[count];
        try {
            for (int i = 0; i < count; i++) {
                nodes[i] = new EmbeddedNode(String.valueOf((char) ('a' + i)), ports.get(i), ports, sendOptions);
                configure.accept(nodes[i]);
                nodes[i].start();
            }
            await("every node sees the others", Duration.ofSeconds(20),
                    () -> Arrays.stream(nodes).allMatch(x -> x.cluster.getMemberCount() == count),
                    () -> Arrays.stream(nodes).map(x -> x.route + ": " + x.cluster.getMembers())
                            .collect(Collectors.joining(" / ")));
        } catch (Exception | AssertionError e) {
            for (int i = count - 1; i >= 0; i--) {
                if (nodes[i] != null) {
                    nodes[i].close();
                }
            }
            throw e;
        }
        return nodes;
    }

    static EmbeddedNode[] pair(String sendOptions) throws Exception {
        return pair(sendOptions, n -> { });
    }

    /** The attribute {@code name} of the replica of {@code id} held here, decoded, or null. */
    Object replicaValue(String id, String name) {
        var engine = manager().engine();
        return engine.replica(id).map(r -> r.attribute(name, engine.codec(), EmbeddedNode.class.getClassLoader()))
                .orElse(null);
    }

    int httpPort() {
        return tomcat.getConnector().getLocalPort();
    }

    FlotillaManager manager() {
        return (FlotillaManager) context.getManager();
    }

    /** The {@link ReplicationValve} the cluster installed in the Engine's pipeline. */
    ReplicationValve replicationValve() {
        for (var v : cluster.getValves()) {
            if (v instanceof ReplicationValve rv) {
                return rv;
            }
        }
        throw new IllegalStateException("no ReplicationValve installed");
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

    /**
     * FORM authentication for {@code /secure/*} (role {@code user}): login page {@code /login}, error page {@code
     * /login-error}, one user {@code alice}/{@code secret}; {@code /secure/page} names the user and the role check.
     */
    private static void formLogin(Context ctx) {
        ctx.setRealm(new OneUserRealm());
        ctx.setLoginConfig(new LoginConfig("FORM", null, "/login", "/login-error"));
        ctx.getPipeline().addValve(new FormAuthenticator());
        ctx.addSecurityRole("user");
        SecurityConstraint constraint = new SecurityConstraint();
        constraint.addAuthRole("user");
        SecurityCollection collection = new SecurityCollection();
        collection.addPatternDecoded("/secure/*");
        constraint.addCollection(collection);
        ctx.addConstraint(constraint);
        Tomcat.addServlet(ctx, "login", new TextServlet(req -> "login-form"));
        ctx.addServletMappingDecoded("/login", "login");
        Tomcat.addServlet(ctx, "login-error", new TextServlet(req -> "login-error"));
        ctx.addServletMappingDecoded("/login-error", "login-error");
        Tomcat.addServlet(ctx, "secure", new TextServlet(req -> "secure " + req.getRequestURI() + " user="
                + req.getRemoteUser() + " inRole=" + req.isUserInRole("user") + " query=" + req.getQueryString()));
        ctx.addServletMappingDecoded("/secure/*", "secure");
    }

    /** {@code alice} with password {@code secret} and role {@code user}. */
    static final class OneUserRealm extends RealmBase {
        @Override
        protected String getPassword(String username) {
            return "alice".equals(username) ? "secret" : null;
        }

        @Override
        protected Principal getPrincipal(String username) {
            return "alice".equals(username) ? new GenericPrincipal(username, List.of("user")) : null;
        }
    }

    /**
     * Records every session and attribute event as one line: {@code created ID}, {@code destroyed ID}, {@code
     * idChanged OLD->NEW}, {@code added NAME=VALUE ID}, {@code replaced NAME=OLD->NEW ID}, {@code removed NAME=VALUE
     * ID}.
     */
    static final class SessionEvents implements HttpSessionListener, HttpSessionAttributeListener, HttpSessionIdListener {
        private final List<String> out;

        SessionEvents(List<String> out) {
            this.out = out;
        }

        @Override
        public void sessionCreated(HttpSessionEvent se) {
            out.add("created " + se.getSession().getId());
        }

        @Override
        public void sessionDestroyed(HttpSessionEvent se) {
            out.add("destroyed " + se.getSession().getId());
        }

        @Override
        public void sessionIdChanged(HttpSessionEvent se, String oldSessionId) {
            out.add("idChanged " + oldSessionId + "->" + se.getSession().getId());
        }

        @Override
        public void attributeAdded(HttpSessionBindingEvent e) {
            out.add("added " + e.getName() + "=" + e.getValue() + " " + e.getSession().getId());
        }

        @Override
        public void attributeReplaced(HttpSessionBindingEvent e) {
            out.add("replaced " + e.getName() + "=" + e.getValue() + "->" + e.getSession().getAttribute(e.getName())
                    + " " + e.getSession().getId());
        }

        @Override
        public void attributeRemoved(HttpSessionBindingEvent e) {
            out.add("removed " + e.getName() + "=" + e.getValue() + " " + e.getSession().getId());
        }
    }

    /** Sets {@code phase=started}, starts an async cycle and leaves it to the test ({@link #pendingAsync}). */
    static final class AsyncServlet extends HttpServlet {
        private static final long serialVersionUID = 1L;
        private final transient BlockingQueue<AsyncContext> pending;

        AsyncServlet(BlockingQueue<AsyncContext> pending) {
            this.pending = pending;
        }

        @Override
        protected void doGet(HttpServletRequest req, HttpServletResponse resp) {
            req.getSession(true).setAttribute("phase", "started");
            AsyncContext ac = req.startAsync();
            ac.setTimeout(60_000);
            pending.add(ac);
        }
    }

    /** Where an async cycle dispatches to: sets {@code dispatched=yes}, answers {@code done ID}. */
    static final class AsyncDoneServlet extends HttpServlet {
        private static final long serialVersionUID = 1L;

        @Override
        protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
            HttpSession session = req.getSession(false);
            session.setAttribute("dispatched", "yes");
            resp.setContentType("text/plain");
            resp.getWriter().print("done " + session.getId());
        }
    }

    /**
     * {@code ?set=NAME&value=V}, {@code ?remove=NAME} or {@code ?invalidate}: answers the session id; {@code
     * ?get=NAME}: the id, a space and the value.
     */
    static final class SessionServlet extends HttpServlet {
        private static final long serialVersionUID = 1L;

        @Override
        protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
            HttpSession session = req.getSession(true);
            String id = session.getId();
            if (req.getParameter("set") != null) {
                session.setAttribute(req.getParameter("set"), req.getParameter("value"));
            } else if (req.getParameter("remove") != null) {
                session.removeAttribute(req.getParameter("remove"));
            } else if (req.getParameter("invalidate") != null) {
                session.invalidate();
            }
            resp.setContentType("text/plain");
            String get = req.getParameter("get");
            resp.getWriter().print(get == null ? id : id + " " + session.getAttribute(get));
        }
    }

    /** Answers a text computed from the request. */
    static final class TextServlet extends HttpServlet {
        private static final long serialVersionUID = 1L;
        private final transient Function<HttpServletRequest, String> body;

        TextServlet(Function<HttpServletRequest, String> body) {
            this.body = body;
        }

        @Override
        protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
            resp.setContentType("text/plain");
            resp.getWriter().print(body.apply(req));
        }
    }

    static int freePort() {
        return FreePorts.tcp();
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

    /**
     * The {@code jsp:useBean} + {@code jsp:setProperty} pattern: {@code ?add=ITEM} finds the session's {@code cart}
     * (a list), or creates it ({@code ?fresh}: always) and sets it at once, then adds the item to it; {@code
     * ?addUnlisted} adds an {@link Unlisted} (a list is allowed, so {@code setAttribute} takes it; the value cannot be
     * encoded when the request ends); {@code ?alias=NAME} also sets the cart as attribute NAME (one object in two
     * attributes); {@code ?same=NAME} adds {@code same=true} when NAME holds the very cart object. Answers the cart's
     * items.
     */
    static final class CartServlet extends HttpServlet {
        private static final long serialVersionUID = 1L;

        @Override
        @SuppressWarnings("unchecked")
        protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
            HttpSession session = req.getSession(true);
            List<Object> cart = (List<Object>) session.getAttribute("cart");
            if (cart == null || req.getParameter("fresh") != null) {
                cart = new ArrayList<>();
                session.setAttribute("cart", cart);
            }
            if (req.getParameter("add") != null) {
                cart.add(req.getParameter("add"));
            } else if (req.getParameter("addUnlisted") != null) {
                cart.add(new Unlisted());
            }
            if (req.getParameter("alias") != null) {
                session.setAttribute(req.getParameter("alias"), cart);
            }
            resp.setContentType("text/plain");
            resp.getWriter().print(cart);
            if (req.getParameter("same") != null) {
                resp.getWriter().print(" same=" + (session.getAttribute(req.getParameter("same")) == cart));
            }
        }
    }

    /**
     * {@code ?add=ITEM}: adds to the session's {@code sessions.DummyCart}, created through the application's class
     * loader (so the class is the one in its {@code WEB-INF/classes}), and sets it again so the change replicates;
     * answers the cart and whether the application's loader defined its class: {@code items=[..] webapp=true}.
     */
    static final class DummyCartServlet extends HttpServlet {
        private static final long serialVersionUID = 1L;

        @Override
        protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
            HttpSession session = req.getSession(true);
            ClassLoader webapp = req.getServletContext().getClassLoader();
            try {
                Object cart = session.getAttribute("cart");
                if (cart == null) {
                    cart = Class.forName("sessions.DummyCart", true, webapp).getConstructor().newInstance();
                }
                if (req.getParameter("add") != null) {
                    cart.getClass().getMethod("add", String.class).invoke(cart, req.getParameter("add"));
                    session.setAttribute("cart", cart);
                }
                resp.setContentType("text/plain");
                resp.getWriter().print(cart + " webapp=" + (cart.getClass().getClassLoader() == webapp));
            } catch (ReflectiveOperationException e) {
                throw new IOException(e);
            } catch (IllegalArgumentException e) {
                resp.getWriter().print("refused: " + e.getMessage());
            }
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
