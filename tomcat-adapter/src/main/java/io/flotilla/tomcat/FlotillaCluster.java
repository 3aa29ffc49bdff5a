package io.flotilla.tomcat;

import io.flotilla.ConfigurationException;
import io.flotilla.FlotillaException;
import io.flotilla.Member;
import io.flotilla.MembershipEvent;
import io.flotilla.Node;
import io.flotilla.NodeConfig;
import io.flotilla.transport.netty.NettyTransport;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
import org.apache.catalina.util.LifecycleMBeanBase;
import org.apache.juli.logging.Log;
import org.apache.juli.logging.LogFactory;

/**
 * Flotilla's {@link Cluster} for Tomcat: {@code <Cluster className="io.flotilla.tomcat.FlotillaCluster" .../>} in
 * an {@code <Engine>} or {@code <Host>} of {@code server.xml}. It owns the one {@link Node} of this Tomcat (started
 * in {@link #startInternal}, left in {@link #stopInternal}), gives every {@code <distributable/>} web application a
 * {@link FlotillaManager} on its own replication stream, and puts its valves ({@link ReplicationValve},
 * {@link JvmRouteBinderValve}, or the nested {@code <Valve>} elements) in the container's pipeline.
 *
 * <p>Configuration is by attributes with Tomcat's names (see {@code docs/tomcat.md}); setters only store the text,
 * and {@link #startInternal} checks everything once: a bad value fails the start with a message naming the
 * attribute, the value and what is allowed. The nested elements Tomcat's {@code ClusterRuleSet} binds to Tribes
 * types ({@code Channel}, {@code Manager}, {@code Deployer}, {@code ClusterListener}) have no meaning here: the start
 * fails naming the element and the attributes to use instead. Nested {@code <Valve>} and {@code <Listener>} work.
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
    private final List<String> unsupportedElements = new CopyOnWriteArrayList<>();
    private final List<Valve> installedValves = new CopyOnWriteArrayList<>();
    private final Map<String, FlotillaManager> managers = new ConcurrentHashMap<>();
    private volatile Container container;
    private volatile ClusterSettings settings;
    private volatile MeterRegistry registry;
    private volatile Node node;
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

    @Override
    public void backgroundProcess() {
        // the node and the engines run their own timers
    }

    // ------------------------------------------------------------------------------------------ nested elements

    /** A nested {@code <Valve>} (the digester calls this): used instead of the default valves. */
    public void addValve(Valve valve) {
        if (valve != null && !configuredValves.contains(valve)) {
            configuredValves.add(valve);
        }
    }

    /**
     * A nested {@code <Channel>}: Tomcat's {@code ClusterRuleSet} builds a Tribes channel and calls this. Flotilla
     * has its own membership and transport, configured by attributes: the start fails saying so.
     */
    public void setChannel(org.apache.catalina.tribes.Channel channel) {
        unsupported("Channel", channel, "set the membership and receiver attributes on <Cluster> instead "
                + "(membership, address, port, frequency, dropTime, bind, staticMembers, receiverAddress, receiverPort, "
                + "autoBind, timeout, ...)");
    }

    /** A nested {@code <Manager>} (stock's manager template): refused at start; the options are attributes. */
    public void setManagerTemplate(org.apache.catalina.ha.ClusterManager manager) {
        unsupported("Manager", manager, "every <distributable/> application gets a FlotillaManager; set its options "
                + "as attributes on <Cluster> (notifyListenersOnReplication, stateTransferTimeout, "
                + "sessionAttributeNameFilter, sessionAttributeValueClassNameFilter, ...)");
    }

    /** A nested {@code <Deployer>} (stock's {@code FarmWarDeployer}): refused at start. */
    public void setClusterDeployer(org.apache.catalina.ha.ClusterDeployer deployer) {
        unsupported("Deployer", deployer, "Flotilla has no farm deployer; deploy the application on every node");
    }

    /** A nested {@code <ClusterListener>}: refused at start; what stock's listeners do is built in. */
    public void addClusterListener(org.apache.catalina.ha.ClusterListener listener) {
        unsupported("ClusterListener", listener, "Flotilla needs none (what ClusterSessionListener does is built "
                + "in)");
    }

    private void unsupported(String element, Object bound, String instead) {
        unsupportedElements.add("<" + element + (bound == null ? "" : " className=\"" + bound.getClass().getName()
                + "\"") + "> inside a Flotilla <Cluster> is not supported: " + instead
                + "; then delete the element (see docs/tomcat.md)");
    }

    /** The nested valves, or, once started without any, the default ones it installed. */
    public Valve[] getValves() {
        return (installedValves.isEmpty() ? configuredValves : installedValves).toArray(new Valve[0]);
    }

    // ------------------------------------------------------------------------------------------ lifecycle

    @Override
    protected void startInternal() throws LifecycleException {
        if (!unsupportedElements.isEmpty()) {
            throw new LifecycleException("FlotillaCluster: " + String.join("\n", unsupportedElements));
        }
        try {
            settings = ClusterSettings.parse(raw);
        } catch (ConfigurationException e) {
            throw new LifecycleException("FlotillaCluster: " + e.getMessage(), e);
        }
        registry = new SimpleMeterRegistry();
        firstPeer = new CountDownLatch(1);
        String route = jvmRoute();
        try {
            NodeConfig nc = NodeConfig.builder().clusterName(settings.clusterName)
                    .memberName(route == null ? "" : route).domain(settings.domain).timeout(settings.timeout)
                    .maxRetryAttempts(settings.maxRetryAttempts).meterRegistry(registry).secret(settings.secret).build();
            node = Node.builder().config(nc).transport(NettyTransport.factory(settings.transport))
                    .membership(settings.membershipFactory()).onMembership(this::onMembership).start();
        } catch (FlotillaException | IllegalArgumentException e) {
            throw new LifecycleException("FlotillaCluster could not start its node: " + e.getMessage(), e);
        }
        TomcatMeters.members(registry, () -> node == null ? 0 : node.view().size());
        log.info("FlotillaCluster " + settings.clusterName + " started as " + node.localMember().describe() + " ("
                + settings.describe() + ")");
        awaitFirstPeer(settings.dropTime);
        installValves();
        setState(LifecycleState.STARTING);
    }

    @Override
    protected void stopInternal() throws LifecycleException {
        setState(LifecycleState.STOPPING);
        Container c = container;
        for (Valve v : installedValves) {
            if (c != null) {
                c.getPipeline().removeValve(v);
            }
        }
        installedValves.clear();
        Node n = node;
        node = null;
        if (n != null) {
            n.close(); // a graceful leave: the others take over this node's sessions at once
            log.info("FlotillaCluster " + settings.clusterName + " left the cluster");
        }
    }

    private void installValves() {
        Container c = container;
        if (c == null) {
            return;
        }
        List<Valve> valves = new ArrayList<>(configuredValves);
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
     * Waits until another member is in the view, at most {@code bound}: the web applications start right after this,
     * and a state transfer only asks members already in the view. Without the wait a restarted node whose peers had
     * not joined its view yet would start empty and hold none of their sessions until each changed (stock's
     * McastService pauses its start for the same reason).
     */
    private void awaitFirstPeer(java.time.Duration bound) {
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
        log.info("FlotillaCluster " + getClusterName() + ": " + e + "; view " + (node == null ? "-" : node.view()));
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

    MeterRegistry registry() {
        return registry;
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
    public double getQueueDepth() {
        return gauge("flotilla.send.queue.depth");
    }

    public double getMessagesSent() {
        MeterRegistry r = registry;
        return r == null ? 0 : r.find("flotilla.messages.sent").counters().stream().mapToDouble(c -> c.count()).sum();
    }

    public double getMessagesReceived() {
        MeterRegistry r = registry;
        return r == null ? 0
                : r.find("flotilla.messages.received").counters().stream().mapToDouble(c -> c.count()).sum();
    }

    /** The attributes {@link ClusterMBean} answers (this package's {@code mbeans-descriptors.xml} lists them). */
    static final List<String> JMX_RUNTIME = List.of("className", "stateName", "members", "memberCount",
            "viewId", "localMember", "managerNames", "queueDepth", "messagesSent", "messagesReceived");

    /** Configuration attributes shown over JMX: all but the security ones (secret, key stores, their passwords). */
    static final List<String> JMX_CONFIGURATION = ClusterSettings.DEFAULTS.keySet().stream()
            .filter(n -> !ClusterSettings.SECURITY.contains(n)).toList();

    boolean hasJmxAttribute(String name) {
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

    private String get(String name) {
        return raw.getOrDefault(name, ClusterSettings.DEFAULTS.get(name));
    }

    /** {@code multicast} (default) or {@code static}. */
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

    /** Seconds a starting web application waits for the sessions of the others, default 60. */
    public void setStateTransferTimeout(String v) {
        set("stateTransferTimeout", v);
    }

    public String getStateTransferTimeout() {
        return get("stateTransferTimeout");
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
