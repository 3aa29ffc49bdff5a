package io.flotilla.tomcat.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.jar.JarFile;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * What goes into a node's {@code <Engine>} as its {@code <Cluster>} element, and what the node needs besides: the
 * only thing that differs between a stock Tomcat cluster and a Flotilla one. Switching the harness, the tests or
 * {@code ./demo.sh tomcat} from one to the other is choosing another {@code ClusterConfig}.
 *
 * <p>Threading: implementations are immutable.
 */
public interface ClusterConfig {

    /** How the members find each other. */
    enum Membership {
        /** Multicast heartbeats on the loopback interface, TTL 0, a free port: nothing leaves the machine. */
        MULTICAST,
        /** A fixed list of every member's {@code 127.0.0.1:<receiver port>}. */
        STATIC
    }

    /** A short name for logs and test names: {@code stock} or {@code flotilla}. */
    String name();

    /** The {@code <Cluster>} element of {@code node} (0-based) in a cluster laid out as {@code layout}. */
    String clusterXml(ClusterLayout layout, int node);

    /** Jars copied into every {@code CATALINA_BASE/lib}. */
    List<Path> libJars();

    /** Why this configuration cannot run here (e.g. the adapter is not in the jar yet), or empty when it can. */
    Optional<String> unavailable();

    /**
     * A console-log line a (re)started node prints once it holds the cluster's sessions, or empty when the node
     * only answers HTTP after it has them (stock {@code DeltaManager} blocks the webapp start on its state transfer).
     */
    Optional<Pattern> sessionsReceivedLine();

    /**
     * Stock Tomcat: {@code SimpleTcpCluster} with {@code DeltaManager}, Tribes' {@code NioReceiver} on 127.0.0.1 and
     * {@code McastService} bound to the loopback interface with TTL 0 (needs {@code -Djava.net.preferIPv4Stack=true},
     * which the harness always sets).
     */
    static ClusterConfig stock() {
        return new StockCluster(8);
    }

    /** As {@link #stock()} with the given {@code channelSendOptions} (8 async, 2 received, 6 processed). */
    static ClusterConfig stock(int channelSendOptions) {
        return new StockCluster(channelSendOptions);
    }

    /**
     * Flotilla: {@code io.flotilla.tomcat.FlotillaCluster} from the drop-in jar, copied into {@code CATALINA_BASE/lib}.
     *
     * @param jar {@code tomcat-adapter/target/flotilla-tomcat-<version>.jar} ({@code flotilla-tomcat9} for Tomcat 9:
     *     {@link #dropInJar(TomcatLine)})
     * @param membership static list or loopback multicast
     * @param channelSendOptions Tomcat's numbers: 8 async, 2 received, 6 processed
     */
    static ClusterConfig flotilla(Path jar, Membership membership, int channelSendOptions) {
        return new FlotillaClusterConfig(jar, membership, channelSendOptions, "");
    }

    /**
     * The drop-in jar for {@code line}: {@link #dropInJar()} for the jakarta lines; for Tomcat 9 the javax build,
     * system property {@code flotilla.tomcat9.jar}, else {@code tomcat9/target/flotilla-tomcat9-<version>.jar}.
     */
    static Path dropInJar(TomcatLine line) {
        if (!line.javax()) {
            return dropInJar();
        }
        String configured = System.getProperty("flotilla.tomcat9.jar");
        if (configured != null) {
            return Path.of(configured).toAbsolutePath();
        }
        String version = System.getProperty("flotilla.version", "0.1.0-SNAPSHOT");
        return Path.of("tomcat9", "target", "flotilla-tomcat9-" + version + ".jar").toAbsolutePath();
    }

    /** The drop-in jar the build made: system property {@code flotilla.jar}, else found in {@code target}. */
    static Path dropInJar() {
        String configured = System.getProperty("flotilla.jar");
        if (configured != null) {
            return Path.of(configured).toAbsolutePath();
        }
        String version = System.getProperty("flotilla.version", "0.1.0-SNAPSHOT");
        return Path.of("target", "flotilla-tomcat-" + version + ".jar").toAbsolutePath();
    }

    /**
     * The stock cluster.
     *
     * @param channelSendOptions Tribes' send options for session messages
     */
    record StockCluster(int channelSendOptions) implements ClusterConfig {
        @Override
        public String name() {
            return "stock";
        }

