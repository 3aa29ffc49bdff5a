package io.flotilla.membership;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.ClusterSecret;
import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.MembershipEvent;
import io.flotilla.MembershipEvent.Joined;
import io.flotilla.MembershipEvent.Left;
import io.flotilla.MembershipEvent.Suspected;
import io.flotilla.MembershipEvent.Unsuspected;
import io.flotilla.membership.FakeMembershipContext.FakeNetwork;
import io.flotilla.membership.FakeMembershipContext.FakeNetwork.Mode;
import io.flotilla.testing.ManualClock;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.crypto.Mac;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The heartbeat protocol and member table, on the calling thread with a manual clock: no sockets, no sleeps. */
class HeartbeatEngineTest {
    private static final String CLUSTER = "test";
    private static final Duration DROP_TIME = Duration.ofMillis(3000);
    private static final Duration FREQUENCY = Duration.ofMillis(500);

    private final ManualClock clock = new ManualClock();
    private final FakeNetwork network = new FakeNetwork();
    private final InlineLoop loop = new InlineLoop();
    private final List<Datagram> sent = new ArrayList<>();
    private final Member local = FakeMembershipContext.member("local", 10001, "");
    private final Member b = FakeMembershipContext.member("b", 10002, "");
    private final Member c = FakeMembershipContext.member("c", 10003, "");
    private FakeMembershipContext context;
    private HeartbeatEngine engine;
    private final Map<MemberId, Long> sequences = new HashMap<>();
    /** The secret the test's members tag their datagrams with; null for none. */
    private ClusterSecret senderSecret;
    private static final ClusterSecret SECRET = ClusterSecret.fromString("membership-test-secret-1");
    private static final ClusterSecret WRONG = ClusterSecret.fromString("membership-test-secret-2");

    @BeforeEach
    void setUp() {
        start(MulticastMembershipConfig.builder().ttl(0).bind("lo").frequency(FREQUENCY).dropTime(DROP_TIME)
                .build());
    }

    private void start(MulticastMembershipConfig config) {
        start(config, null);
    }

    private void start(MulticastMembershipConfig config, ClusterSecret secret) {
        context = new FakeMembershipContext(local, CLUSTER, clock, clock, network).withSecret(secret);
        Mac sinkMac = secret == null ? null : secret.newMac(ClusterSecret.Purpose.MEMBERSHIP);
        engine = new HeartbeatEngine(context, config, loop, datagram -> sent.add(Datagram.decode(datagram, sinkMac)),
                new MembershipMeters(context.meters(), CLUSTER, "multicast"));
        engine.start();
    }

    private void heartbeat(Member from) {
        engine.receive(encode(Datagram.Type.HEARTBEAT, CLUSTER, from), clock.nanoTime());
    }

    private ByteBuffer encode(Datagram.Type type, String cluster, Member from) {
        return encode(type, cluster, from, senderSecret);
    }

    private ByteBuffer encode(Datagram.Type type, String cluster, Member from, ClusterSecret secret) {
        long seq = sequences.merge(from.id(), 1L, Long::sum);
        return encode(new Datagram(type, cluster, seq, from), secret);
    }

    private static ByteBuffer encode(Datagram d, ClusterSecret secret) {
        ByteBuffer buffer = ByteBuffer.allocate(d.encodedLength(secret != null));
        d.encode(buffer, secret == null ? null : secret.newMac(ClusterSecret.Purpose.MEMBERSHIP));
        return buffer.flip();
    }

    private double ignored(String reason) {
        return context.counter("flotilla.membership.datagrams.ignored", "reason", reason);
    }

    private double refused(String reason) {
        return context.counter("flotilla.membership.datagrams.refused", "reason", reason);
    }

    /** Heartbeats from {@code from} every frequency for {@code d}, advancing the clock. */
    private void heartbeatsFor(Member from, Duration d) {
        for (long t = 0; t < d.toMillis(); t += FREQUENCY.toMillis()) {
            clock.advance(FREQUENCY);
            heartbeat(from);
        }
    }

    private void join(Member m) {
        network.put(m, Mode.ALIVE);
        heartbeat(m);
        assertTrue(engine.view().contains(m.id()), "joined " + m.describe());
    }

    private List<MembershipEvent> eventsAbout(Member m) {
        List<MembershipEvent> out = new ArrayList<>();
        for (MembershipEvent e : context.events()) {
            if (e.member().equals(m)) {
                out.add(e);
            }
        }
        return out;
    }

    @Test
    void startSendsTheFirstHeartbeatAtOnceThenOneEveryFrequency() {
        assertEquals(1, sent.size());
        assertEquals(Datagram.Type.HEARTBEAT, sent.get(0).type());
        assertTrue(sent.get(0).member().sameDescription(local));
        clock.advance(FREQUENCY.minusNanos(1));
        assertEquals(1, sent.size());
        clock.advance(Duration.ofNanos(1));
        assertEquals(2, sent.size());
        assertTrue(sent.get(1).sequence() > sent.get(0).sequence());
        assertEquals(1, engine.view().size());
        assertEquals(1, engine.view().id());
    }

