package io.flotilla.it;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.MembershipEvent;
import io.flotilla.Node;
import io.flotilla.bench.ChildJvm;
import io.flotilla.bench.EventLog;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A real member in a child JVM, watched by a node in this JVM over loopback (TCP on 127.0.0.1, multicast on lo with
 * TTL 0): {@code kill -9}, {@code SIGSTOP} shorter and longer than {@code dropTime}, and a clean stop. Timings:
 * frequency 200 ms, dropTime 1500 ms, connectTimeout 500 ms. Bounds are generous (dropTime + 2 s); the figures are
 * printed, and measured properly by {@link io.flotilla.bench.MembershipHarness}.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ChildJvmMembershipTest {
    private static final Duration REMOVAL_BOUND = Loopback.DROP_TIME.plusSeconds(2);

    private final String cluster = Loopback.uniqueCluster();
    private final int mcastPort = Loopback.freeUdpPort();
    private final EventLog observed = new EventLog();
    private final List<AutoCloseable> open = new ArrayList<>();
    private Node observer;
    private ChildJvm child;
    private String childAddress;

    @BeforeAll
    static void multicastOnLoopback() {
        Loopback.assumeMulticastOnLoopback();
    }

    @BeforeEach
    void startObserverAndChild() {
        observer = Loopback.node(cluster, "observer", "", mcastPort, observed);
        open.add(observer);
        child = ChildJvm.startNode("child", Loopback.childArgs(cluster, "child", "", mcastPort), Loopback.PATIENCE);
        open.add(0, child); // closed first
        childAddress = child.address();
        assertNotNull(observed.await(0, EventLog.joined().and(EventLog.about(childAddress)),
                Loopback.PATIENCE.toNanos()), "the observer never saw the child join");
        String observerAddress = Loopback.address(observer);
        child.await("the child sees the observer", l -> l.startsWith("EVENT JOINED " + observerAddress + " - 2 "),
                Loopback.PATIENCE);
    }

    @AfterEach
    void stopAll() {
        Loopback.closeAll(open);
    }

    @Test
    void childKilledWithSigkillIsRemovedAsFailed() {
        long killed = System.nanoTime();
        child.kill9();
        EventLog.Seen left = observed.await(killed, EventLog.anyLeft().and(EventLog.about(childAddress)),
                REMOVAL_BOUND.toNanos());
        assertNotNull(left, "the killed child was not removed within " + REMOVAL_BOUND.toMillis() + " ms: "
                + observed.timeline(killed));
        assertTrue(EventLog.left(false).test(left.event()), "a kill -9 must be a failure, not a leave: " + left);
        System.out.printf("kill -9 of an idle child detected after %.1f ms%n", (left.nanos() - killed) / 1e6);
        // The broken connection made it a suspect, not dropTime of silence (that would be luck-free too, but slow).
        // Killed just after the observer saw it join (a busy machine), the liveness connection may not be open yet:
        // then the refused connection does it.
        EventLog.Seen suspected = observed.find(killed, e -> e instanceof MembershipEvent.Suspected);
        assertNotNull(suspected, "removed without being suspected first: " + observed.timeline(killed));
        assertTrue(((MembershipEvent.Suspected) suspected.event()).reason().contains("connection"),
                "suspected for silence, not for its broken or refused connection; events relative to the kill:"
                        + observed.timeline(killed));
        assertTrue(observer.view().size() == 1, "view after removal: " + observer.view());
    }

    @Test
    void childStoppedShorterThanDropTimeIsNeverRemoved() {
        long stopped = System.nanoTime();
        child.signal("STOP");
        // Stopped for 600 ms: with heartbeats every 200 ms, at most 800 ms of silence, well under dropTime.
        Loopback.holdsFor("the stopped child stays in the view", Duration.ofMillis(600),
                () -> observed.find(stopped, EventLog.anyLeft()) == null, observed::toString);
        child.signal("CONT");
        // Resumed: it stays for longer than dropTime too (its heartbeats come back).
        Loopback.holdsFor("the resumed child stays in the view", Loopback.DROP_TIME.plusMillis(500),
                () -> observed.find(stopped, EventLog.anyLeft()) == null, () -> observed.events().toString());
        assertTrue(observer.view().size() == 2, "view: " + observer.view());
        assertNull(observed.find(stopped, EventLog.anyLeft()));
    }

    @Test
    void childStoppedLongerThanDropTimeIsRemovedAndRejoinsWhenResumed() {
        long stopped = System.nanoTime();
        child.signal("STOP");
        EventLog.Seen left = observed.await(stopped, EventLog.anyLeft().and(EventLog.about(childAddress)),
                REMOVAL_BOUND.toNanos());
        assertNotNull(left, "the hung child was not removed within " + REMOVAL_BOUND.toMillis() + " ms: "
                + observed.events());
        assertTrue(EventLog.left(false).test(left.event()), "a hung member is a failure: " + left);
        long afterMillis = (left.nanos() - stopped) / 1_000_000;
        System.out.printf("SIGSTOPped child removed after %d ms (dropTime %d ms)%n", afterMillis,
                Loopback.DROP_TIME.toMillis());
        // Its connection stays up while it is stopped: it must have been suspected for its silence, then failed the
        // TCP check (a timing bound here would depend on how regular its last heartbeats were on a busy machine).
        EventLog.Seen suspected = observed.find(stopped, e -> e instanceof MembershipEvent.Suspected);
        assertNotNull(suspected, "removed without being suspected first: " + observed.events());
        assertTrue(((MembershipEvent.Suspected) suspected.event()).reason().contains("no heartbeat"),
                "a hung member is suspected for its silence: " + suspected);
        long resumed = System.nanoTime();
        child.signal("CONT");
        assertNotNull(observed.await(resumed, EventLog.joined().and(EventLog.about(childAddress)),
                Loopback.PATIENCE.toNanos()), "the resumed child did not join again: " + observed.events());
    }

    @Test
    void gracefulStopIsSeenAsALeave() {
        long asked = System.nanoTime();
        child.command("CLOSE");
        EventLog.Seen left = observed.await(asked, EventLog.anyLeft().and(EventLog.about(childAddress)),
                REMOVAL_BOUND.toNanos());
        assertNotNull(left, "the closed child was not removed: " + observed.events());
        assertTrue(EventLog.left(true).test(left.event()), "a clean stop must be a graceful leave: " + left);
        child.await("CLOSED", l -> l.equals("CLOSED"), Loopback.PATIENCE);
        assertTrue(child.waitFor(Duration.ofSeconds(10)), "the child did not exit after CLOSE");
        System.out.printf("graceful leave seen after %.1f ms%n", (left.nanos() - asked) / 1e6);
    }
}