        @Override
        public String clusterXml(ClusterLayout layout, int node) {
            ClusterLayout.NodePorts self = layout.nodes().get(node);
            return """
                    <Cluster className="org.apache.catalina.ha.tcp.SimpleTcpCluster" channelSendOptions="%d">
                      <Manager className="org.apache.catalina.ha.session.DeltaManager"
                               expireSessionsOnShutdown="false" notifyListenersOnReplication="true"
                               stateTransferTimeout="20"/>
                      <Channel className="org.apache.catalina.tribes.group.GroupChannel">
                        <Membership className="org.apache.catalina.tribes.membership.McastService"
                                    address="%s" port="%d" bind="127.0.0.1" ttl="0"
                                    frequency="500" dropTime="3000"/>
                        <Receiver className="org.apache.catalina.tribes.transport.nio.NioReceiver"
                                  address="127.0.0.1" port="%d" autoBind="10" selectorTimeout="100" maxThreads="6"/>
                        <Sender className="org.apache.catalina.tribes.transport.ReplicationTransmitter">
                          <Transport className="org.apache.catalina.tribes.transport.nio.PooledParallelSender"/>
                        </Sender>
                        <Interceptor className="org.apache.catalina.tribes.group.interceptors.TcpFailureDetector"/>
                        <Interceptor className="org.apache.catalina.tribes.group.interceptors.MessageDispatchInterceptor"/>
                      </Channel>
                      <Valve className="org.apache.catalina.ha.tcp.ReplicationValve" filter=""/>
                      <Valve className="org.apache.catalina.ha.session.JvmRouteBinderValve"/>
                      <ClusterListener className="org.apache.catalina.ha.session.ClusterSessionListener"/>
                    </Cluster>
                    """.formatted(channelSendOptions, layout.multicastAddress(), layout.multicastPort(),
                    self.receiver());
        }

        @Override
        public List<Path> libJars() {
            return List.of();
        }

        @Override
        public Optional<String> unavailable() {
            return Optional.empty();
        }

        @Override
        public Optional<Pattern> sessionsReceivedLine() {
            return Optional.empty();
        }
    }

    /**
     * The Flotilla cluster.
     *
     * @param jar the drop-in jar
     * @param membership how members find each other
     * @param channelSendOptions Tomcat's send option numbers
     * @param attributes more {@code <Cluster>} attributes, e.g. {@code mode="backup"}, or empty
     */
    record FlotillaClusterConfig(Path jar, Membership membership, int channelSendOptions, String attributes)
            implements ClusterConfig {
        /** The class the adapter must provide. */
        static final String CLUSTER_CLASS_ENTRY = "io/flotilla/tomcat/FlotillaCluster.class";

        @Override
        public String name() {
            return "flotilla";
        }

        /** This configuration with {@code more} {@code <Cluster>} attributes. */
        FlotillaClusterConfig with(String more) {
            return new FlotillaClusterConfig(jar, membership, channelSendOptions, (attributes + " " + more).strip());
        }

        @Override
        public String clusterXml(ClusterLayout layout, int node) {
            ClusterLayout.NodePorts self = layout.nodes().get(node);
            String members = membership == Membership.STATIC
                    ? """
                       membership="static" staticMembers="%s"\
                    """.formatted(layout.nodes().stream().map(n -> "127.0.0.1:" + n.receiver())
                            .collect(Collectors.joining(",")))
                    : """
                       membership="multicast" address="%s" port="%d" bind="lo" ttl="0"\
                    """.formatted(layout.multicastAddress(), layout.multicastPort());
            return """
                    <Cluster className="io.flotilla.tomcat.FlotillaCluster"
                             %s
                             receiverAddress="127.0.0.1" receiverPort="%d" channelSendOptions="%d" %s/>
                    """.formatted(members.strip(), self.receiver(), channelSendOptions, attributes);
        }

        @Override
        public List<Path> libJars() {
            return List.of(jar);
        }

        @Override
        public Optional<String> unavailable() {
            if (!Files.isRegularFile(jar)) {
                return Optional.of("the drop-in jar " + jar + " is not built (run `mvn -pl tomcat-adapter -am package`)");
            }
            try (JarFile file = new JarFile(jar.toFile())) {
                if (file.getEntry(CLUSTER_CLASS_ENTRY) == null) {
                    return Optional.of("io.flotilla.tomcat.FlotillaCluster is not in " + jar.getFileName()
                            + " yet: the adapter has not landed");
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + jar, e);
            }
            return Optional.empty();
        }

        @Override
        public Optional<Pattern> sessionsReceivedLine() {
            // The manager's INFO line once its state transfer is done (or there was nobody to ask); in backup mode,
            // with no state transfer (the owners push what a node holds), at once.
            return Optional.of(Pattern.compile("FlotillaManager \\S+ started: StateTransfer\\[.*done=true"));
        }
    }
}