    @Test
    void newcomerIsAddedAfterAProbeAndAnsweredAtOnce() {
        network.put(b, Mode.ALIVE);
        heartbeat(b);
        assertEquals(List.of(Joined.class), eventsAbout(b).stream().map(Object::getClass).toList());
        assertEquals(2, engine.view().size());
        assertEquals(2, engine.view().id());
        assertEquals(2, sent.size(), "the start heartbeat and the immediate answer to the newcomer");
        assertEquals(2.0, context.gauge("flotilla.membership.members"));
        // A known member's heartbeat is not answered.
        clock.advance(Duration.ofMillis(100));
        heartbeat(b);
        assertEquals(2, sent.size());
    }

    @Test
    void burstOfNewcomersGetsOneAnswer() {
        network.put(b, Mode.ALIVE);
        network.put(c, Mode.ALIVE);
        loop.execute(() -> {
            heartbeat(b);
            heartbeat(c);
        });
        assertEquals(3, engine.view().size());
        assertEquals(2, sent.size());
    }

    @Test
    void memberWhoseReceiverNeverComesUpIsNotAdded() {
        network.put(b, Mode.DEAD);
        heartbeat(b);
        heartbeatsFor(b, Duration.ofSeconds(10));
        assertTrue(eventsAbout(b).isEmpty(), () -> "no event for b: " + eventsAbout(b));
        assertFalse(engine.view().contains(b.id()));
        int probes = network.probes();
        assertTrue(probes >= 2 && probes <= 11, "probes retried at most every 2 frequencies: " + probes);
        // Its receiver comes up: added on a later heartbeat, after a probe.
        network.set(b, Mode.ALIVE);
        heartbeatsFor(b, Duration.ofSeconds(1));
        assertTrue(engine.view().contains(b.id()));
        assertEquals(List.of(Joined.class), eventsAbout(b).stream().map(Object::getClass).toList());
    }

    @Test
    void suspectsExactlyAtDropTimeAndNotATickBefore() {
        join(b);
        network.set(b, Mode.DEAD);
        clock.advance(DROP_TIME.minusNanos(1));
        assertEquals(List.of(Joined.class), eventsAbout(b).stream().map(Object::getClass).toList());
        clock.advance(Duration.ofNanos(1));
        List<MembershipEvent> events = eventsAbout(b);
        assertEquals(List.of(Joined.class, Suspected.class, Left.class),
                events.stream().map(Object::getClass).toList());
        assertFalse(((Left) events.get(2)).graceful());
        assertFalse(engine.view().contains(b.id()));
        assertEquals(1.0, context.counter("flotilla.membership.suspicions", "cause", "silence"));
        assertEquals(1.0, context.counter("flotilla.membership.removals", "cause", "failed"));
    }

    @Test
    void heartbeatsPostponeSuspicion() {
        join(b);
        heartbeatsFor(b, Duration.ofSeconds(10));
        clock.advance(DROP_TIME.minusNanos(1));
        assertEquals(1, eventsAbout(b).size());
    }

    @Test
    void silentMemberThatAnswersOverTcpIsKept() {
        join(b);
        clock.advance(DROP_TIME);
        assertEquals(List.of(Joined.class, Suspected.class, Unsuspected.class),
                eventsAbout(b).stream().map(Object::getClass).toList());
        assertTrue(engine.view().contains(b.id()));
        // Still silent: verified again one dropTime later, still kept.
        clock.advance(DROP_TIME.minusNanos(1));
        assertEquals(3, eventsAbout(b).size());
        clock.advance(Duration.ofNanos(1));
        assertEquals(5, eventsAbout(b).size());
        assertTrue(engine.view().contains(b.id()));
        assertTrue(context.eventsOf(Left.class, b.id()).isEmpty());
    }

    @Test
    void transportSuspicionWithHeartbeatsAliveRemovesWhenTheProbeFails() {
        join(b);
        network.set(b, Mode.DEAD); // receiver stopped, heartbeats go on (Tribes' case a)
        engine.suspect(b.id(), "connection reset");
        List<MembershipEvent> events = eventsAbout(b);
        assertEquals(List.of(Joined.class, Suspected.class, Left.class),
                events.stream().map(Object::getClass).toList());
        assertEquals("connection reset", ((Suspected) events.get(1)).reason());
        heartbeatsFor(b, Duration.ofSeconds(5));
        assertFalse(engine.view().contains(b.id()), "heartbeats alone never bring it back");
        // Heard again after removal, same id: re-added only after a probe.
        network.set(b, Mode.ALIVE);
        heartbeatsFor(b, Duration.ofSeconds(1));
        assertTrue(engine.view().contains(b.id()));
        assertEquals(2, context.eventsOf(Joined.class, b.id()).size());
        assertEquals(1.0, context.counter("flotilla.membership.suspicions", "cause", "transport"));
    }

