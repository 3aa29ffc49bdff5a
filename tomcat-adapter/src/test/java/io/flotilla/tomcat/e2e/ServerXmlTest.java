package io.flotilla.tomcat.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

/**
 * The generated {@code server.xml} is well formed, keeps every endpoint on 127.0.0.1 with the layout's ports, and
 * carries each {@link ClusterConfig}'s {@code <Cluster>}: the switch from stock to Flotilla is that element alone.
 */
class ServerXmlTest {
    private static final ClusterLayout LAYOUT = new ClusterLayout(List.of(
            new ClusterLayout.NodePorts(8081, 8091, 4001),
            new ClusterLayout.NodePorts(8082, 8092, 4002),
            new ClusterLayout.NodePorts(8083, 8093, 4003)), "239.255.7.9", 45999);

    @Test
    void stockClusterListensOnLoopbackOnlyWithMulticastTtlZero() throws Exception {
        Document doc = parse(TomcatCluster.serverXml("node2", LAYOUT, ClusterConfig.stock(), 1));
        Element server = doc.getDocumentElement();
        assertEquals("8092", server.getAttribute("port"));
        assertEquals("127.0.0.1", server.getAttribute("address"));
        Element connector = only(doc, "Connector");
        assertEquals("8082", connector.getAttribute("port"));
        assertEquals("127.0.0.1", connector.getAttribute("address"));
        assertEquals("node2", only(doc, "Engine").getAttribute("jvmRoute"));
        assertEquals("org.apache.catalina.ha.tcp.SimpleTcpCluster", only(doc, "Cluster").getAttribute("className"));
        Element mcast = only(doc, "Membership");
        assertEquals("0", mcast.getAttribute("ttl"));
        assertEquals("127.0.0.1", mcast.getAttribute("bind"));
        assertEquals("239.255.7.9", mcast.getAttribute("address"));
        assertEquals("45999", mcast.getAttribute("port"));
        Element receiver = only(doc, "Receiver");
        assertEquals("127.0.0.1", receiver.getAttribute("address"));
        assertEquals("4002", receiver.getAttribute("port"));
    }

    @Test
    void flotillaClusterIsOneElementWithTheStaticMembersAndSendOptions() throws Exception {
        ClusterConfig flotilla = ClusterConfig.flotilla(Path.of("flotilla-tomcat.jar"), ClusterConfig.Membership.STATIC, 6);
        Document doc = parse(TomcatCluster.serverXml("node1", LAYOUT, flotilla, 0));
        Element cluster = only(doc, "Cluster");
        assertEquals("io.flotilla.tomcat.FlotillaCluster", cluster.getAttribute("className"));
        assertEquals("static", cluster.getAttribute("membership"));
        assertEquals("127.0.0.1:4001,127.0.0.1:4002,127.0.0.1:4003", cluster.getAttribute("staticMembers"));
        assertEquals("127.0.0.1", cluster.getAttribute("receiverAddress"));
        assertEquals("4001", cluster.getAttribute("receiverPort"));
        assertEquals("6", cluster.getAttribute("channelSendOptions"));
        assertEquals(0, cluster.getChildNodes().getLength(), "Tomcat binds nested elements to Tribes' types");
        assertEquals("127.0.0.1", only(doc, "Connector").getAttribute("address"));
    }

    @Test
    void flotillaMulticastStaysOnLoopbackWithTtlZero() throws Exception {
        ClusterConfig flotilla = ClusterConfig.flotilla(Path.of("flotilla-tomcat.jar"), ClusterConfig.Membership.MULTICAST, 8);
        Element cluster = only(parse(TomcatCluster.serverXml("node3", LAYOUT, flotilla, 2)), "Cluster");
        assertEquals("multicast", cluster.getAttribute("membership"));
        assertEquals("lo", cluster.getAttribute("bind"));
        assertEquals("0", cluster.getAttribute("ttl"));
        assertEquals("45999", cluster.getAttribute("port"));
        assertEquals("4003", cluster.getAttribute("receiverPort"));
    }

    @Test
    void flotillaIsUnavailableWithAReasonWhenTheJarLacksTheCluster() {
        ClusterConfig flotilla = ClusterConfig.flotilla(Path.of("target", "no-such.jar"), ClusterConfig.Membership.STATIC, 6);
        assertTrue(flotilla.unavailable().orElseThrow().contains("no-such.jar"), flotilla.unavailable().toString());
        assertTrue(ClusterConfig.stock().unavailable().isEmpty());
    }

    private static Document parse(String xml) throws Exception {
        return DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)));
    }

    private static Element only(Document doc, String tag) {
        var list = doc.getElementsByTagName(tag);
        assertEquals(1, list.getLength(), "one <" + tag + ">");
        return (Element) list.item(0);
    }
}
