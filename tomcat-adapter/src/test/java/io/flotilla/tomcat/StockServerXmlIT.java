package io.flotilla.tomcat;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.testing.LoopbackMulticast;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Stock {@code SimpleTcpCluster} blocks with only the {@code className} changed to {@code FlotillaCluster}, read by
 * Catalina's own start digester from a whole {@code server.xml} (so {@code ClusterRuleSet} builds the stock Tribes
 * objects), each run on two embedded Tomcats (the digested cluster is set on each Engine): sessions replicate and
 * fail over to the other node, with the route moved. The blocks are the how-to's ({@link HowToBlock}: multicast,
 * nested stock valves, {@code FarmWarDeployer}, {@code ClusterSessionListener}) and two common guides' static ones
 * ({@code StaticMembershipService} with {@code <Member>}s and no valves; multicast plus a {@code
 * StaticMembershipInterceptor} with nested valves). To keep every packet on this machine the test rewrites
 * addresses to 127.0.0.1, the multicast group to a random 239.255.x.y joined on {@code lo} with TTL 0, and ports to
 * free ones; nothing else is changed.
 */
class StockServerXmlIT {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String STOCK_VALVES = """
            <Valve className="org.apache.catalina.ha.tcp.ReplicationValve" filter=""/>
            <Valve className="org.apache.catalina.ha.session.JvmRouteBinderValve"/>
            """;

    /** A guide's StaticMembershipService block: both members listed, this node's as LocalMember too. */
    private static String staticService(List<Integer> ports, int own) {
        return """
                <Cluster className="io.flotilla.tomcat.FlotillaCluster" channelSendOptions="6">
                  <Manager className="org.apache.catalina.ha.session.DeltaManager"
                           expireSessionsOnShutdown="false" notifyListenersOnReplication="true"/>
                  <Channel className="org.apache.catalina.tribes.group.GroupChannel">
                    <Membership className="org.apache.catalina.tribes.membership.StaticMembershipService"
                                pingInterval="200" expirationTime="1500">
                      <LocalMember className="org.apache.catalina.tribes.membership.StaticMember"
                                   uniqueId="{0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,%d}"/>
                      <Member className="org.apache.catalina.tribes.membership.StaticMember"
                              host="127.0.0.1" port="%d" uniqueId="{0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1}"/>
                      <Member className="org.apache.catalina.tribes.membership.StaticMember"
                              host="127.0.0.1" port="%d" uniqueId="{0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2}"/>
                    </Membership>
                    <Receiver className="org.apache.catalina.tribes.transport.nio.NioReceiver"
                              address="127.0.0.1" port="%d" autoBind="0" maxThreads="6"/>
                    <Sender className="org.apache.catalina.tribes.transport.ReplicationTransmitter">
                      <Transport className="org.apache.catalina.tribes.transport.nio.PooledParallelSender"/>
                    </Sender>
                    <Interceptor className="org.apache.catalina.tribes.group.interceptors.TcpPingInterceptor"/>
                    <Interceptor className="org.apache.catalina.tribes.group.interceptors.TcpFailureDetector"/>
                    <Interceptor className="org.apache.catalina.tribes.group.interceptors.MessageDispatchInterceptor"/>
                  </Channel>
                  <ClusterListener className="org.apache.catalina.ha.session.ClusterSessionListener"/>
                </Cluster>
                """.formatted(ports.indexOf(own) + 1, ports.get(0), ports.get(1), own);
    }

    /** An older guide's static setup: McastService plus a StaticMembershipInterceptor naming the other members. */
    private static String staticInterceptor(String group, int mcastPort, List<Integer> ports, int own) {
        return """
                <Cluster className="io.flotilla.tomcat.FlotillaCluster" channelSendOptions="8">
                  <Channel className="org.apache.catalina.tribes.group.GroupChannel">
                    <Membership className="org.apache.catalina.tribes.membership.McastService"
                                address="%s" port="%d" bind="lo" ttl="0" frequency="200" dropTime="1500"/>
                    <Receiver className="org.apache.catalina.tribes.transport.nio.NioReceiver"
                              address="127.0.0.1" port="%d" autoBind="0"/>
                    <Interceptor className="org.apache.catalina.tribes.group.interceptors.TcpFailureDetector"/>
                    <Interceptor className="org.apache.catalina.tribes.group.interceptors.StaticMembershipInterceptor">
                      <Member className="org.apache.catalina.tribes.membership.StaticMember"
                              host="127.0.0.1" port="%d" uniqueId="{0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1}"/>
                      <Member className="org.apache.catalina.tribes.membership.StaticMember"
                              host="127.0.0.1" port="%d" uniqueId="{0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2}"/>
                    </Interceptor>
                  </Channel>
                  %s
                </Cluster>
                """.formatted(group, mcastPort, own, ports.get(0), ports.get(1), STOCK_VALVES);
    }