    @Test
    void transportSuspicionOfALiveMemberIsCleared() {
        join(b);
        engine.suspect(b.id(), "connection reset");
        assertEquals(List.of(Joined.class, Suspected.class, Unsuspected.class),
                eventsAbout(b).stream().map(Object::getClass).toList());
    }

    /** A suspect's probe that never answers fails after connectTimeout + frequency. */
    private static final Duration GUARD = Duration.ofMillis(1500 + 500);
    private static final int ATTEMPTS = 3;

    @Test
    void probesThatNeverAnswerCountAsFailedAfterTheirGuardTimeAndRemoveAfterProbeAttempts() {
        join(b);
        network.set(b, Mode.HANG); // its receiver hangs while its heartbeats go on
        engine.suspect(b.id(), "connection reset");
        heartbeatsFor(GUARD.multipliedBy(ATTEMPTS).minus(FREQUENCY), b);
        assertTrue(engine.view().contains(b.id()));
        assertEquals(ATTEMPTS - 1.0, context.counter("flotilla.membership.probes", "result", "timeout"));
        heartbeatsFor(FREQUENCY, b);
        assertFalse(engine.view().contains(b.id()));
        assertEquals(ATTEMPTS, context.counter("flotilla.membership.probes", "result", "timeout"));
    }

    @Test
    void aSuspectSilentForDropTimeIsRemovedAfterOneFailedProbe() {
        join(b);
        network.set(b, Mode.HANG); // hung: no heartbeats, no answer
        clock.advance(DROP_TIME.plus(GUARD).minusNanos(1));
        assertTrue(engine.view().contains(b.id()));
        clock.advance(Duration.ofNanos(1));
        assertFalse(engine.view().contains(b.id()), "silent over UDP and TCP: no second attempt");
        assertEquals(1.0, context.counter("flotilla.membership.probes", "result", "timeout"));
    }

    @Test
    void probesLostOnTheNetworkDoNotRemoveASuspectThatAnswersALaterAttempt() {
        join(b);
        network.hangNext(b, ATTEMPTS - 1); // e.g. lost SYNs at 5% packet loss
        engine.suspect(b.id(), "connection reset");
        heartbeatsFor(GUARD.multipliedBy(ATTEMPTS), b);
        assertEquals(List.of(Joined.class, Suspected.class, Unsuspected.class), kindsAbout(b));
        assertEquals(ATTEMPTS - 1.0, context.counter("flotilla.membership.probes", "result", "timeout"));
        assertEquals(2.0, context.counter("flotilla.membership.probes", "result", "alive"),
                "the join's probe and the last attempt answered");
    }

    @Test
    void aSuspectWhoseAddressRefusesIsRemovedOnTheFirstRefusal() {
        join(b);
        network.set(b, Mode.DEAD); // kill -9: its heartbeats were heard a moment ago, its port now refuses
        engine.suspect(b.id(), "connection lost without goodbye");
        assertEquals(List.of(Joined.class, Suspected.class, Left.class), kindsAbout(b));
        assertEquals(1.0, context.counter("flotilla.membership.probes", "result", "failed"),
                "nothing listens at its address: no lost packet or busy member refuses, so one probe decides");
        assertEquals(2, network.probes(), "the join's probe and one verification");
    }

    @Test
    void aSuspectWhoseProbesFailWithoutARefusalIsRemovedOnlyAfterItsAttempts() {
        join(b);
        network.set(b, Mode.FAIL); // e.g. accepted, then reset before the handshake's answer
        engine.suspect(b.id(), "connection reset");
        assertFalse(engine.view().contains(b.id()), "failed attempts follow each other at once");
        assertEquals(ATTEMPTS, context.counter("flotilla.membership.probes", "result", "failed"),
                "a failure that is not a refusal proves nothing alone while heartbeats go on");
    }

    /** Heartbeats from each of {@code from} every frequency for {@code d}, advancing the clock. */
    private void heartbeatsFor(Duration d, Member... from) {
        for (long t = 0; t < d.toMillis(); t += FREQUENCY.toMillis()) {
            clock.advance(FREQUENCY);
            for (Member m : from) {
                heartbeat(m);
            }
        }
    }

