package io.flotilla.tomcat;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.testing.LoopbackMulticast;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
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
    static void multicastOnLoopbackWorks() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        group = "239.255." + random.nextInt(1, 255) + "." + random.nextInt(1, 255);
        port = LoopbackMulticast.freeUdpPort();
        LoopbackMulticast.assumeLoopsBack(group, port);
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