    private static FlotillaCluster digest(String clusterBlock) throws Exception {
        String xml = """
                <?xml version="1.0" encoding="UTF-8"?>
                <Server port="-1" shutdown="SHUTDOWN">
                  <Service name="Catalina">
                    <Engine name="Catalina" defaultHost="localhost" jvmRoute="set-by-the-test">
                      %s
                      <Host name="localhost" appBase="webapps" autoDeploy="false"/>
                    </Engine>
                  </Service>
                </Server>
                """.formatted(clusterBlock);
        var server = new ServerXmlDigesterTest.Parser().parse(xml.strip());
        return assertInstanceOf(FlotillaCluster.class, server.findServices()[0].getContainer().getCluster());
    }

    /**
     * Starts a and b from their server.xml blocks, proves a session (a counter and the application's own cart class,
     * which no allowlist names) replicates to b and fails over to it when a stops.
     */
    private static void replicatesAndFailsOver(IntFunction<String> blockOfNode) throws Exception {
        try (EmbeddedNode a = new EmbeddedNode("a", digest(blockOfNode.apply(0)))
                .applicationClass(sessions.DummyCart.class);
                EmbeddedNode b = new EmbeddedNode("b", digest(blockOfNode.apply(1)))
                        .applicationClass(sessions.DummyCart.class)) {
            a.start();
            b.start();
            await("both nodes see each other", WAIT, () -> a.cluster.getMemberCount() == 2
                    && b.cluster.getMemberCount() == 2, () -> a.cluster.getMembers() + " / " + b.cluster.getMembers());
            assertTrue(a.cluster.getMembers().contains("127.0.0.1:" + a.cluster.getReceiverPort()),
                    "the getters (and JMX) show the translated receiver: " + a.cluster.getMembers());
            TestClient c = new TestClient();
            for (int i = 1; i <= 3; i++) {
                assertTrue(c.get(a, "count").body().startsWith("n=" + i + " "));
            }
            HttpResponse<String> cart = c.get(a, "dummy-cart?add=apple");
            assertEquals("items=[apple] webapp=true", cart.body(), "the application's own class, allowed by default");
            String id = c.sessionId();
            assertTrue(id.endsWith(".a"), id);
            await("b holds the replica at n=3", WAIT, () -> Integer.valueOf(3).equals(b.replicaValue(id, "n")));

            a.stop();
            await("b sees a leave", WAIT, () -> b.cluster.getMemberCount() == 1);
            String after = c.get(b, "count").body();
            assertTrue(after.startsWith("n=4 id=" + id.substring(0, id.length() - 2) + ".b original=" + id), after);
            assertEquals("items=[apple, pear] webapp=true", c.get(b, "dummy-cart?add=pear").body(),
                    "the cart failed over with the session and is b's application's class");
            assertTrue(b.cluster.getValves()[0] instanceof ReplicationValve || b.cluster.getValves().length == 2);
        }
    }

    @Test
    @Timeout(120)
    void theHowTosMulticastBlockWithItsStockValvesReplicatesAndFailsOver() throws Exception {
        String group = "239.255." + ThreadLocalRandom.current().nextInt(1, 255) + "."
                + ThreadLocalRandom.current().nextInt(1, 255);
        int mcastPort = LoopbackMulticast.freeUdpPort();
        LoopbackMulticast.assumeLoopsBack(group, mcastPort);
        List<Integer> ports = List.of(EmbeddedNode.freePort(), EmbeddedNode.freePort());
        replicatesAndFailsOver(i -> HowToBlock.swapped(group, mcastPort, ports.get(i)));
    }

    @Test
    @Timeout(120)
    void aStaticMembershipServiceBlockWithoutValvesReplicatesAndFailsOver() throws Exception {
        List<Integer> ports = List.of(EmbeddedNode.freePort(), EmbeddedNode.freePort());
        replicatesAndFailsOver(i -> staticService(ports, ports.get(i)));
    }

    @Test
    @Timeout(120)
    void multicastWithAStaticMembershipInterceptorAndStockValvesReplicatesAndFailsOver() throws Exception {
        String group = "239.255." + ThreadLocalRandom.current().nextInt(1, 255) + "."
                + ThreadLocalRandom.current().nextInt(1, 255);
        List<Integer> ports = List.of(EmbeddedNode.freePort(), EmbeddedNode.freePort());
        replicatesAndFailsOver(i -> staticInterceptor(group, 45564, ports, ports.get(i)));
    }

}
