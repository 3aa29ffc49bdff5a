package io.flotilla.tomcat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.xml.parsers.DocumentBuilderFactory;
import org.apache.catalina.Engine;
import org.apache.catalina.LifecycleEvent;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.LifecycleListener;
import org.apache.catalina.Server;
import org.apache.catalina.ha.ClusterListener;
import org.apache.catalina.ha.ClusterMessage;
import org.apache.catalina.startup.Catalina;
import org.apache.tomcat.util.digester.Digester;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.w3c.dom.Element;
import org.xml.sax.InputSource;

/**
 * A {@code server.xml} read by Tomcat's own start digester ({@link Catalina}'s rules, {@code ClusterRuleSet}
 * included), in process: nested {@code <Valve>} and {@code <Listener>} reach the cluster; the stock elements are
 * read from the objects the digester built exactly as the migrate command reads them from the file; what cannot be
 * honoured fails the start, with every problem in one message. {@code StockServerXmlIT} runs such blocks.
 */
class ServerXmlDigesterTest {
    /** Every lifecycle event it sees, by type. */
    public static final class RecordingListener implements LifecycleListener {
        static final List<RecordingListener> INSTANCES = new CopyOnWriteArrayList<>();
        final List<String> events = new CopyOnWriteArrayList<>();

        public RecordingListener() {
            INSTANCES.add(this);
        }

        @Override
        public void lifecycleEvent(LifecycleEvent event) {
            events.add(event.getType());
        }
    }

    /** Catalina with its start digester reachable. */
    static final class Parser extends Catalina {
        Server parse(String xml) throws Exception {
            Digester d = createStartDigester();
            d.push(this);
            d.parse(new InputSource(new StringReader(xml)));
            return getServer();
        }
    }

    private static String serverXml(String clusterBody, int receiverPort) {
        return """
                <Server port="-1" shutdown="SHUTDOWN">
                  <Service name="Catalina">
                    <Engine name="Catalina" defaultHost="localhost" jvmRoute="n1">
                      <Cluster className="io.flotilla.tomcat.FlotillaCluster" channelSendOptions="6"
                               membership="static" staticMembers="127.0.0.1:%d"
                               receiverAddress="127.0.0.1" receiverPort="%d" autoBind="0"
                               frequency="100" dropTime="300" maxActiveSessions="5">
                %s
                      </Cluster>
                      <Host name="localhost" appBase="webapps" autoDeploy="false"/>
                    </Engine>
                  </Service>
                </Server>
                """.formatted(receiverPort, receiverPort, clusterBody);
    }

    private static FlotillaCluster cluster(Server server) {
        Engine engine = server.findServices()[0].getContainer();
        return assertInstanceOf(FlotillaCluster.class, engine.getCluster());
    }

    private static String rootMessage(Throwable t) {
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage();
    }

    @Test
    @Timeout(60)
    void nestedValveAndListenerAreBoundToTheClusterAndUsed() throws Exception {
        int port = EmbeddedNode.freePort();
        RecordingListener.INSTANCES.clear();
        Server server = new Parser().parse(serverXml("""
                <Valve className="io.flotilla.tomcat.ReplicationValve" filter="" primaryIndicator="true"/>
                <Listener className="io.flotilla.tomcat.ServerXmlDigesterTest$RecordingListener"/>
                """, port));
        FlotillaCluster c = cluster(server);
        assertEquals("6", c.getChannelSendOptions(), "the <Cluster> attributes were set");
        ReplicationValve valve = assertInstanceOf(ReplicationValve.class, c.getValves()[0]);
        assertEquals(1, c.getValves().length);
        assertEquals("", valve.getFilter());
        assertTrue(valve.getPrimaryIndicator());
        assertEquals(1, RecordingListener.INSTANCES.size());
        assertTrue(List.of(c.findLifecycleListeners()).contains(RecordingListener.INSTANCES.get(0)));

        try {
            c.start(); // 127.0.0.1 only; its static member list names itself
            assertTrue(List.of(c.getContainer().getPipeline().getValves()).contains(valve),
                    "the nested valve is in the Engine's pipeline, instead of the default ones");
            assertEquals(1, c.getValves().length);
            assertEquals(5, ((FlotillaManager) c.createManager("/app")).getMaxActiveSessions(),
                    "<Cluster maxActiveSessions> reaches the managers the cluster creates");
        } finally {
            c.stop();
            c.destroy();
        }
        assertTrue(RecordingListener.INSTANCES.get(0).events.containsAll(List.of("before_start", "start",
                "after_start", "before_stop", "stop", "after_stop")), RecordingListener.INSTANCES.get(0).events.toString());
    }

