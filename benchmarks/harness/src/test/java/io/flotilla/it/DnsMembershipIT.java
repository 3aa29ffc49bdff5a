package io.flotilla.it;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.ClusterSecret;
import io.flotilla.Member;
import io.flotilla.MembershipEvent;
import io.flotilla.Node;
import io.flotilla.NodeConfig;
import io.flotilla.membership.DnsMembership;
import io.flotilla.membership.DnsMembershipConfig;
import io.flotilla.testing.FreePorts;
import io.flotilla.transport.netty.NettyTransport;
import io.flotilla.transport.netty.NettyTransportConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * DNS membership against a real DNS server (dnsmasq on 127.0.0.1, {@link Dnsmasq}) whose records change while the
 * cluster runs: members join as their records appear; a stale record of a dead node, a record of a node without the
 * cluster secret, and a record of an address nobody listens at never make a member; a member whose record is removed
 * is verified and stays while it answers, and is gone once it stops. Nodes are real (Netty on 127.0.0.1, free ports,
 * a cluster secret); SRV records give each node's port, A records in dnsmasq's watched hosts directory come and go.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DnsMembershipIT {
    private static final String SERVICE = "_flotilla._tcp." + Dnsmasq.ZONE;
    private static final Duration RESOLVE = Duration.ofMillis(200);
    private static final ClusterSecret SECRET = ClusterSecret.fromString("dns-membership-it-secret-0123456789");
    private static final ClusterSecret OTHER_SECRET = ClusterSecret.fromString("another-secret-abcdefghijklmnop");

    @TempDir
    Path work;

    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final Map<String, List<MembershipEvent>> events = new ConcurrentHashMap<>();

    @AfterEach
    void close() {
        Collections.reverse(closeables);
        Loopback.closeAll(closeables);
    }

    private static DnsMembershipConfig.Builder timings(DnsMembershipConfig.Builder b) {
        return b.resolveInterval(RESOLVE).lookupTimeout(Duration.ofMillis(500)).frequency(Loopback.FREQUENCY)
                .dropTime(Loopback.DROP_TIME).connectTimeout(Loopback.CONNECT_TIMEOUT);
    }

    private static String names(Node n) {
        return n.view().members().stream().map(Member::name).sorted().collect(Collectors.joining(","));
    }

    private static void awaitView(String expected, Node... nodes) {
        for (Node n : nodes) {
            await(n.localMember().name() + " sees exactly " + expected, Loopback.PATIENCE,
                    () -> names(n).equals(expected), () -> names(n));
        }
    }

    private static int freePort() {
        return FreePorts.tcp();
    }

    @Test
    void membersFollowTheRecordsAndOnlyNodesThatProveTheSecretJoin() throws Exception {
        // One SRV record per node (its port is a free port picked here); whether a lookup returns it depends on
        // the A record of its target, added and removed below while the nodes run.
        int deadPort = freePort(); // a node that ran there and died: nothing listens any more
        int[] ports = {freePort(), freePort(), freePort()};
        int strangerPort = freePort();
        List<String> srv = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            srv.add(SERVICE + ",n" + i + "." + Dnsmasq.ZONE + "," + ports[i]);
        }
        srv.add(SERVICE + ",stranger." + Dnsmasq.ZONE + "," + strangerPort);
        srv.add(SERVICE + ",dead." + Dnsmasq.ZONE + "," + deadPort);
        Dnsmasq dns = Dnsmasq.start(work, srv);
        closeables.add(dns);
        System.out.println("dnsmasq pid " + dns.pid() + " on " + dns.server());
        dns.put("dead", "127.0.0.1"); // a stale record: its node is gone
        dns.put("stranger", "127.0.0.1"); // a node of the cluster's name without its secret
        dns.put("n0", "127.0.0.1");
        dns.put("n1", "127.0.0.1");

        Node a = nodeOn("a", ports[0], SECRET, dns);
        Node b = nodeOn("b", ports[1], SECRET, dns);
        Node c = nodeOn("c", ports[2], SECRET, dns);
        Node stranger = nodeOn("stranger", strangerPort, OTHER_SECRET, dns);
        awaitView("a,b", a, b);
        // c sees a and b (their records exist), while a and b do not list c: c's record is missing
        await("c sees a and b", Loopback.PATIENCE, () -> names(c).equals("a,b,c"), () -> names(c));
        Loopback.holdsFor("a and b do not see c before its record exists, nor the stranger or the dead node ever",
                RESOLVE.multipliedBy(5), () -> names(a).equals("a,b") && names(b).equals("a,b"),
                () -> names(a) + " / " + names(b));

        dns.put("n2", "127.0.0.1"); // c's record appears
        awaitView("a,b,c", a, b, c);
        assertEquals("stranger", names(stranger), "the stranger, without the secret, sees nobody either");

        dns.remove("n1"); // b's record goes while b runs: b is verified, answers, and stays
        await("a verified b", Loopback.PATIENCE, () -> kinds("a", "b").contains("Unsuspected"),
                () -> kinds("a", "b").toString());
        awaitView("a,b,c", a, c);
        b.close(); // then b stops: a graceful leave, and its address is forgotten
        awaitView("a,c", a, c);
        assertTrue(events.get("a").stream().anyMatch(e -> e instanceof MembershipEvent.Left l
                && l.member().name().equals("b") && l.graceful()));

        c.close(); // c stops; its record stays: a stale record of a dead node
        awaitView("a", a);
        Loopback.holdsFor("the stale records of c and of the dead node, and the stranger's, add nobody",
                Loopback.DROP_TIME.plus(RESOLVE.multipliedBy(3)), () -> names(a).equals("a"), () -> names(a));
        assertFalse(events.get("a").stream().anyMatch(e -> e.member().name().equals("stranger")
                || e.member().port() == deadPort), "neither the stranger nor the dead port ever appeared");
        // a new incarnation of c at the listed address joins again
        Node c2 = nodeOn("c", ports[2], SECRET, dns);
        awaitView("a,c", a, c2);
    }

    @Test
    void aRecordsListAddressesOnTheConfiguredPortAndAnAddressNobodyAnswersAtIsNoMember() throws Exception {
        Dnsmasq dns = Dnsmasq.start(work, List.of());
        closeables.add(dns);
        int port = freePort();
        dns.put("all", "127.0.0.1", "127.0.0.9"); // 127.0.0.9: a stale address, nothing listens there
        Node a = nodeOn("a", port, SECRET, dns, DnsMembershipConfig.builder().addresses("all." + Dnsmasq.ZONE, port));
        Node b = nodeOn("b", freePort(), SECRET, dns, DnsMembershipConfig.builder()
                .addresses("all." + Dnsmasq.ZONE, port));
        await("b finds a at 127.0.0.1:" + port, Loopback.PATIENCE, () -> names(b).equals("a,b"), () -> names(b));
        Loopback.holdsFor("127.0.0.9 never becomes a member; a, which finds only itself, sees nobody",
                Loopback.DROP_TIME, () -> names(b).equals("a,b") && names(a).equals("a"),
                () -> names(a) + " / " + names(b));
        dns.remove("all"); // NXDOMAIN: b verifies a, which answers and stays
        await("b verified a", Loopback.PATIENCE, () -> kinds("b", "a").contains("Unsuspected"),
                () -> kinds("b", "a").toString());
        assertEquals("a,b", names(b));
    }

    private List<String> kinds(String observer, String about) {
        return events.getOrDefault(observer, List.of()).stream().filter(e -> e.member().name().equals(about))
                .map(e -> e.getClass().getSimpleName()).toList();
    }

    private Node nodeOn(String name, int port, ClusterSecret secret, Dnsmasq dns) {
        return nodeOn(name, port, secret, dns, DnsMembershipConfig.builder().srv(SERVICE));
    }

    private Node nodeOn(String name, int port, ClusterSecret secret, Dnsmasq dns, DnsMembershipConfig.Builder config) {
        List<MembershipEvent> log = events.computeIfAbsent(name, k -> new CopyOnWriteArrayList<>());
        Node n = Node.builder()
                .config(NodeConfig.builder().clusterName("dns-it").memberName(name).secret(secret).deliveryThreads(1)
                        .build())
                .transport(NettyTransport.factory(NettyTransportConfig.builder().address("127.0.0.1").port(port)
                        .ioThreads(1).build()))
                .membership(DnsMembership.factory(timings(config.server(dns.server())).build()))
                .onMembership(log::add)
                .start();
        closeables.add(n);
        return n;
    }
}