    @Test
    void aProbeWhoseTimeoutElapsedWhileThisProcessWasPausedProvesNothing() {
        join(b);
        join(c);
        heartbeatsFor(Duration.ofSeconds(2), b, c);
        network.set(b, Mode.HANG); // b's answer is on its way when this process stops
        engine.suspect(b.id(), "connection reset");
        network.set(b, Mode.ALIVE);
        clock.jump(Duration.ofSeconds(5)); // SIGSTOP for 5 s: the probe's guard and the expiry timer fire on resume
        heartbeat(b); // then the datagrams the kernel kept meanwhile
        heartbeat(c);
        heartbeatsFor(Duration.ofSeconds(10), b, c);
        assertEquals(List.of(Joined.class, Suspected.class, Unsuspected.class), kindsAbout(b));
        assertEquals(List.of(Joined.class), kindsAbout(c), "c's silence was this process's pause");
        assertEquals(1.0, context.counter("flotilla.membership.probes", "result", "inconclusive"));
        assertEquals(1.0, context.counter("flotilla.membership.local.pauses"));
    }

    @Test
    void aPauseShorterThanDropTimeSuspectsNobody() {
        join(b);
        join(c);
        heartbeatsFor(Duration.ofSeconds(2), b, c);
        clock.advance(Duration.ofMillis(400));
        clock.jump(DROP_TIME.minusMillis(200)); // 3.2 s since the last heartbeats when the loop runs again
        heartbeat(b);
        heartbeat(c);
        heartbeatsFor(Duration.ofSeconds(10), b, c);
        assertEquals(List.of(Joined.class), kindsAbout(b));
        assertEquals(List.of(Joined.class), kindsAbout(c));
    }

    @Test
    void afterALongPauseADeadMemberIsStillRemovedAfterDropTimeOfRunning() {
        join(b);
        join(c);
        heartbeatsFor(Duration.ofSeconds(2), b, c);
        network.set(c, Mode.DEAD); // c crashes, this process stops right after
        clock.jump(Duration.ofSeconds(30));
        heartbeat(b);
        // The pause is taken as the gap less one heartbeat period (the loop may have slept that long legitimately),
        // so c's silence counts from up to one period before the process stopped.
        heartbeatsFor(DROP_TIME.minus(FREQUENCY.multipliedBy(2)), b);
        assertTrue(engine.view().contains(c.id()), "not removed for a silence that was mostly this pause");
        heartbeatsFor(FREQUENCY.multipliedBy(2), b);
        assertFalse(engine.view().contains(c.id()), "removed once silent for dropTime of this process's running");
        assertEquals(List.of(Joined.class), kindsAbout(b));
    }

    @Test
    void randomPausesNeverRemoveHealthyMembersAndADeadOneStillGoes() {
        long seed = Long.getLong("flotilla.test.seed", System.nanoTime());
        System.out.println("randomPausesNeverRemoveHealthyMembersAndADeadOneStillGoes seed=" + seed
                + " (rerun with -Dflotilla.test.seed=" + seed + ")");
        Random random = new Random(seed);
        Member d = FakeMembershipContext.member("d", 10004, "");
        join(b);
        join(c);
        join(d);
        long runningSinceDeathNanos = -1;
        for (int step = 0; step < 400; step++) {
            int what = random.nextInt(20);
            if (what == 0) {
                if (random.nextBoolean()) { // a probe in flight when the process stops
                    network.set(b, Mode.HANG);
                    engine.suspect(b.id(), "connection reset");
                    network.set(b, Mode.ALIVE);
                }
                clock.jump(Duration.ofMillis(random.nextInt(10_000)));
            } else {
                Duration dt = Duration.ofMillis(1 + random.nextInt((int) FREQUENCY.toMillis()));
                clock.advance(dt);
                if (runningSinceDeathNanos >= 0) {
                    runningSinceDeathNanos += dt.toNanos();
                }
            }
            for (Member m : List.of(b, c)) {
                if (random.nextInt(20) != 0) { // 5% of the datagrams lost
                    heartbeat(m);
                }
            }
            if (runningSinceDeathNanos < 0 && step == 100) {
                network.set(d, Mode.DEAD);
                runningSinceDeathNanos = 0;
            } else if (runningSinceDeathNanos < 0) {
                heartbeat(d);
            }
            assertTrue(context.eventsOf(Left.class, b.id()).isEmpty(), "b removed; seed " + seed);
            assertTrue(context.eventsOf(Left.class, c.id()).isEmpty(), "c removed; seed " + seed);
            if (runningSinceDeathNanos > DROP_TIME.plus(FREQUENCY.multipliedBy(2)).toNanos()) {
                assertFalse(engine.view().contains(d.id()), "dead d still in the view after "
                        + runningSinceDeathNanos / 1_000_000 + " ms of running; seed " + seed);
            }
        }
        assertTrue(runningSinceDeathNanos > DROP_TIME.plus(FREQUENCY.multipliedBy(2)).toNanos(), "seed " + seed);
    }


