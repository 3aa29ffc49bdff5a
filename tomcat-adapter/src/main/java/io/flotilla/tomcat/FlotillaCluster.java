package io.flotilla.tomcat;

import io.flotilla.ConfigurationException;
import io.flotilla.FlotillaException;
import io.flotilla.Member;
import io.flotilla.MembershipEvent;
import io.flotilla.Node;
import io.flotilla.NodeConfig;
import io.flotilla.replication.DrainReport;
import io.flotilla.transport.netty.NettyTransport;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.catalina.Cluster;
import org.apache.catalina.Container;
import org.apache.catalina.Engine;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.LifecycleState;
import org.apache.catalina.Manager;
import org.apache.catalina.Valve;
import org.apache.catalina.ha.ClusterDeployer;
import org.apache.catalina.ha.ClusterListener;
import org.apache.catalina.ha.ClusterManager;
import org.apache.catalina.tribes.Channel;
import org.apache.catalina.util.LifecycleMBeanBase;
import org.apache.juli.logging.Log;
import org.apache.juli.logging.LogFactory;
import org.apache.tomcat.util.IntrospectionUtils;

/**
 * Flotilla's {@link Cluster} for Tomcat: {@code <Cluster className="io.flotilla.tomcat.FlotillaCluster" .../>} in
 * an {@code <Engine>} or {@code <Host>} of {@code server.xml}. It owns the one {@link Node} of this Tomcat (started
 * in {@link #startInternal}, left in {@link #stopInternal}), gives every {@code <distributable/>} web application a
 * {@link FlotillaManager} on its own replication stream, and puts its valves ({@link ReplicationValve},
 * {@link JvmRouteBinderValve}, or the nested {@code <Valve>} elements) in the container's pipeline.
 *
 * <p>Configuration is by attributes with Tomcat's names (see {@code docs/tomcat.md}); setters only store the text,
 * and {@link #startInternal} checks everything once: a bad value fails the start with a message naming the
 * attribute, the value and what is allowed (all of them in one message). A stock {@code SimpleTcpCluster} block
 * works with only its {@code className} changed: the nested elements Tomcat's {@code ClusterRuleSet} binds to
 * stock types ({@code Channel} with its children, {@code Manager}, {@code Deployer}, {@code ClusterListener}) and
 * stock attributes are read at start and mapped to Flotilla's settings ({@link StockTranslation}); what has no
 * equivalent is logged, or refused when it cannot be honoured. Stock {@code ReplicationValve} and {@code
 * JvmRouteBinderValve} elements are replaced by Flotilla's with their attributes; other nested {@code <Valve>}s and
 * {@code <Listener>}s are used as they are.
 *
 * <p>JMX: {@code type=Cluster} in the container's domain, its attributes described in this package's {@code
 * mbeans-descriptors.xml} and read through {@link ClusterMBean}.
 *
 * <p>Threading: setters are for the configuration thread before start; {@link #createManager}, {@link
 * #registerManager} and {@link #removeManager} may be called from any thread; the getters (JMX attributes) from any
 * thread.
 */
public final class FlotillaCluster extends LifecycleMBeanBase implements Cluster {
    private static final Log log = LogFactory.getLog(FlotillaCluster.class);

    private final Map<String, String> raw = new ConcurrentHashMap<>();
    private final List<Valve> configuredValves = new CopyOnWriteArrayList<>();
    /** The nested stock elements the digester handed over, by element name, in document order. */
    private final List<Map.Entry<String, Object>> stockElements = new CopyOnWriteArrayList<>();
    private final List<Valve> installedValves = new CopyOnWriteArrayList<>();
    private volatile DistributableHint distributableHint;
    private final Map<String, FlotillaManager> managers = new ConcurrentHashMap<>();
    private volatile Container container;
    private volatile ClusterSettings settings;
    private volatile MeterRegistry registry;
    private volatile Node node;
    /** The farm deployer, when a {@code <Deployer>} is configured and the cluster runs. */
    private volatile HostConfigFarmHost.Attached farm;
    /** Counted down when the first other member joins (a start waits for it, bounded by dropTime). */
    private volatile CountDownLatch firstPeer = new CountDownLatch(1);

    // ------------------------------------------------------------------------------------------ Cluster

    @Override
    public String getClusterName() {
        return raw.getOrDefault("clusterName", ClusterSettings.DEFAULTS.get("clusterName"));
    }

    @Override
    public void setClusterName(String clusterName) {
        set("clusterName", clusterName);
    }

    @Override
    public Container getContainer() {
        return container;
    }

    @Override
    public void setContainer(Container container) {
        this.container = container;
    }

