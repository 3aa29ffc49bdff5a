package io.flotilla.bench;

import io.flotilla.tomcat.FlotillaCluster;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.catalina.Context;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.Manager;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.ha.session.ClusterSessionListener;
import org.apache.catalina.ha.session.DeltaManager;
import org.apache.catalina.ha.session.JvmRouteBinderValve;
import org.apache.catalina.ha.tcp.ReplicationValve;
import org.apache.catalina.ha.tcp.SimpleTcpCluster;
import org.apache.catalina.startup.Tomcat;
import org.apache.catalina.tribes.Channel;
import org.apache.catalina.tribes.group.GroupChannel;
import org.apache.catalina.tribes.group.interceptors.StaticMembershipInterceptor;

/**
 * One embedded Tomcat of the replication benchmarks, in-process: a connector on 127.0.0.1 (free port, keep-alive
 * without a request limit), {@code jvmRoute}, and a context {@code /app} whose servlet {@code /set} sets one
 * {@code Integer} attribute per request. The cluster on its Engine is none ({@link Kind#PLAIN}), stock Tomcat
 * ({@code SimpleTcpCluster} + {@code DeltaManager} + {@code ReplicationValve}, Tribes' default channel with static
 * membership: no multicast datagram is sent) or Flotilla ({@code FlotillaCluster}, static membership), with the same
 * members, receiver addresses and send mode, so the two clusters differ only in their implementation.
 *
 * <p>Members are 127.0.0.1 receiver ports: every node of a cluster is built with the whole list and its own port.
 *
 * <p>Threading: build and {@link #close} from one thread; the Tomcat serves requests on its own threads.
 */
public final class BenchTomcat implements AutoCloseable {

    /** The cluster on the Engine. */
    public enum Kind {
        /** No cluster, a non-distributable context: the baseline. */
        PLAIN,
        /** Tomcat's {@code SimpleTcpCluster} with {@code DeltaManager}. */
        STOCK,
        /** {@code io.flotilla.tomcat.FlotillaCluster}. */
        FLOTILLA;

        /** {@code plain}, {@code stock}, {@code flotilla}: case-insensitive. */
        public static Kind parse(String s) {
            return valueOf(s.toUpperCase(Locale.ROOT));
        }
    }

    /**
     * Tomcat's {@code channelSendOptions} of a mode: async is Tomcat's default 8; sync is 6 (use ack +
     * synchronized ack: the request returns once the backup has applied the change).
     */
    public static int sendOptions(boolean sync) {
        return sync ? Channel.SEND_OPTIONS_USE_ACK | Channel.SEND_OPTIONS_SYNCHRONIZED_ACK
                : Channel.SEND_OPTIONS_ASYNCHRONOUS;
    }

    /** The attribute the servlet sets. */
    public static final String ATTRIBUTE = "n";

    private final Tomcat tomcat = new Tomcat();
    private final Path base;
    private final Context context;
    private boolean closed;

    /**
     * Builds and starts a node.
     *
     * @param route the Engine's {@code jvmRoute}
     * @param kind which cluster
     * @param sync the send mode (ignored for {@link Kind#PLAIN})
     * @param receiverPort this node's cluster receiver port on 127.0.0.1
     * @param members every member's receiver port, this node's included
     */
    public BenchTomcat(String route, Kind kind, boolean sync, int receiverPort, List<Integer> members)
            throws LifecycleException {
        this(route, kind, sync, receiverPort, members, c -> { });
    }

