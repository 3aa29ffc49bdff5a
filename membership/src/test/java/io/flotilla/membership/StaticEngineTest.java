package io.flotilla.membership;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.MembershipEvent;
import io.flotilla.MembershipEvent.Joined;
import io.flotilla.MembershipEvent.Left;
import io.flotilla.MembershipEvent.Suspected;
import io.flotilla.MembershipEvent.Unsuspected;
import io.flotilla.membership.FakeMembershipContext.FakeNetwork;
import io.flotilla.membership.FakeMembershipContext.FakeNetwork.Mode;
import io.flotilla.spi.Clock;
import io.flotilla.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Static membership with fake probes: discovery, removal after dropTime of failed probes, rejoin. */
class StaticEngineTest {
    private static final Duration FREQUENCY = Duration.ofMillis(500);
    private static final Duration DROP_TIME = Duration.ofMillis(3000);

    private final ManualClock clock = new ManualClock();
    private final FakeNetwork network = new FakeNetwork();
    private final InlineLoop loop = new InlineLoop();
    private final Member local = FakeMembershipContext.member("local", 10001, "");
    private final Member b = FakeMembershipContext.member("b", 10002, "");
    private final Member c = FakeMembershipContext.member("c", 10003, "");
    private FakeMembershipContext context;
    private StaticEngine engine;

    private void start(String... members) {
        context = new FakeMembershipContext(local, "test", clock, clock, network);
        StaticMembershipConfig config = StaticMembershipConfig.builder().member(members).frequency(FREQUENCY)
                .dropTime(DROP_TIME).build();
        engine = new StaticEngine(context, config, loop, new MembershipMeters(context.meters(), "test", "static"));
        engine.start();
    }

    private void startAll() {
        start("127.0.0.1:10001", "127.0.0.1:10002", "127.0.0.1:10003");
    }

    private List<Class<?>> kinds(Member m) {
        return kinds(context.events().stream().filter(e -> e.member().equals(m)).toList());
    }

    private static List<Class<?>> kinds(List<MembershipEvent> events) {
        List<Class<?>> out = new ArrayList<>();
        for (MembershipEvent e : events) {
            out.add(e.getClass());
        }
        return out;
    }

    @Test
    void discoversReachableMembersAtOnceAndSkipsItself() {
        network.put(b, Mode.ALIVE);
        network.put(c, Mode.DEAD);
        startAll();
        assertEquals(2, engine.view().size());
        assertTrue(engine.view().contains(b.id()));
        assertEquals(2, network.probes(), "the local entry is not probed");
        network.set(c, Mode.ALIVE);
        clock.advance(FREQUENCY);
        assertEquals(3, engine.view().size());
        assertTrue(context.events().stream().allMatch(e -> e instanceof Joined));
    }

    @Test
    void aListedAddressThatProbesThisNodeIsVerifiedAtOnceNotAtTheNextRound() {
        network.put(b, Mode.DEAD); // not started yet when this node starts
        startAll();
        int probes = network.probes();
        network.set(b, Mode.ALIVE); // b starts and probes this node
        engine.probedBy(b);
        assertTrue(engine.view().contains(b.id()), "verified at once, before the next round");
        assertEquals(probes + 1, network.probes());
        engine.probedBy(b); // a member already: nothing more
        engine.probedBy(FakeMembershipContext.member("stranger", 10009, "")); // not listed: never probed
        assertEquals(probes + 1, network.probes());
    }

    @Test
    void aCandidatesProbeWaitsUpToDropTimeWhileAMembersProbeWaitsConnectTimeout() {
        network.put(b, Mode.ALIVE);
        start("127.0.0.1:10002");
        assertEquals(List.of(DROP_TIME), context.probeTimeouts, "a freshly started JVM may answer slowly");
        clock.advance(FREQUENCY);
        assertEquals(List.of(DROP_TIME, Duration.ofMillis(1500)), context.probeTimeouts,
                "a member is verified within connectTimeout");
    }