    /** A {@link FlotillaManager} for the {@code <distributable/>} context {@code name}. */
    @Override
    public Manager createManager(String name) {
        FlotillaManager m = new FlotillaManager();
        ClusterSettings s = settings;
        if (s != null) { // the manager template's settings (a context's own <Manager> keeps its own)
            m.setMaxActiveSessions(s.maxActiveSessions);
            m.setProcessExpiresFrequency(s.processExpiresFrequency);
        }
        m.setCluster(this);
        return m;
    }

    @Override
    public void registerManager(Manager manager) {
        if (manager instanceof FlotillaManager fm) {
            fm.setCluster(this);
        } else if (manager != null) {
            log.warn("context " + (manager.getContext() == null ? "?" : manager.getContext().getName())
                    + " is <distributable/> but its manager " + manager.getClass().getName()
                    + " is not a FlotillaManager: its sessions are not replicated");
        }
    }

    @Override
    public void removeManager(Manager manager) {
        managers.values().remove(manager);
    }

    /** The node and the engines run their own timers; the farm deployer watches its folder from here, as stock's. */
    @Override
    public void backgroundProcess() {
        HostConfigFarmHost.Attached f = farm;
        if (f != null) {
            f.farm().backgroundProcess();
        }
    }

    // ------------------------------------------------------------------------------------------ nested elements

    /** A nested {@code <Valve>} (the digester calls this): used instead of the default valves. */
    public void addValve(Valve valve) {
        if (valve != null && !configuredValves.contains(valve)) {
            configuredValves.add(valve);
        }
    }

    /**
     * A nested {@code <Channel>}: Tomcat's {@code ClusterRuleSet} builds a Tribes channel (with its {@code
     * Membership}, {@code Receiver}, {@code Sender} and {@code Interceptor}s) and calls this. Its settings are read
     * and mapped to Flotilla's at start ({@link StockTranslation}); the channel itself is never started.
     */
    public void setChannel(Channel channel) {
        stock("Channel", channel);
    }

    /** A nested {@code <Manager>} ({@code DeltaManager}, {@code BackupManager}): its settings are mapped at start. */
    public void setManagerTemplate(ClusterManager manager) {
        stock("Manager", manager);
    }

    /**
     * A nested {@code <Deployer>}: Flotilla's {@link FarmDeployer}, or stock's {@code FarmWarDeployer}, translated to
     * it at start (see {@link StockTranslation}).
     */
    public void setClusterDeployer(ClusterDeployer deployer) {
        stock("Deployer", deployer);
    }

    /** A nested {@code <ClusterListener>}: stock's own are built in; any other is refused at start. */
    public void addClusterListener(ClusterListener listener) {
        stock("ClusterListener", listener);
    }

    private void stock(String element, Object bound) {
        if (bound != null) {
            stockElements.add(Map.entry(element, bound));
        }
    }

    /**
     * An attribute of {@code <Cluster>} with no setter (Tomcat's digester calls this): a stock {@code
     * SimpleTcpCluster} attribute is mapped or explained at start, anything else fails the start naming the closest
     * known attribute.
     *
     * @return true: the start reports it (so the digester does not warn a second time)
     */
    public boolean setProperty(String name, String value) {
        set(name, value);
        return true;
    }

    /** The nested valves, or, once started without any, the default ones it installed. */
    public Valve[] getValves() {
        return (installedValves.isEmpty() ? configuredValves : installedValves).toArray(new Valve[0]);
    }

    // ------------------------------------------------------------------------------------------ lifecycle