    @Test
    void leaveDatagramIsAGracefulLeaveAndTheIdNeverComesBack() {
        join(b);
        engine.receive(encode(Datagram.Type.LEAVE, CLUSTER, b), clock.nanoTime());
        List<Left> left = context.eventsOf(Left.class, b.id());
        assertEquals(1, left.size());
        assertTrue(left.get(0).graceful());
        assertEquals(1.0, context.counter("flotilla.membership.removals", "cause", "leave"));
        heartbeatsFor(b, Duration.ofSeconds(2)); // a late heartbeat, still in flight
        assertFalse(engine.view().contains(b.id()));
        assertEquals(1, context.eventsOf(Joined.class, b.id()).size());
    }

    @Test
    void goodbyeOnTheConnectionIsAGracefulLeave() {
        join(b);
        engine.left(b.id());
        assertTrue(context.eventsOf(Left.class, b.id()).get(0).graceful());
        assertEquals(1, engine.view().size());
    }

    @Test
    void restartedNodeIsANewMemberAndTheOldIncarnationIsRemoved() {
        join(b);
        Member b2 = new Member(MemberId.random(), "b", b.host(), b.port(), "", new byte[0],
                b.startTimeMillis() + 10_000);
        network.set(b2, Mode.ALIVE); // the same host:port now answers as the new incarnation
        clock.advance(Duration.ofMillis(100));
        heartbeatsFor(b2, DROP_TIME);
        assertTrue(engine.view().contains(b2.id()));
        assertFalse(engine.view().contains(b.id()));
        assertFalse(context.eventsOf(Left.class, b.id()).get(0).graceful());
        assertEquals(1.0, context.counter("flotilla.membership.probes", "result", "mismatch"));
    }

    @Test
    void listenersSeeEventsInOrderWithViewIdsIncreasingByOne() {
        join(b);
        join(c);
        engine.suspect(c.id(), "x");
        engine.left(b.id());
        network.set(c, Mode.DEAD);
        clock.advance(DROP_TIME);
        List<MembershipEvent> events = context.events();
        assertEquals(List.of(Joined.class, Joined.class, Suspected.class, Unsuspected.class, Left.class,
                Suspected.class, Left.class), events.stream().map(Object::getClass).toList());
        for (int i = 0; i < events.size(); i++) {
            assertEquals(i + 2, events.get(i).view().id());
            assertTrue(events.get(i).view().contains(local.id()));
        }
        assertEquals(1, engine.view().size());
        assertEquals(1, context.publishThreads().size());
    }

    @Test
    void publisherThatThrowsDoesNotBreakTheLoop() {
        context.throwOnPublish(true);
        join(b);
        join(c);
        network.set(b, Mode.DEAD);
        engine.suspect(b.id(), "x");
        assertEquals(4, context.events().size());
        assertFalse(engine.view().contains(b.id()));
        assertTrue(loop.failures().isEmpty(), () -> "commands failed: " + loop.failures());
    }

    @Test
    void malformedDatagramsAreCountedAndIgnored() {
        ByteBuffer good = encode(Datagram.Type.HEARTBEAT, CLUSTER, b);
        byte[] bytes = new byte[good.remaining()];
        good.get(bytes);

        engine.receive(ByteBuffer.wrap(new byte[] {1, 2, 3}), 0);
        byte[] badMagic = bytes.clone();
        badMagic[0] = 'X';
        engine.receive(ByteBuffer.wrap(badMagic), 0);
        byte[] badVersion = bytes.clone();
        badVersion[4] = 9;
        engine.receive(ByteBuffer.wrap(badVersion), 0);
        byte[] badType = bytes.clone();
        badType[5] = 7;
        engine.receive(ByteBuffer.wrap(badType), 0);
        engine.receive(ByteBuffer.wrap(Arrays.copyOf(bytes, bytes.length - 5)), 0);
        engine.receive(ByteBuffer.wrap(Arrays.copyOf(bytes, bytes.length + 1)), 0);
        engine.receive(ByteBuffer.allocate(4096), 0);
        byte[] longName = bytes.clone();
        longName[6] = (byte) 250; // the cluster name swallows the member: what is left is truncated
        engine.receive(ByteBuffer.wrap(longName), 0);

        assertEquals(1.0, context.counter("flotilla.membership.datagrams.refused", "reason", "bad_magic"));
        assertEquals(1.0, context.counter("flotilla.membership.datagrams.refused", "reason", "bad_version"));
        assertEquals(1.0, context.counter("flotilla.membership.datagrams.refused", "reason", "bad_type"));
        assertEquals(1.0, context.counter("flotilla.membership.datagrams.refused", "reason", "trailing_bytes"));
        assertEquals(1.0, context.counter("flotilla.membership.datagrams.refused", "reason", "too_large"));
        assertTrue(context.counter("flotilla.membership.datagrams.refused", "reason", "truncated") >= 2.0);
        double refused = context.meters().find("flotilla.membership.datagrams.refused").counters().stream()
                .mapToDouble(x -> x.count()).sum();
        assertEquals(8.0, refused);
        assertEquals(8.0, context.counter("flotilla.membership.datagrams.received"));
        assertTrue(context.events().isEmpty());
        assertEquals(0, network.probes());
        // The loop still works.
        join(b);
    }