    /**
     * Stock's {@code McastService} answers 0 for a TTL never set (the socket keeps the system's 1), so an explicit
     * {@code ttl="0"}, which keeps datagrams on the host, read as unset and Flotilla sent with TTL 1.
     */
    @Test
    void anExplicitMulticastTtlOfZeroReachesFlotilla() throws Exception {
        String xml = "<Server port=\"-1\"><Service name=\"Catalina\"><Engine name=\"Catalina\" "
                + "defaultHost=\"localhost\">" + HowToBlock.swapped("239.255.1.2", 45564, 4000)
                + "</Engine></Service></Server>";
        FlotillaCluster c = cluster(new Parser().parse(xml));
        assertEquals("0", c.translate().attributes().get("ttl"));
    }

    @Test
    void theHowTosStockBlockReadFromTheDigestersObjectsTranslatesAsTheMigrateCommandReadsIt() throws Exception {
        Path file = Path.of(ServerXmlDigesterTest.class.getResource("/stock/cluster-howto-10.1.xml").toURI());
        String xml = Files.readString(file).replace("org.apache.catalina.ha.tcp.SimpleTcpCluster",
                "io.flotilla.tomcat.FlotillaCluster"); // the one change the operator makes
        FlotillaCluster c = cluster(new Parser().parse(xml));
        StockTranslation.Result fromObjects = c.translate();
        var doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(file.toFile());
        StockTranslation.Result fromXml = StockTranslation.translate(MigrateCommand.element(
                (Element) doc.getElementsByTagName("Cluster").item(0)));
        assertEquals(ClusterSettings.parse(fromXml.attributes()).effective,
                ClusterSettings.parse(fromObjects.attributes()).effective, "the same effective configuration (the "
                        + "objects' values equal to stock's defaults are left out: they equal Flotilla's here)");
        assertEquals("8", fromObjects.attributes().get("channelSendOptions"));
        assertEquals(List.of("io.flotilla.tomcat.ReplicationValve", "io.flotilla.tomcat.JvmRouteBinderValve"),
                fromObjects.valves().stream().map(StockElement::className).toList());
        assertEquals(Map.of("filter", ""), fromObjects.valves().get(0).attributes());
        assertEquals(fromXml.notes(), fromObjects.notes());
        assertTrue(fromObjects.notes(StockTranslation.Kind.REFUSED).isEmpty(), fromObjects.notes().toString());
    }

    @Test
    @Timeout(60)
    void stockClusterValvesInTheEnginesOwnPipelineAreRemovedForFlotillasOwn() throws Exception {
        String xml = serverXml("", EmbeddedNode.freePort()).replace("<Host name", """
                <Valve className="org.apache.catalina.ha.tcp.ReplicationValve" filter=""/>
                <Valve className="org.apache.catalina.ha.session.JvmRouteBinderValve"/>
                <Host name""");
        FlotillaCluster c = cluster(new Parser().parse(xml));
        assertEquals(2, List.of(c.getContainer().getPipeline().getValves()).stream()
                .filter(v -> v.getClass().getName().startsWith("org.apache.catalina.ha.")).count(),
                "the digester put both stock valves there");
        try {
            c.start();
            List<String> classes = List.of(c.getContainer().getPipeline().getValves()).stream()
                    .map(v -> v.getClass().getName()).toList();
            assertTrue(classes.stream().noneMatch(n -> n.startsWith("org.apache.catalina.ha.")), classes.toString());
            assertTrue(classes.contains(ReplicationValve.class.getName())
                    && classes.contains(JvmRouteBinderValve.class.getName()), classes.toString());
        } finally {
            c.stop();
            c.destroy();
        }
    }