    @Override
    protected void startInternal() throws LifecycleException {
        StockTranslation.Result translation = translate();
        List<String> problems = new ArrayList<>();
        translation.notes(StockTranslation.Kind.REFUSED).forEach(n -> problems.add(n.text()));
        settings = ClusterSettings.parse(translation.attributes(), problems);
        FarmSettings farmSettings = FarmSettings.of(translation.deployer(), catalinaBase(), settings, problems);
        HostConfigFarmHost farmHost = farmSettings == null || container == null ? null
                : HostConfigFarmHost.find(container, problems);
        if (!problems.isEmpty()) { // everything at once: every refused element and every invalid attribute
            throw new LifecycleException("FlotillaCluster: " + (problems.size() == 1 ? problems.get(0)
                    : "the configuration has " + problems.size() + " problems: " + String.join("; ", problems)),
                    problems.size() == 1 ? new ConfigurationException(problems.get(0)) : null);
        }
        logTranslation(translation);
        registry = new SimpleMeterRegistry();
        firstPeer = new CountDownLatch(1);
        String route = jvmRoute();
        try {
            NodeConfig nc = NodeConfig.builder().clusterName(settings.clusterName)
                    .memberName(route == null ? "" : route).domain(settings.domain).timeout(settings.timeout)
                    .maxRetryAttempts(settings.maxRetryAttempts).waitSpin(settings.waitSpin).meterRegistry(registry)
                    .secret(settings.secret).build();
            node = Node.builder().config(nc).transport(NettyTransport.factory(settings.transport))
                    .membership(settings.membershipFactory()).onMembership(this::onMembership).start();
        } catch (FlotillaException | IllegalArgumentException e) {
            if (!settings.multicast && e.getMessage() != null && e.getMessage().startsWith("cannot bind the receiver")) {
                throw new LifecycleException("FlotillaCluster: receiverPort=" + settings.transport.port() + " on "
                        + settings.transport.address() + " is taken (" + e.getMessage() + "). With membership="
                        + (settings.dnsConfig != null ? "\"dns\" the other members reach this node only at the "
                        + "port DNS names (dnsPort, or the SRV records), so "
                        : settings.kubernetesConfig != null ? "\"kubernetes\" the other members reach this node only "
                        + "at kubernetesPort, so " : "\"static\" the other members reach this node only at the port "
                        + "their staticMembers name, so ") + "it does not move to another port "
                        + "(autoBind applies to multicast only): stop what holds the port, or change receiverPort here "
                        + (settings.dnsConfig != null ? "and in DNS" : settings.kubernetesConfig != null
                        ? "and kubernetesPort on every node" : "and in staticMembers on every node"), e);
            }
            throw new LifecycleException("FlotillaCluster could not start its node: " + e.getMessage(), e);
        }
        TomcatMeters.members(registry, () -> node == null ? 0 : node.view().size());
        log.info("FlotillaCluster " + settings.clusterName + " started as " + node.localMember().describe() + " ("
                + settings.describe() + ")");
        awaitFirstPeer(settings.dropTime);
        if (farmHost != null) {
            farm = farmHost.attach(node, farmSettings, settings, registry);
        }
        installValves(translation.valves());
        if (container != null) {
            distributableHint = DistributableHint.watch(container, settings.clusterName);
        }
        setState(LifecycleState.STARTING);
    }

    @Override
    protected void stopInternal() throws LifecycleException {
        setState(LifecycleState.STOPPING);
        DistributableHint hint = distributableHint;
        distributableHint = null;
        if (hint != null) {
            hint.close();
        }
        Container c = container;
        for (Valve v : installedValves) {
            if (c != null) {
                c.getPipeline().removeValve(v);
            }
        }
        installedValves.clear();
        HostConfigFarmHost.Attached f = farm;
        farm = null;
        if (f != null) {
            f.close();
        }
        Node n = node;
        node = null;
        if (n != null) {
            n.close(); // a graceful leave: the others take over this node's sessions at once
            log.info("FlotillaCluster " + settings.clusterName + " left the cluster");
        }
    }

    /**
     * The {@code <Cluster>} with its attributes and nested stock elements, as {@link StockTranslation} sees it; the
     * configured valves are read too, so that stock ones are replaced by Flotilla's.
     */
    StockTranslation.Result translate() {
        List<StockElement> children = new ArrayList<>();
        for (Map.Entry<String, Object> e : stockElements) {
            children.add(e.getKey().equals("Channel") ? StockObjects.channel(e.getValue())
                    : e.getValue() instanceof FarmDeployer d ? new StockElement("Deployer",
                            FarmDeployer.class.getName(), d.attributes(), List.of())
                    : StockObjects.of(e.getKey(), e.getValue()));
        }
        for (Valve v : configuredValves) {
            children.add(StockObjects.of("Valve", v));
        }
        return StockTranslation.translate(new StockElement("Cluster", getClass().getName(), raw, children));
    }

    private void logTranslation(StockTranslation.Result t) {
        for (StockTranslation.Note n : t.notes(StockTranslation.Kind.DROPPED)) {
            log.warn("FlotillaCluster: " + n.text());
        }
        if (t.stock()) {
            List<String> quiet = new ArrayList<>();
            t.notes(StockTranslation.Kind.BUILT_IN).forEach(n -> quiet.add(n.text()));
            t.notes(StockTranslation.Kind.TUNING).forEach(n -> quiet.add(n.text()));
            log.info("FlotillaCluster: read the stock cluster configuration (print its Flotilla form with `java -jar "
                    + "flotilla-tomcat.jar migrate conf/server.xml`)" + (quiet.isEmpty() ? ""
                            : "; not needed or without effect: " + String.join("; ", quiet)));
        }
    }

    /** Installs the configured valves, a stock cluster valve replaced by Flotilla's, or the two default valves. */
    private void installValves(List<StockElement> translated) {
        Container c = container;
        if (c == null) {
            return;
        }
        removeStockValves(c);
        List<Valve> valves = new ArrayList<>();
        for (int i = 0; i < configuredValves.size(); i++) {
            Valve configured = configuredValves.get(i);
            StockElement t = translated.get(i);
            valves.add(t.className().equals(configured.getClass().getName()) ? configured : flotillaValve(t));
        }
        if (valves.isEmpty()) {
            valves.add(new ReplicationValve());
            valves.add(new JvmRouteBinderValve());
        }
        for (Valve v : valves) {
            c.getPipeline().addValve(v);
            installedValves.add(v);
        }
    }