    @Test
    void datagramsOfAnotherDomainClusterOrOfItselfAreIgnored() {
        Member otherDomain = FakeMembershipContext.member("d", 10004, "other");
        network.put(otherDomain, Mode.ALIVE);
        network.put(b, Mode.ALIVE);
        heartbeat(otherDomain);
        engine.receive(encode(Datagram.Type.HEARTBEAT, "another-cluster", b), clock.nanoTime());
        heartbeat(local);
        assertEquals(1.0, context.counter("flotilla.membership.datagrams.ignored", "reason", "other_domain"));
        assertEquals(1.0, context.counter("flotilla.membership.datagrams.ignored", "reason", "other_cluster"));
        assertEquals(1.0, context.counter("flotilla.membership.datagrams.ignored", "reason", "self"));
        assertTrue(context.events().isEmpty());
        assertEquals(0, network.probes());
    }

    @Test
    void replayedHeartbeatsAreIgnored() {
        join(b);
        ByteBuffer hb = encode(Datagram.Type.HEARTBEAT, CLUSTER, b);
        engine.receive(hb.duplicate(), clock.nanoTime());
        engine.receive(hb.duplicate(), clock.nanoTime());
        assertEquals(1.0, ignored("replayed"));
    }

    private List<Class<?>> kindsAbout(Member m) {
        return eventsAbout(m).stream().<Class<?>>map(Object::getClass).toList();
    }

    @Test
    void withoutASecretOneForgedHeartbeatNearTheTopOfTheSequenceSpaceDoesNotMakeGenuineOnesStale() {
        join(b);
        heartbeatsFor(b, Duration.ofSeconds(1));
        engine.receive(encode(new Datagram(Datagram.Type.HEARTBEAT, CLUSTER, Long.MAX_VALUE - 1, b), null),
                clock.nanoTime());
        heartbeatsFor(b, Duration.ofSeconds(20));
        assertEquals(List.of(Joined.class), kindsAbout(b), "b's genuine heartbeats go on counting");
        assertEquals(1.0, ignored("out_of_window"));
        assertEquals(0.0, ignored("stale"));
    }

    @Test
    void withoutASecretAForgedFirstHeartbeatOfANewcomerDoesNotMakeItsGenuineOnesStale() {
        network.put(c, Mode.ALIVE);
        engine.receive(encode(new Datagram(Datagram.Type.HEARTBEAT, CLUSTER, Long.MAX_VALUE, c), null),
                clock.nanoTime());
        assertTrue(engine.view().contains(c.id()), "c answers over TCP: it joins");
        heartbeatsFor(c, Duration.ofSeconds(20));
        assertEquals(List.of(Joined.class), kindsAbout(c), "two genuine heartbeats in a row move the window back");
        assertEquals(1.0, ignored("out_of_window"));
    }

    @Test
    void withoutASecretALongGapInTheSequenceIsAcceptedFromItsSecondDatagram() {
        join(b);
        sequences.put(b.id(), 10_000L); // e.g. 10,000 datagrams lost
        heartbeat(b);
        assertEquals(1.0, ignored("out_of_window"));
        heartbeatsFor(b, Duration.ofSeconds(20));
        assertEquals(1.0, ignored("out_of_window"), "the next one confirmed the new position");
        assertEquals(List.of(Joined.class), kindsAbout(b));
        // A leave after such a gap is honoured too: its first copy is refused, the second confirms it.
        sequences.put(b.id(), 50_000L);
        engine.receive(encode(Datagram.Type.LEAVE, CLUSTER, b), clock.nanoTime());
        assertTrue(engine.view().contains(b.id()));
        engine.receive(encode(Datagram.Type.LEAVE, CLUSTER, b), clock.nanoTime());
        assertFalse(engine.view().contains(b.id()));
    }

    @Test
    void withASecretAJumpInTheSequenceIsAcceptedAtOnce() {
        startWithSecret();
        join(b);
        sequences.put(b.id(), 10_000L);
        heartbeat(b);
        sequences.put(b.id(), 1L); // an old number: stale, never a new position
        heartbeat(b);
        heartbeat(b);
        assertEquals(0.0, ignored("out_of_window"));
        assertEquals(2.0, ignored("stale"));
    }

