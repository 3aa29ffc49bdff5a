package io.flotilla.tomcat;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The two embedded Tomcats of {@link TomcatClusterIT} with {@code membership="multicast"} (the default of a real
 * {@code server.xml}): a random 239.255.x.y group and a free port, on the loopback interface with TTL 0, so no
 * datagram leaves the machine. Skipped, saying why, where this host cannot multicast on {@code lo}.
 */
class MulticastTomcatClusterIT {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static String group;
    private static int port;

    @BeforeAll
    static void multicastOnLoopbackWorks() throws IOException {
        NetworkInterface lo = NetworkInterface.getByName("lo");
        Assumptions.assumeTrue(lo != null, "no interface named lo: the multicast Tomcat test is skipped");
        ThreadLocalRandom random = ThreadLocalRandom.current();
        group = "239.255." + random.nextInt(1, 255) + "." + random.nextInt(1, 255);
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        try (DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET)) {
            ch.setOption(StandardSocketOptions.SO_REUSEADDR, true).bind(new InetSocketAddress(port));
            ch.setOption(StandardSocketOptions.IP_MULTICAST_IF, lo).setOption(StandardSocketOptions.IP_MULTICAST_TTL, 0)
                    .setOption(StandardSocketOptions.IP_MULTICAST_LOOP, true);
            ch.join(InetAddress.getByName(group), lo);
            ch.configureBlocking(false);
            ch.send(ByteBuffer.wrap(new byte[] {42}), new InetSocketAddress(group, port));
            try {
                await("a multicast datagram looped back on lo", Duration.ofSeconds(3), () -> {
                    try {
                        return ch.receive(ByteBuffer.allocate(16)) != null;
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                });
            } catch (AssertionError e) {
                Assumptions.abort("multicast on lo with TTL 0 does not loop back on this host: " + e.getMessage());
            }
        } catch (IOException e) {
            Assumptions.abort("cannot join a multicast group on lo on this host: " + e);
        }
    }

    @Test
    @Timeout(120)
    void nodesFindEachOtherByMulticastOnLoopbackAndASessionSurvivesFailover() throws Exception {
        String cluster = "mc-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
        EmbeddedNode[] n = EmbeddedNode.pair("8", node -> {
            node.multicast(group, port);
            node.cluster.setClusterName(cluster);
        });
        try (EmbeddedNode a = n[0]; EmbeddedNode b = n[1]) {
            assertEquals("multicast", a.cluster.getMembership());
            assertTrue(a.cluster.getMembers().contains("b@127.0.0.1"), a.cluster.getMembers());
            TestClient c = new TestClient();
            String id = null;
            for (int i = 1; i <= 3; i++) {
                id = c.get(a, "session?set=n&value=" + i).body();
            }
            String owned = id;
            assertTrue(owned.endsWith(".a"), owned);
            await("b holds the replica", WAIT, () -> "3".equals(b.replicaValue(owned, "n")));

            a.stop();
            await("b sees a leave (a's leave datagram or goodbye)", WAIT, () -> b.cluster.getMemberCount() == 1);
            String body = c.get(b, "session?get=n").body();
            assertEquals(owned.substring(0, owned.length() - 2) + ".b 3", body, "taken over on b with its value");
        }
    }
}