    /**
     * A stock cluster valve placed directly in the container's pipeline (not nested in {@code <Cluster>}) does nothing
     * with a FlotillaCluster: stock's ReplicationValve only warns "No cluster configured for this request" on every
     * request, its JvmRouteBinderValve ignores Flotilla's managers. Removed, with one WARN saying what to do.
     */
    private static void removeStockValves(Container c) {
        for (Valve v : c.getPipeline().getValves()) {
            String name = v.getClass().getName();
            if (name.equals(StockTranslation.STOCK_REPLICATION_VALVE) || name.equals(StockTranslation.STOCK_ROUTE_VALVE)) {
                c.getPipeline().removeValve(v);
                log.warn("FlotillaCluster: removed <Valve className=\"" + name + "\"> from the pipeline of "
                        + c.getName() + ": it does nothing with a FlotillaCluster, which installs its own valves; "
                        + "delete it from server.xml (to set the filter, nest <Valve className=\""
                        + StockTranslation.FLOTILLA_REPLICATION_VALVE + "\" filter=\"...\"/> in <Cluster>)");
            }
        }
    }

    /** Flotilla's valve in place of a stock one, with the stock valve's attributes that carry over. */
    private static Valve flotillaValve(StockElement t) {
        Valve v = t.className().equals(StockTranslation.FLOTILLA_REPLICATION_VALVE) ? new ReplicationValve()
                : new JvmRouteBinderValve();
        t.attributes().forEach((name, value) -> IntrospectionUtils.setProperty(v, name, value));
        return v;
    }