    @Test
    void removesAfterDropTimeOfFailedProbesThenRejoins() {
        network.put(b, Mode.ALIVE);
        startAll();
        network.set(b, Mode.DEAD);
        clock.advance(DROP_TIME.minusNanos(1));
        assertTrue(engine.view().contains(b.id()), "probes failed for less than dropTime");
        clock.advance(FREQUENCY); // the first round at or after dropTime
        assertFalse(engine.view().contains(b.id()));
        assertEquals(List.of(Joined.class, Left.class), kinds(b));
        assertFalse(context.eventsOf(Left.class, b.id()).get(0).graceful());
        network.set(b, Mode.ALIVE);
        clock.advance(FREQUENCY);
        assertTrue(engine.view().contains(b.id()));
        assertEquals(List.of(Joined.class, Left.class, Joined.class), kinds(b));
    }

    @Test
    void shortOutagesDoNotRemove() {
        network.put(b, Mode.ALIVE);
        startAll();
        for (int i = 0; i < 5; i++) {
            network.set(b, Mode.DEAD);
            clock.advance(DROP_TIME.minus(FREQUENCY));
            network.set(b, Mode.ALIVE);
            clock.advance(FREQUENCY);
        }
        assertEquals(List.of(Joined.class), kinds(b));
    }

    @Test
    void suspicionFromTheTransportIsVerifiedByOneProbe() {
        network.put(b, Mode.ALIVE);
        network.put(c, Mode.ALIVE);
        startAll();
        engine.suspect(b.id(), "connection reset");
        assertEquals(List.of(Joined.class, Suspected.class, Unsuspected.class), kinds(b));
        network.set(c, Mode.DEAD);
        int probes = network.probes();
        engine.suspect(c.id(), "connection reset");
        assertEquals(List.of(Joined.class, Suspected.class, Left.class), kinds(c));
        assertEquals(probes + 1, network.probes(), "a refused connection is conclusive: one probe");
        long last = 1;
        for (MembershipEvent e : context.events()) {
            assertTrue(e.view().id() > last);
            last = e.view().id();
        }
    }

    /** connectTimeout + frequency: when a probe that never answers counts as failed. */
    private static final Duration GUARD = Duration.ofMillis(1500 + 500);
    private static final int ATTEMPTS = 3;

    @Test
    void hangingProbesCountAsFailedAndRemoveASuspectAfterProbeAttempts() {
        network.put(b, Mode.ALIVE);
        startAll();
        network.set(b, Mode.HANG);
        engine.suspect(b.id(), "x");
        clock.advance(GUARD.multipliedBy(ATTEMPTS).minusNanos(1));
        assertTrue(engine.view().contains(b.id()));
        clock.advance(Duration.ofNanos(1));
        assertFalse(engine.view().contains(b.id()));
        assertEquals(ATTEMPTS, context.counter("flotilla.membership.probes", "result", "timeout"));
    }

    @Test
    void aSuspectWhoseProbesFailWithoutARefusalIsRemovedAfterProbeAttempts() {
        network.put(b, Mode.ALIVE);
        startAll();
        network.set(b, Mode.FAIL);
        int probes = network.probes();
        engine.suspect(b.id(), "connection reset");
        assertEquals(List.of(Joined.class, Suspected.class, Left.class), kinds(b));
        assertEquals(probes + ATTEMPTS, network.probes(), "not a refusal: every attempt is made");
    }

    @Test
    void twoProbesLostInARowDoNotRemoveAMemberEvenAfterDropTime() {
        network.put(b, Mode.ALIVE);
        startAll();
        network.hangNext(b, ATTEMPTS - 1); // lost SYNs at 5% packet loss: 4 s without an answer
        clock.advance(Duration.ofSeconds(10));
        assertEquals(List.of(Joined.class), kinds(b));
        assertEquals(ATTEMPTS - 1.0, context.counter("flotilla.membership.probes", "result", "timeout"));
    }

    @Test
    void aSuspectThatAnswersALaterAttemptStays() {
        network.put(b, Mode.ALIVE);
        startAll();
        network.hangNext(b, ATTEMPTS - 1);
        engine.suspect(b.id(), "connection reset");
        clock.advance(GUARD.multipliedBy(ATTEMPTS));
        assertEquals(List.of(Joined.class, Suspected.class, Unsuspected.class), kinds(b));
    }