    /**
     * As {@link #BenchTomcat(String, Kind, boolean, int, List)}, with {@code beforeStart} run on the configured context
     * just before the Tomcat starts (its cluster is {@code context.getParent().getParent().getCluster()}): to watch the
     * start from another thread, or to add a stock channel interceptor.
     */
    public BenchTomcat(String route, Kind kind, boolean sync, int receiverPort, List<Integer> members,
            Consumer<Context> beforeStart) throws LifecycleException {
        try {
            base = Files.createTempDirectory("flotilla-bench-tomcat-" + route);
            Files.createDirectories(base.resolve("app"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        tomcat.setBaseDir(base.toString());
        tomcat.setHostname("localhost");
        Connector connector = new Connector();
        connector.setPort(0);
        connector.setProperty("address", BenchJvm.LOOPBACK);
        connector.setProperty("maxKeepAliveRequests", "-1");
        tomcat.setConnector(connector);
        tomcat.getEngine().setJvmRoute(route);
        switch (kind) {
            case PLAIN -> { }
            case STOCK -> tomcat.getEngine().setCluster(stock(sync, receiverPort, members));
            case FLOTILLA -> tomcat.getEngine().setCluster(flotilla(sync, receiverPort, members));
        }
        context = tomcat.addContext("/app", base.resolve("app").toString());
        context.setDistributable(kind != Kind.PLAIN);
        Tomcat.addServlet(context, "set", new SetServlet());
        context.addServletMappingDecoded("/set", "set");
        beforeStart.accept(context);
        tomcat.start();
    }

    private static SimpleTcpCluster stock(boolean sync, int receiverPort, List<Integer> members) {
        SimpleTcpCluster cluster = new SimpleTcpCluster();
        cluster.setChannelSendOptions(sendOptions(sync));
        // Receiver and sender only: the static members replace McastService, which never starts.
        cluster.setChannelStartOptions(StockTribes.START_OPTIONS);
        DeltaManager template = new DeltaManager();
        template.setExpireSessionsOnShutdown(false);
        template.setNotifyListenersOnReplication(true);
        template.setStateTransferTimeout(120);
        cluster.setManagerTemplate(template);
        GroupChannel channel = StockTribes.newChannel("bench-" + receiverPort, receiverPort, uniqueId(receiverPort));
        StaticMembershipInterceptor membership = StockTribes.membership(channel);
        for (int port : members) {
            if (port != receiverPort) {
                membership.addStaticMember(StockTribes.peer(port, uniqueId(port)));
            }
        }
        cluster.setChannel(channel);
        cluster.addValve(new ReplicationValve());
        cluster.addValve(new JvmRouteBinderValve());
        cluster.addClusterListener(new ClusterSessionListener());
        return cluster;
    }

    private static FlotillaCluster flotilla(boolean sync, int receiverPort, List<Integer> members) {
        FlotillaCluster cluster = new FlotillaCluster();
        cluster.setClusterName("bench");
        cluster.setMembership("static");
        cluster.setStaticMembers(members.stream().map(p -> BenchJvm.LOOPBACK + ":" + p)
                .collect(Collectors.joining(",")));
        cluster.setReceiverAddress(BenchJvm.LOOPBACK);
        cluster.setReceiverPort(Integer.toString(receiverPort));
        cluster.setAutoBind("0");
        cluster.setChannelSendOptions(Integer.toString(sendOptions(sync)));
        cluster.setStateTransferTimeout("120");
        return cluster;
    }

    /** A stock member's unique id, derived from its receiver port so every node can name its peers. */
    private static byte[] uniqueId(int port) {
        return ByteBuffer.allocate(16).putLong(0x466c6f74696c6c61L).putLong(port).array();
    }

    /** A port on 127.0.0.1 that was free a moment ago, for a cluster receiver. */
    public static int freePort() {
        return StockTribes.freePort();
    }

    /** The HTTP port of the connector on 127.0.0.1. */
    public int httpPort() {
        return tomcat.getConnector().getLocalPort();
    }

    /** The session manager of {@code /app}: {@code StandardManager}, {@code DeltaManager} or {@code FlotillaManager}. */
    public Manager manager() {
        return context.getManager();
    }

    /** The context {@code /app}. */
    public Context context() {
        return context;
    }

    /** Stops the Tomcat (a cluster member leaves gracefully) and deletes its base directory. */
    @Override
    public void close() throws LifecycleException, IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            tomcat.stop();
            tomcat.destroy();
        } finally {
            try (Stream<Path> files = Files.walk(base)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** Sets {@link #ATTRIBUTE} to the next value each request: one changed attribute to replicate. */
    static final class SetServlet extends HttpServlet {
        private static final long serialVersionUID = 1L;

        @Override
        protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
            HttpSession session = req.getSession(true);
            Integer old = (Integer) session.getAttribute(ATTRIBUTE);
            int n = old == null ? 1 : old + 1;
            session.setAttribute(ATTRIBUTE, n);
            resp.setContentType("text/plain");
            resp.setContentLength(Integer.toString(n).length());
            resp.getWriter().print(n);
        }
    }
}