    /**
     * Waits until another member is in the view, at most {@code bound}: the web applications start right after this,
     * and a state transfer only asks members already in the view. Without the wait a restarted node whose peers had
     * not joined its view yet would start empty and hold none of their sessions until each changed (stock's
     * McastService pauses its start for the same reason).
     */
    private void awaitFirstPeer(Duration bound) {
        long start = System.nanoTime();
        try {
            if (!firstPeer.await(bound.toNanos(), TimeUnit.NANOSECONDS)) {
                log.info("FlotillaCluster " + settings.clusterName + ": no other member after " + bound.toMillis()
                        + " ms (dropTime); starting as the first one");
                return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        log.info("FlotillaCluster " + settings.clusterName + ": found " + (node.view().size() - 1)
                + " other member(s) after " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " ms");
    }

    private void onMembership(MembershipEvent e) {
        if (e instanceof MembershipEvent.Joined) {
            firstPeer.countDown();
        }
        if (log.isDebugEnabled()) { // the membership logs each change once, at INFO
            log.debug("FlotillaCluster " + getClusterName() + ": " + e + "; view " + (node == null ? "-" : node.view()));
        }
    }

    /** {@code $CATALINA_BASE}, against which the farm's relative folders are resolved (as stock's). */
    private Path catalinaBase() {
        Container c = container;
        return c != null && c.getCatalinaBase() != null ? c.getCatalinaBase().toPath()
                : Path.of(System.getProperty("catalina.base", "."));
    }

    private String jvmRoute() {
        for (Container c = container; c != null; c = c.getParent()) {
            if (c instanceof Engine engine) {
                return engine.getJvmRoute();
            }
        }
        return null;
    }

    // ------------------------------------------------------------------------------------------ for managers

    /** The started node; throws when the cluster is not started. */
    Node node() {
        Node n = node;
        if (n == null) {
            throw new IllegalStateException("FlotillaCluster " + getClusterName() + " is not started");
        }
        return n;
    }

    ClusterSettings settings() {
        ClusterSettings s = settings;
        if (s == null) {
            throw new IllegalStateException("FlotillaCluster " + getClusterName() + " is not started");
        }
        return s;
    }

    /** The settings, or null when the cluster is not started (or stopped already). */
    ClusterSettings settingsIfStarted() {
        return node == null ? null : settings;
    }

    MeterRegistry registry() {
        return registry;
    }

    /**
     * The JMX operation {@code drain}: every web application hands the sessions this member owns to their next owners
     * now (in parallel, each bounded by {@code drainTimeout}, or {@code timeout} when that is 0); the node stays in the
     * cluster and keeps serving (a request here moves its session back). Take the node out of the balancer first.
     *
     * @return one line per web application: what was handed over and what not
     */
    public String drain() {
        ClusterSettings s = settings();
        Duration bound = s.drainTimeout.isZero() ? s.timeout : s.drainTimeout;
        Map<String, CompletableFuture<DrainReport>> started = new TreeMap<>();
        managers.forEach((name, m) -> started.put(name, m.drain(bound)));
        return started.entrySet().stream().map(e -> e.getKey() + ": "
                + FlotillaManager.await("FlotillaCluster drain of " + e.getKey(), e.getValue(), bound))
                .collect(Collectors.joining("\n"));
    }

    void started(String namespace, FlotillaManager m) {
        managers.put(namespace, m);
    }

    void stopped(String namespace, FlotillaManager m) {
        managers.remove(namespace, m);
    }

    // ------------------------------------------------------------------------------------------ JMX attributes

    /** The members of the current view, oldest first, as {@code name host:port}. */
    public String getMembers() {
        Node n = node;
        return n == null ? "" : n.view().members().stream().map(Member::describe).collect(Collectors.joining(", "));
    }

    public int getMemberCount() {
        Node n = node;
        return n == null ? 0 : n.view().size();
    }

    public long getViewId() {
        Node n = node;
        return n == null ? -1 : n.view().id();
    }

    public String getLocalMember() {
        Node n = node;
        return n == null ? "" : n.localMember().describe();
    }

    /** The web applications replicating through this cluster. */
    public String getManagerNames() {
        return String.join(", ", managers.keySet());
    }

    /** Unacknowledged messages queued for all members. */
    public long getQueueDepth() {
        return Math.round(gauge("flotilla.send.queue.depth"));
    }

    /**
     * The farm's WARs held here ({@code app.war sha256=… 1234 bytes from node1}, comma separated); empty without a
     * {@code <Deployer>}.
     */
    public String getFarmWars() {
        HostConfigFarmHost.Attached f = farm;
        return f == null ? "" : f.farm().deployed();
    }

    public long getMessagesSent() {
        return count("flotilla.messages.sent");
    }

    public long getMessagesReceived() {
        return count("flotilla.messages.received");
    }

    /** The sum of the counters named {@code name}, as the whole number it counts. */
    private long count(String name) {
        MeterRegistry r = registry;
        return r == null ? 0 : Math.round(r.find(name).counters().stream().mapToDouble(c -> c.count()).sum());
    }

    /** The attributes {@link ClusterMBean} answers (this package's {@code mbeans-descriptors.xml} lists them). */
    static final List<String> JMX_RUNTIME = List.of("className", "stateName", "members", "memberCount",
            "viewId", "localMember", "managerNames", "queueDepth", "messagesSent", "messagesReceived", "farmWars");

    /** Configuration attributes shown over JMX: all but the security ones (secret, key stores, their passwords). */
    static final List<String> JMX_CONFIGURATION = ClusterSettings.DEFAULTS.keySet().stream()
            .filter(n -> !ClusterSettings.SECURITY.contains(n)).toList();

    /** Attributes of multicast membership only; {@code staticMembers} and the {@code dns*} ones are the others'. */
    private static final List<String> MULTICAST_ONLY = List.of("address", "port", "ttl", "bind", "autoBind");

    boolean hasJmxAttribute(String name) {
        String kind = get("membership").trim().toLowerCase(Locale.ROOT);
        if (MULTICAST_ONLY.contains(name)) {
            return !List.of("static", "dns", "kubernetes").contains(kind);
        }
        if (ClusterSettings.KUBERNETES_ONLY.contains(name)) {
            return kind.equals("kubernetes");
        }
        if (name.equals("staticMembers")) {
            return kind.equals("static");
        }
        if (ClusterSettings.DNS_ONLY.contains(name)) {
            return kind.equals("dns");
        }
        return JMX_RUNTIME.contains(name) || JMX_CONFIGURATION.contains(name);
    }

    /** The value of JMX attribute {@code name} (see {@link ClusterMBean}); null when there is none. */
    Object jmxAttribute(String name) {
        return switch (name) {
            case "className" -> getClass().getName();
            case "stateName" -> getStateName();
            case "members" -> getMembers();
            case "memberCount" -> getMemberCount();
            case "viewId" -> getViewId();
            case "localMember" -> getLocalMember();
            case "managerNames" -> getManagerNames();
            case "queueDepth" -> getQueueDepth();
            case "messagesSent" -> getMessagesSent();
            case "messagesReceived" -> getMessagesReceived();
            case "farmWars" -> getFarmWars();
            default -> JMX_CONFIGURATION.contains(name) ? get(name) : null;
        };
    }

    /** The meter registry behind the JMX attributes (a private {@code SimpleMeterRegistry}); null before start. */
    public MeterRegistry getMeterRegistry() {
        return registry;
    }

    private double gauge(String name) {
        MeterRegistry r = registry;
        Gauge g = r == null ? null : r.find(name).gauge();
        return g == null ? 0 : g.value();
    }

    @Override
    protected String getDomainInternal() {
        Container c = container;
        return c == null ? null : c.getDomain();
    }

    @Override
    protected String getObjectNameKeyProperties() {
        Container c = container;
        return "type=Cluster" + (c == null ? "" : c.getMBeanKeyProperties());
    }

    // ------------------------------------------------------------------------------------------ attributes

    private void set(String name, String value) {
        if (value == null) {
            raw.remove(name);
        } else {
            raw.put(name, value);
        }
    }

    /** The effective value once started (a translated stock block included), before that the text set or the default. */
    private String get(String name) {
        ClusterSettings s = settings;
        return s != null ? s.effective.get(name) : raw.getOrDefault(name, ClusterSettings.DEFAULTS.get(name));
    }

    /** {@code multicast} (default), {@code static}, {@code dns} or {@code kubernetes}. */
    public void setMembership(String v) {
        set("membership", v);
    }

    public String getMembership() {
        return get("membership");
    }

    /** Multicast group, default 228.0.0.4 (Tomcat's {@code Membership address}). */
    public void setAddress(String v) {
        set("address", v);
    }

    public String getAddress() {
        return get("address");
    }

    /** Multicast port, default 45564 (Tomcat's {@code Membership port}). */
    public void setPort(String v) {
        set("port", v);
    }

    public String getPort() {
        return get("port");
    }

    /** Milliseconds between heartbeats (or static probes), default 500. */
    public void setFrequency(String v) {
        set("frequency", v);
    }

    public String getFrequency() {
        return get("frequency");
    }

    /** Milliseconds of silence before a member is suspected and verified over TCP, default 3000. */
    public void setDropTime(String v) {
        set("dropTime", v);
    }

    public String getDropTime() {
        return get("dropTime");
    }

    /** Multicast TTL, default 1. */
    public void setTtl(String v) {
        set("ttl", v);
    }

    public String getTtl() {
        return get("ttl");
    }

    /** Network interface (name or address) multicast joins and sends on; default the system's choice. */
    public void setBind(String v) {
        set("bind", v);
    }

    public String getBind() {
        return get("bind");
    }

    /**
     * Members of other membership domains are ignored; default none. Stock's {@code <Membership domain>}: on a
     * Tomcat component {@code domain} is already the JMX domain ({@link #setDomain}), hence the longer name.
     */
    public void setMembershipDomain(String v) {
        set("membershipDomain", v);
    }

    public String getMembershipDomain() {
        return get("membershipDomain");
    }

    /** With {@code membership="static"}: {@code host:port,host:port,...} (this node's own entry may be listed). */
    public void setStaticMembers(String v) {
        set("staticMembers", v);
    }

    public String getStaticMembers() {
        return get("staticMembers");
    }

    /**
     * With {@code membership="dns"}: the DNS name that lists the members (a Kubernetes headless Service such as
     * {@code tomcat.shop.svc.cluster.local}, or an SRV name); default the environment variable
     * {@code DNS_MEMBERSHIP_SERVICE_NAME}, as stock's DNS membership.
     */
    public void setDnsName(String v) {
        set("dnsName", v);
    }

    public String getDnsName() {
        return get("dnsName");
    }

    /** With {@code membership="dns"}: {@code A} (A and AAAA records, default) or {@code SRV}. */
    public void setDnsRecordType(String v) {
        set("dnsRecordType", v);
    }

    public String getDnsRecordType() {
        return get("dnsRecordType");
    }

    /** With {@code membership="dns"} and A records: the members' receiver port; default this node's receiverPort. */
    public void setDnsPort(String v) {
        set("dnsPort", v);
    }

    public String getDnsPort() {
        return get("dnsPort");
    }

    /** With {@code membership="dns"}: the DNS server, {@code host[:port]}; default the system's resolver. */
    public void setDnsServer(String v) {
        set("dnsServer", v);
    }

    public String getDnsServer() {
        return get("dnsServer");
    }

    /** With {@code membership="kubernetes"}: the pods' namespace; default $KUBERNETES_NAMESPACE, or the pod's. */
    public void setKubernetesNamespace(String v) {
        set("kubernetesNamespace", v);
    }

    public String getKubernetesNamespace() {
        return get("kubernetesNamespace");
    }

    /** With {@code membership="kubernetes"}: the pods' label selector, e.g. app=shop; default $KUBERNETES_LABELS. */
    public void setKubernetesLabels(String v) {
        set("kubernetesLabels", v);
    }

    public String getKubernetesLabels() {
        return get("kubernetesLabels");
    }

    /** With {@code membership="kubernetes"}: the members' receiver port; default this node's receiverPort. */
    public void setKubernetesPort(String v) {
        set("kubernetesPort", v);
    }

    public String getKubernetesPort() {
        return get("kubernetesPort");
    }

    /** With {@code membership="kubernetes"}: {@code https://host:port}; default from $KUBERNETES_SERVICE_HOST. */
    public void setKubernetesApiServer(String v) {
        set("kubernetesApiServer", v);
    }

    public String getKubernetesApiServer() {
        return get("kubernetesApiServer");
    }

    /** Receiver address, default {@code auto} (the first non-loopback address). */
    public void setReceiverAddress(String v) {
        set("receiverAddress", v);
    }

    public String getReceiverAddress() {
        return get("receiverAddress");
    }

    /** Receiver port, default 4000; 0 picks a free one. */
    public void setReceiverPort(String v) {
        set("receiverPort", v);
    }

    public String getReceiverPort() {
        return get("receiverPort");
    }

    /** Ports tried after {@code receiverPort} when it is taken, default 100. */
    public void setAutoBind(String v) {
        set("autoBind", v);
    }

    public String getAutoBind() {
        return get("autoBind");
    }

    /** Milliseconds, default 5000 (Tomcat's {@code Receiver selectorTimeout}). */
    public void setSelectorTimeout(String v) {
        set("selectorTimeout", v);
    }

    public String getSelectorTimeout() {
        return get("selectorTimeout");
    }

    /**
     * {@code true}: Netty's native epoll transport where it loads; default {@code false}, NIO, on which request
     * threads write their synchronous replication to the socket themselves (a shorter round trip).
     */
    public void setNativeTransport(String v) {
        set("nativeTransport", v);
    }

    public String getNativeTransport() {
        return get("nativeTransport");
    }

    /**
     * Lanes per member, default 0 (none): with N, a request thread writes its synchronous replication ({@code
     * channelSendOptions} 2 or 6) on a connection of its own and reads the answer itself, as stock's pooled sender
     * does, instead of being woken by the I/O thread that read it. Not with TLS.
     */
    public void setLanes(String v) {
        set("lanes", v);
    }

    public String getLanes() {
        return get("lanes");
    }

    /**
     * Microseconds a request waiting for its synchronous replication spins before it parks, default 20 (about a
     * loopback round trip), at most 1000; only while it is the only request waiting, and it stops for a while after
     * answers took longer. {@code 0}: never spins.
     */
    public void setWaitSpinMicros(String v) {
        set("waitSpinMicros", v);
    }

    public String getWaitSpinMicros() {
        return get("waitSpinMicros");
    }

    /**
     * Microseconds an event loop polls its sockets, yielding the CPU, before it blocks in the selector, default 50:
     * an answer or a delta that arrives meanwhile is read without waking the loop (on virtual machines that halt an
     * idle CPU, tens of microseconds a wake-up). Backs off after 8 empty spins in a row; 0 blocks at once (the polls
     * count against a CPU quota).
     */
    public void setIoSpinMicros(String v) {
        set("ioSpinMicros", v);
    }

    public String getIoSpinMicros() {
        return get("ioSpinMicros");
    }

    /** Connections per member, default 2 (Tomcat's {@code Transport poolSize}, here much smaller). */
    public void setPoolSize(String v) {
        set("poolSize", v);
    }

    public String getPoolSize() {
        return get("poolSize");
    }

    /** Milliseconds a synchronous replication (and a full send queue) waits, default 3000. */
    public void setTimeout(String v) {
        set("timeout", v);
    }

    public String getTimeout() {
        return get("timeout");
    }

    public void setMaxRetryAttempts(String v) {
        set("maxRetryAttempts", v);
    }

    public String getMaxRetryAttempts() {
        return get("maxRetryAttempts");
    }

    /** 8/{@code async} (default), 2/{@code use_ack}, 6/{@code use_ack,synchronized_ack}. */
    public void setChannelSendOptions(String v) {
        set("channelSendOptions", v);
    }

    public String getChannelSendOptions() {
        return get("channelSendOptions");
    }

    /**
     * Who holds a copy of each session: {@code all} (default: every member, as {@code DeltaManager}) or {@code backup}
     * (the member that owns it plus {@link #setBackups backups} members chosen by rendezvous hashing: a request costs
     * O(backups) messages whatever the cluster's size, as {@code BackupManager}).
     */
    public void setMode(String v) {
        set("mode", v);
    }

    public String getMode() {
        return get("mode");
    }

    /** With {@code mode="backup"}: copies of each session besides its owner's, 1 to 16, default 1. */
    public void setBackups(String v) {
        set("backups", v);
    }

    public String getBackups() {
        return get("backups");
    }

    /** Seconds a starting web application waits for the sessions of the others, default 60. */
    public void setStateTransferTimeout(String v) {
        set("stateTransferTimeout", v);
    }

    public String getStateTransferTimeout() {
        return get("stateTransferTimeout");
    }

    /**
     * Seconds a stopping web application may take to hand the sessions it owns to their next owners before the node
     * leaves (a graceful drain; also the JMX operation {@code drain}), default 10; 0: no drain (the others take the
     * sessions over at their next requests).
     */
    public void setDrainTimeout(String v) {
        set("drainTimeout", v);
    }

    public String getDrainTimeout() {
        return get("drainTimeout");
    }

    /** Sessions each web application may hold at once, default -1 (no limit): stock's manager template's. */
    public void setMaxActiveSessions(String v) {
        set("maxActiveSessions", v);
    }

    public String getMaxActiveSessions() {
        return get("maxActiveSessions");
    }

    /** Every how many background runs a web application's sessions are checked for expiry, default 6. */
    public void setProcessExpiresFrequency(String v) {
        set("processExpiresFrequency", v);
    }

    public String getProcessExpiresFrequency() {
        return get("processExpiresFrequency");
    }

    public void setNotifyListenersOnReplication(String v) {
        set("notifyListenersOnReplication", v);
    }

    public String getNotifyListenersOnReplication() {
        return get("notifyListenersOnReplication");
    }

    /** Regex: only attributes whose whole name matches replicate; default all. */
    public void setSessionAttributeNameFilter(String v) {
        set("sessionAttributeNameFilter", v);
    }

    public String getSessionAttributeNameFilter() {
        return get("sessionAttributeNameFilter");
    }

    /** Tomcat's class-name regex, turned into {@code allowedClasses} patterns. */
    public void setSessionAttributeValueClassNameFilter(String v) {
        set("sessionAttributeValueClassNameFilter", v);
    }

    public String getSessionAttributeValueClassNameFilter() {
        return get("sessionAttributeValueClassNameFilter");
    }

    /** Classes attribute values may hold beyond the JDK defaults: {@code com.example.Cart, com.example.**}. */
    public void setAllowedClasses(String v) {
        set("allowedClasses", v);
    }

    public String getAllowedClasses() {
        return get("allowedClasses");
    }

    /**
     * {@code true}: classes defined by each web application itself (its {@code WEB-INF/classes}) may be attribute
     * values too, except known gadget packages; {@code false} (default, but {@code true} for a translated stock block
     * that names no {@code allowedClasses}): only {@code allowedClasses} and the JDK defaults.
     */
    public void setAllowApplicationClasses(String v) {
        set("allowApplicationClasses", v);
    }

    public String getAllowApplicationClasses() {
        return get("allowApplicationClasses");
    }

    /** {@code fail} (default: setAttribute throws) or {@code skip} (kept locally, WARN and a counter). */
    public void setOnUnserializable(String v) {
        set("onUnserializable", v);
    }

    public String getOnUnserializable() {
        return get("onUnserializable");
    }

    /** {@code off} (default), {@code mutable_types} or {@code always}. */
    public void setMutationDetection(String v) {
        set("mutationDetection", v);
    }

    public String getMutationDetection() {
        return get("mutationDetection");
    }

    /** Default true: a synchronous replication that fails answers 500 when the response is not committed. */
    public void setFailRequestOnReplicationError(String v) {
        set("failRequestOnReplicationError", v);
    }

    public String getFailRequestOnReplicationError() {
        return get("failRequestOnReplicationError");
    }

    // Security (docs/security.md). Setters only: the digester needs no getter, and a getter would make the secret
    // and the passwords readable as MBean attributes.

    /** The cluster secret itself; prefer {@link #setSecretFile} or {@link #setSecretEnv} (out of server.xml). */
    public void setSecret(String v) {
        set("secret", v);
    }

    /** A file whose first line is the cluster secret (readable by the Tomcat user only). */
    public void setSecretFile(String v) {
        set("secretFile", v);
    }

    /** An environment variable that holds the cluster secret. */
    public void setSecretEnv(String v) {
        set("secretEnv", v);
    }

    /** Mutual TLS from PKCS12: this node's key store. */
    public void setTlsKeyStore(String v) {
        set("tlsKeyStore", v);
    }

    public void setTlsKeyStorePassword(String v) {
        set("tlsKeyStorePassword", v);
    }

    /** Mutual TLS from PKCS12: the trust store that decides which peers are members. */
    public void setTlsTrustStore(String v) {
        set("tlsTrustStore", v);
    }

    public void setTlsTrustStorePassword(String v) {
        set("tlsTrustStorePassword", v);
    }

    /** Mutual TLS from PEM: this node's certificate chain. */
    public void setTlsCertificate(String v) {
        set("tlsCertificate", v);
    }

    /** Mutual TLS from PEM: this node's unencrypted PKCS#8 private key. */
    public void setTlsKey(String v) {
        set("tlsKey", v);
    }

    /** Mutual TLS from PEM: the trusted certificates. */
    public void setTlsTrustedCertificates(String v) {
        set("tlsTrustedCertificates", v);
    }
}