    @Test
    void aProbeInFlightWhileThisProcessWasPausedProvesNothing() {
        network.put(b, Mode.ALIVE);
        network.put(c, Mode.ALIVE);
        startAll();
        clock.advance(Duration.ofSeconds(2));
        network.hangNext(b, 1); // the answer to this round's probe is on its way when the process stops
        network.hangNext(c, 1);
        clock.advance(FREQUENCY);
        clock.jump(Duration.ofSeconds(5)); // SIGSTOP: the probes' guards fire on resume, 5.5 s after the last answer
        clock.advance(Duration.ofSeconds(10));
        assertEquals(List.of(Joined.class), kinds(b));
        assertEquals(List.of(Joined.class), kinds(c));
        assertEquals(2.0, context.counter("flotilla.membership.probes", "result", "inconclusive"));
        assertEquals(1.0, context.counter("flotilla.membership.local.pauses"));
    }

    @Test
    void afterAPauseADeadMemberIsStillRemoved() {
        network.put(b, Mode.ALIVE);
        startAll();
        clock.advance(Duration.ofSeconds(2));
        network.set(b, Mode.DEAD);
        clock.jump(Duration.ofSeconds(30));
        assertTrue(engine.view().contains(b.id()), "one refused probe right after a pause removes nobody");
        clock.advance(DROP_TIME);
        assertFalse(engine.view().contains(b.id()));
    }

    @Test
    void configuredIdMustMatch() {
        network.put(b, Mode.ALIVE);
        network.put(c, Mode.ALIVE);
        start(b.id() + "@127.0.0.1:10002", MemberId.random() + "@127.0.0.1:10003");
        assertTrue(engine.view().contains(b.id()));
        assertFalse(engine.view().contains(c.id()), "c answers with another id than configured");
    }

    @Test
    void newIncarnationAtTheSameAddressReplacesTheOld() {
        network.put(b, Mode.ALIVE);
        startAll();
        Member b2 = new Member(MemberId.random(), "b", b.host(), b.port(), "", new byte[0],
                b.startTimeMillis() + 1);
        network.set(b2, Mode.ALIVE);
        clock.advance(FREQUENCY);
        assertFalse(engine.view().contains(b.id()));
        assertTrue(engine.view().contains(b2.id()));
        assertEquals(1.0, context.counter("flotilla.membership.removals", "cause", "replaced"));
    }

    @Test
    void goodbyeIsGracefulAndTheSameIncarnationIsNotReadded() {
        network.put(b, Mode.ALIVE);
        startAll();
        engine.left(b.id());
        assertTrue(context.eventsOf(Left.class, b.id()).get(0).graceful());
        clock.advance(FREQUENCY.multipliedBy(4));
        assertFalse(engine.view().contains(b.id()));
    }

    @Test
    void closeStopsProbing() {
        network.put(b, Mode.ALIVE);
        startAll();
        engine.close();
        int probes = network.probes();
        clock.advance(Duration.ofSeconds(5));
        assertEquals(probes, network.probes());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void staticMembershipRunsOnItsOwnThread() {
        ThreadScheduler scheduler = new ThreadScheduler("static-test-scheduler");
        network.put(b, Mode.ALIVE);
        FakeMembershipContext ctx = new FakeMembershipContext(local, "test", Clock.system(), scheduler, network);
        StaticMembership service = (StaticMembership) StaticMembership.factory(StaticMembershipConfig.builder()
                .member("127.0.0.1:10001", "127.0.0.1:10002").frequency(Duration.ofMillis(100))
                .dropTime(Duration.ofMillis(500)).build()).create();
        try {
            service.start(ctx);
            await("b discovered", Duration.ofSeconds(30), () -> ctx.events().size() == 1);
            network.set(b, Mode.DEAD);
            await("b removed", Duration.ofSeconds(30), () -> ctx.events().size() == 2);
            assertEquals(List.of(Joined.class, Left.class), kinds(ctx.events()));
            assertTrue(ctx.publishThreads().stream().allMatch(n -> n.contains("membership")),
                    () -> "published from " + ctx.publishThreads());
        } finally {
            service.close();
            service.close();
            scheduler.close();
        }
    }
}