    @Test
    void nonPositiveSequenceNumbersAreRefused() {
        network.put(b, Mode.ALIVE);
        engine.receive(encode(new Datagram(Datagram.Type.HEARTBEAT, CLUSTER, 0, b), null), clock.nanoTime());
        engine.receive(encode(new Datagram(Datagram.Type.HEARTBEAT, CLUSTER, Long.MIN_VALUE, b), null),
                clock.nanoTime());
        assertEquals(2.0, refused("bad_sequence"));
        assertFalse(engine.view().contains(b.id()));
    }

    private void startWithSecret() {
        start(MulticastMembershipConfig.builder().ttl(0).bind("lo").frequency(FREQUENCY).dropTime(DROP_TIME)
                .build(), SECRET);
        senderSecret = SECRET;
    }

    @Test
    void withASecretOnlyTaggedHeartbeatsJoinAndForgedLeavesRemoveNobody() {
        startWithSecret();
        assertTrue(!sent.isEmpty(), "own heartbeats are tagged and verify with the secret");
        join(b);
        network.put(c, Mode.ALIVE);
        int probesBefore = network.probes();
        engine.receive(encode(Datagram.Type.HEARTBEAT, CLUSTER, c, null), clock.nanoTime());
        engine.receive(encode(Datagram.Type.HEARTBEAT, CLUSTER, c, WRONG), clock.nanoTime());
        assertFalse(engine.view().contains(c.id()), "c did not join without the secret");
        assertEquals(probesBefore, network.probes(), "an unauthenticated datagram is not even probed");
        engine.receive(encode(Datagram.Type.LEAVE, CLUSTER, b, null), clock.nanoTime());
        engine.receive(encode(Datagram.Type.LEAVE, CLUSTER, b, WRONG), clock.nanoTime());
        ByteBuffer tampered = encode(Datagram.Type.LEAVE, CLUSTER, b, SECRET);
        tampered.put(tampered.limit() - 40, (byte) (tampered.get(tampered.limit() - 40) ^ 1));
        engine.receive(tampered, clock.nanoTime());
        assertTrue(engine.view().contains(b.id()), "forged leaves removed nobody");
        assertEquals(2.0, refused("unauthenticated"));
        assertEquals(3.0, refused("bad_mac"));
        engine.receive(encode(Datagram.Type.LEAVE, CLUSTER, b, SECRET), clock.nanoTime());
        assertFalse(engine.view().contains(b.id()), "the real leave removes b");
    }

    @Test
    void withASecretReplaysAreIgnoredAndReorderingWithinTheWindowIsAccepted() {
        startWithSecret();
        join(b);
        List<ByteBuffer> captured = new ArrayList<>();
        for (int i = 0; i < HeartbeatEngine.REPLAY_WINDOW + 10; i++) {
            captured.add(encode(Datagram.Type.HEARTBEAT, CLUSTER, b));
        }
        // Delivered newest first: the window takes the last 64 numbers, refuses older ones as stale.
        for (int i = captured.size() - 1; i >= 0; i--) {
            engine.receive(captured.get(i).duplicate(), clock.nanoTime());
        }
        assertEquals(10.0, ignored("stale"));
        for (ByteBuffer d : captured) {
            engine.receive(d.duplicate(), clock.nanoTime());
        }
        assertEquals(20.0, ignored("stale"));
        assertEquals(HeartbeatEngine.REPLAY_WINDOW, ignored("replayed"));
        assertTrue(engine.view().contains(b.id()));
        // A leave carrying a sequence number already used (a heartbeat's) is refused like any replay.
        engine.receive(encode(new Datagram(Datagram.Type.LEAVE, CLUSTER, 5, b), SECRET), clock.nanoTime());
        assertTrue(engine.view().contains(b.id()));
        assertEquals(HeartbeatEngine.REPLAY_WINDOW + 1.0, ignored("replayed") + ignored("stale") - 20.0);
    }

    @Test
    void datagramsOverMaxDatagramBytesAreRefusedBeforeParsing() {
        ByteBuffer big = ByteBuffer.allocate(MulticastMembershipConfig.builder().build().maxDatagramBytes() + 1);
        engine.receive(big, clock.nanoTime());
        assertEquals(1.0, refused("too_large"));
    }

    @Test
    void aNodeWithoutASecretRefusesTaggedDatagramsByName() {
        network.put(b, Mode.ALIVE);
        engine.receive(encode(Datagram.Type.HEARTBEAT, CLUSTER, b, SECRET), clock.nanoTime());
        assertEquals(1.0, refused("secret_mismatch"));
        assertFalse(engine.view().contains(b.id()));
    }