    @Test
    void everyProblemFailsTheStartInOneMessage() throws Exception {
        String xml = serverXml("""
                <Deployer className="org.apache.catalina.ha.deploy.FarmWarDeployer" watchEnabled="true"
                          watchDir="/tmp/flotilla-never-watched"/>
                <ClusterListener className="io.flotilla.tomcat.ServerXmlDigesterTest$CustomClusterListener"/>
                """, EmbeddedNode.freePort()).replace("frequency=\"100\"", "frequency=\"100\" dropTim=\"3000\"")
                .replace("channelSendOptions=\"6\"", "channelSendOptions=\"7\"");
        FlotillaCluster c = cluster(new Parser().parse(xml));
        try {
            String message = rootMessage(assertThrows(LifecycleException.class, c::start));
            assertTrue(message.startsWith("FlotillaCluster: the configuration has 4 problems: "), message);
            assertTrue(message.contains("<Deployer className=\"org.apache.catalina.ha.deploy.FarmWarDeployer\"> "
                    + "inside a Flotilla <Cluster> is not supported: its WARs would be deployed by every member, and "
                    + "without a cluster secret any host that reaches receiverPort could send one"), message);
            assertTrue(message.contains("CustomClusterListener\"> inside a Flotilla <Cluster> is not supported"),
                    message);
            assertTrue(message.contains("dropTim=3000 is invalid: not a FlotillaCluster attribute; did you mean "
                    + "dropTime?"), "the digester handed the unknown attribute to setProperty: " + message);
            assertTrue(message.contains("channelSendOptions=7 is invalid"), message);
            assertEquals(0, c.getMemberCount(), "no node was started");
        } finally {
            c.destroy();
        }
    }

    @Test
    @Timeout(60)
    void aStockFarmWarDeployerWithASecretBecomesFlotillasFarmOnTheEnginesDefaultHost() throws Exception {
        Path watch = Files.createTempDirectory("flotilla-farm-watch");
        String xml = serverXml("""
                <Deployer className="org.apache.catalina.ha.deploy.FarmWarDeployer" watchEnabled="true"
                          watchDir="%s" processDeployFrequency="3"/>
                """.formatted(watch), EmbeddedNode.freePort())
                .replace("frequency=\"100\"", "frequency=\"100\" secret=\"digester-test-secret-0123456789\"");
        FlotillaCluster c = cluster(new Parser().parse(xml));
        try {
            StockTranslation.Result t = c.translate();
            assertEquals(StockTranslation.FLOTILLA_DEPLOYER, t.deployer().className());
            assertEquals(Map.of("watchEnabled", "true", "watchDir", watch.toString(), "processDeployFrequency", "3"),
                    t.deployer().attributes(), "the digester's FarmWarDeployer read back");
            c.start(); // the server.xml Host has its HostConfig: the farm attaches to it
            assertEquals("", c.getFarmWars());
        } finally {
            c.stop();
            c.destroy();
            Files.delete(watch);
        }
    }

    @Test
    void flotillasDeployerIsBoundAndItsBadAttributesAndAMissingSecretFailTheStartByName() throws Exception {
        String xml = serverXml("""
                <Deployer className="io.flotilla.tomcat.FarmDeployer" watchEnabled="maybe" watchDr="farm"
                          maxWarBytes="0"/>
                """, EmbeddedNode.freePort());
        FlotillaCluster c = cluster(new Parser().parse(xml));
        try {
            String message = rootMessage(assertThrows(LifecycleException.class, c::start));
            assertTrue(message.startsWith("FlotillaCluster: the configuration has 4 problems: "), message);
            assertTrue(message.contains("watchEnabled=maybe is invalid: true or false"), message);
            assertTrue(message.contains("watchDr=farm is invalid: not a <Deployer> attribute"), message);
            assertTrue(message.contains("maxWarBytes=0 is invalid"), message);
            assertTrue(message.contains(FarmSettings.UNPROVEN), message);
            assertEquals(0, c.getMemberCount(), "no node was started");
        } finally {
            c.destroy();
        }
    }

    /** A cluster listener of the operator's own: Flotilla cannot run it. */
    public static final class CustomClusterListener extends ClusterListener {
        @Override
        public void messageReceived(ClusterMessage msg) {
            // never called
        }

        @Override
        public boolean accept(ClusterMessage msg) {
            return false;
        }
    }
}
