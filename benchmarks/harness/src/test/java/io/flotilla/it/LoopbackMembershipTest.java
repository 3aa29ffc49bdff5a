package io.flotilla.it;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flotilla.MembershipEvent;
import io.flotilla.Node;
import io.flotilla.bench.EventLog;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Many nodes in this JVM on loopback (TCP on 127.0.0.1, multicast on lo with TTL 0): concurrent start (Tribes'
 * {@code TestGroupChannelMemberArrival}) and domains.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LoopbackMembershipTest {
    private final String cluster = Loopback.uniqueCluster();
    private final int mcastPort = Loopback.freeUdpPort();
    private final List<Node> nodes = new ArrayList<>();

    @BeforeAll
    static void multicastOnLoopback() {
        Loopback.assumeMulticastOnLoopback();
    }

    @AfterEach
    void closeNodes() {
        synchronized (nodes) {
            Loopback.closeAll(nodes);
        }
    }

    private Node start(String name, String domain, EventLog log) {
        Node n = Loopback.node(cluster, name, domain, mcastPort, log);
        synchronized (nodes) {
            nodes.add(n);
        }
        return n;
    }

    @Test
    void tenNodesStartedConcurrentlyAllSeeTheOtherNine() throws Exception {
        int count = 10;
        ExecutorService pool = Executors.newFixedThreadPool(count);
        List<Node> started = new ArrayList<>();
        try {
            List<Callable<Node>> starts = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                String name = "n" + i;
                starts.add(() -> start(name, "", new EventLog()));
            }
            for (Future<Node> f : pool.invokeAll(starts)) {
                started.add(f.get(30, TimeUnit.SECONDS));
            }
        } finally {
            pool.shutdownNow();
        }
        await("every node sees all " + count, Loopback.PATIENCE,
                () -> started.stream().allMatch(n -> n.view().size() == count),
                () -> started.stream().map(n -> n.localMember().name() + "=" + n.view().size())
                        .collect(Collectors.joining(", ")));
        for (Node n : started) {
            assertEquals(count - 1, n.view().othersThan(n.localMember().id()).size(), n.view().toString());
        }
    }

    @Test
    void nodesOfDifferentDomainsNeverSeeEachOther() {
        EventLog a1Log = new EventLog();
        EventLog a2Log = new EventLog();
        EventLog b1Log = new EventLog();
        EventLog b2Log = new EventLog();
        Node a1 = start("a1", "alpha", a1Log);
        Node b1 = start("b1", "beta", b1Log);
        Node a2 = start("a2", "alpha", a2Log);
        Node b2 = start("b2", "beta", b2Log);
        await("each domain's pair sees each other", Loopback.PATIENCE,
                () -> a1.view().size() == 2 && a2.view().size() == 2 && b1.view().size() == 2
                        && b2.view().size() == 2,
                () -> List.of(a1.view(), a2.view(), b1.view(), b2.view()).toString());
        // They share the cluster name and the multicast group, so they hear each other's heartbeats all the time:
        // over several dropTimes none may join the other domain's view.
        Loopback.holdsFor("no node joins a member of the other domain", Loopback.DROP_TIME.multipliedBy(2),
                () -> onlyDomain(a1Log, "alpha") && onlyDomain(a2Log, "alpha") && onlyDomain(b1Log, "beta")
                        && onlyDomain(b2Log, "beta") && a1.view().size() == 2 && b1.view().size() == 2,
                () -> List.of(a1.view(), a2.view(), b1.view(), b2.view()).toString());
    }

    private static boolean onlyDomain(EventLog log, String domain) {
        return log.events().stream().map(EventLog.Seen::event).filter(e -> e instanceof MembershipEvent.Joined)
                .allMatch(e -> e.member().domain().equals(domain));
    }
}