    @Test
    void phiAccrualSuspectsRegularMemberSoonerThanDropTime() {
        start(MulticastMembershipConfig.builder().ttl(0).bind("lo").frequency(FREQUENCY).dropTime(DROP_TIME)
                .failureDetection(FailureDetection.phiAccrual()).build());
        join(b);
        heartbeatsFor(b, Duration.ofSeconds(10));
        network.set(b, Mode.DEAD);
        clock.advance(Duration.ofMillis(900));
        assertTrue(engine.view().contains(b.id()));
        clock.advance(Duration.ofMillis(400));
        assertFalse(engine.view().contains(b.id()), "phi reached 8 well before dropTime");
        assertInstanceOf(Suspected.class, eventsAbout(b).get(1));
    }

    @Test
    void closeAnnouncesTheLeaveAndStopsHeartbeating() {
        engine.close(true);
        long leaves = sent.stream().filter(d -> d.type() == Datagram.Type.LEAVE).count();
        assertEquals(HeartbeatEngine.LEAVE_COPIES, leaves);
        int count = sent.size();
        clock.advance(Duration.ofSeconds(5));
        assertEquals(count, sent.size());
        assertEquals(0, clock.pendingDelaysNanos().size());
    }

    @Test
    void closeSendsTheLeaveOnTheClosingThreadWithoutWaitingForTheLoop() {
        heartbeat(b); // the loop has sent heartbeats: the leave must be numbered after them
        long lastHeartbeat = sent.get(sent.size() - 1).sequence();
        List<Datagram> sentBeforeTheLoopRan = new ArrayList<>();
        loop.execute(() -> { // the loop is busy with this command: whatever close() posts waits behind it
            engine.close(true);
            sentBeforeTheLoopRan.addAll(sent);
        });
        List<Datagram> leaves = sentBeforeTheLoopRan.stream().filter(d -> d.type() == Datagram.Type.LEAVE).toList();
        assertEquals(HeartbeatEngine.LEAVE_COPIES, leaves.size(), "the others learn of the leave at once");
        assertTrue(leaves.stream().allMatch(d -> d.sequence() > lastHeartbeat), "within the replay window");
        engine.close(true);
        assertEquals(HeartbeatEngine.LEAVE_COPIES, sent.stream().filter(d -> d.type() == Datagram.Type.LEAVE)
                .count(), "announced once");
    }

    @Test
    void closeWithASecretTagsTheLeave() {
        start(MulticastMembershipConfig.builder().ttl(0).bind("lo").frequency(FREQUENCY).dropTime(DROP_TIME)
                .build(), SECRET); // the sink decodes with the secret: an untagged or wrongly tagged leave throws
        engine.close(true);
        assertEquals(HeartbeatEngine.LEAVE_COPIES, sent.stream().filter(d -> d.type() == Datagram.Type.LEAVE)
                .count());
    }

    @Test
    void aNewcomerIsAnsweredBeforeItsProbeStarts() {
        List<Integer> sentWhenProbed = new ArrayList<>();
        context.onProbe(address -> sentWhenProbed.add(sent.size()));
        network.put(b, Mode.ALIVE);
        heartbeat(b);
        assertEquals(List.of(2), sentWhenProbed,
                "the answer (after the start heartbeat) went out first, so b probes this node without waiting");
        assertTrue(engine.view().contains(b.id()));
    }

    @Test
    void detectionCountersExistFromTheStart() {
        // Registered at start, so the first suspicion, probe, removal or leave does not pay for the registration.
        for (String cause : List.of("silence", "transport", "unlisted")) {
            assertEquals(0.0, context.counter("flotilla.membership.suspicions", "cause", cause));
            assertTrue(context.hasCounter("flotilla.membership.suspicions", "cause", cause), cause);
        }
        for (String cause : List.of("leave", "failed", "replaced")) {
            assertTrue(context.hasCounter("flotilla.membership.removals", "cause", cause), cause);
        }
        for (String result : List.of("alive", "failed", "timeout", "mismatch", "inconclusive")) {
            assertTrue(context.hasCounter("flotilla.membership.probes", "result", result), result);
        }
        assertTrue(context.hasCounter("flotilla.membership.datagrams.sent", "type", "leave"));
    }

    @Test
    void silentStopSendsNoLeave() {
        engine.close(false);
        assertTrue(sent.stream().noneMatch(d -> d.type() == Datagram.Type.LEAVE));
    }

    @Test
    void newcomerProbeWaitsUpToDropTimeWhileSuspectProbeWaitsConnectTimeout() {
        start(MulticastMembershipConfig.builder().ttl(0).bind("lo").frequency(FREQUENCY).dropTime(DROP_TIME)
                .connectTimeout(Duration.ofMillis(100)).build());
        join(b);
        assertEquals(List.of(DROP_TIME), context.probeTimeouts, "a freshly started JVM may answer slowly");
        clock.advance(DROP_TIME);
        assertEquals(List.of(DROP_TIME, Duration.ofMillis(100)), context.probeTimeouts,
                "a silent member is verified within connectTimeout");
    }
}
