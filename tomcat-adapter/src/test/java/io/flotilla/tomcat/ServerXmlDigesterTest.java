package io.flotilla.tomcat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.catalina.Engine;
import org.apache.catalina.LifecycleEvent;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.LifecycleListener;
import org.apache.catalina.Server;
import org.apache.catalina.startup.Catalina;
import org.apache.tomcat.util.digester.Digester;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.xml.sax.InputSource;

/**
 * A {@code server.xml} read by Tomcat's own start digester ({@link Catalina}'s rules, {@code ClusterRuleSet}
 * included), in process: nested {@code <Valve>} and {@code <Listener>} reach the cluster; the stock elements that
 * have no meaning for Flotilla fail its start with a message naming the element and what to do instead.
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
    private static final class Parser extends Catalina {
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
                               frequency="100" dropTime="300">
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
        } finally {
            c.stop();
            c.destroy();
        }
        assertTrue(RecordingListener.INSTANCES.get(0).events.containsAll(List.of("before_start", "start",
                "after_start", "before_stop", "stop", "after_stop")), RecordingListener.INSTANCES.get(0).events.toString());
    }

    private static void refused(String element, String expectedStart) throws Exception {
        Server server = new Parser().parse(serverXml(element, EmbeddedNode.freePort()));
        FlotillaCluster c = cluster(server);
        try {
            LifecycleException e = assertThrows(LifecycleException.class, c::start);
            String message = rootMessage(e);
            assertTrue(message.startsWith("FlotillaCluster: " + expectedStart), message);
            assertTrue(message.endsWith("; then delete the element (see docs/tomcat.md)"), message);
            assertEquals(0, c.getMemberCount(), "no node was started");
        } finally {
            c.destroy();
        }
    }

    @Test
    void aNestedChannelFailsTheStartNamingTheAttributesToUse() throws Exception {
        refused("""
                <Channel className="org.apache.catalina.tribes.group.GroupChannel">
                  <Membership className="org.apache.catalina.tribes.membership.McastService"
                              address="228.0.0.4" port="45564" bind="127.0.0.1" ttl="0"
                              frequency="500" dropTime="3000"/>
                  <Receiver className="org.apache.catalina.tribes.transport.nio.NioReceiver" address="127.0.0.1"
                            port="4000"/>
                </Channel>
                """, "<Channel className=\"org.apache.catalina.tribes.group.GroupChannel\"> inside a Flotilla <Cluster> "
                + "is not supported: set the membership and receiver attributes on <Cluster> instead (membership, "
                + "address, port, frequency, dropTime");
    }

    @Test
    void aNestedManagerFailsTheStartNamingTheAttributesToUse() throws Exception {
        refused("""
                <Manager className="org.apache.catalina.ha.session.DeltaManager" notifyListenersOnReplication="true"/>
                """, "<Manager className=\"org.apache.catalina.ha.session.DeltaManager\"> inside a Flotilla <Cluster> "
                + "is not supported: every <distributable/> application gets a FlotillaManager; set its options as "
                + "attributes on <Cluster> (notifyListenersOnReplication");
    }

    @Test
    void aNestedDeployerFailsTheStart() throws Exception {
        refused("""
                <Deployer className="org.apache.catalina.ha.deploy.FarmWarDeployer" tempDir="/tmp/war-temp/"
                          deployDir="/tmp/war-deploy/" watchDir="/tmp/war-listen/" watchEnabled="false"/>
                """, "<Deployer className=\"org.apache.catalina.ha.deploy.FarmWarDeployer\"> inside a Flotilla "
                + "<Cluster> is not supported: Flotilla has no farm deployer");
    }

    @Test
    void aNestedClusterListenerFailsTheStart() throws Exception {
        refused("""
                <ClusterListener className="org.apache.catalina.ha.session.ClusterSessionListener"/>
                """, "<ClusterListener className=\"org.apache.catalina.ha.session.ClusterSessionListener\"> inside a "
                + "Flotilla <Cluster> is not supported: Flotilla needs none");
    }
}
