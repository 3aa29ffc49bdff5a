package io.flotilla.membership;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.ConfigurationException;
import io.flotilla.Member;
import io.flotilla.MembershipEvent;
import io.flotilla.MembershipEvent.Joined;
import io.flotilla.MembershipEvent.Left;
import io.flotilla.MembershipEvent.Suspected;
import io.flotilla.MembershipEvent.Unsuspected;
import io.flotilla.membership.FakeMembershipContext.FakeNetwork;
import io.flotilla.membership.FakeMembershipContext.FakeNetwork.Mode;
import io.flotilla.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import javax.naming.CommunicationException;
import javax.naming.NamingException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

/**
 * DNS membership without sockets: the probing engine's changing address list (on the inline loop and a manual clock)
 * and the lookup loop (with a resolver the test controls). The real DNS server is in {@code DnsMembershipIT}.
 */
class DnsMembershipTest {
    private static final Duration FREQUENCY = Duration.ofMillis(500);
    private static final Duration DROP_TIME = Duration.ofMillis(3000);
    private static final String GONE = "its address is no longer listed in DNS";

    private final ManualClock clock = new ManualClock();
    private final FakeNetwork network = new FakeNetwork();
    private final InlineLoop loop = new InlineLoop();
    private final Member local = FakeMembershipContext.member("local", 10001, "");
    private final Member b = FakeMembershipContext.member("b", 10002, "");
    private final Member c = FakeMembershipContext.member("c", 10003, "");
    private final FakeMembershipContext context = new FakeMembershipContext(local, "test", clock, clock, network);
    private final StaticEngine engine = new StaticEngine(context, StaticMembershipConfig.builder()
            .frequency(FREQUENCY).dropTime(DROP_TIME).build(), loop, new MembershipMeters(context.meters(), "test",
            "dns"));

    private static List<StaticAddress> listed(Member... members) {
        List<StaticAddress> out = new ArrayList<>();
        for (Member m : members) {
            out.add(new StaticAddress(null, m.host(), m.port()));
        }
        return out;
    }

    private List<Class<?>> kinds(Member m) {
        return context.events().stream().filter(e -> e.member().equals(m)).<Class<?>>map(MembershipEvent::getClass)
                .toList();
    }

    @Test
    void aListedAddressJoinsOnlyOnceItAnswersAndItsOwnEntryIsSkipped() {
        network.put(b, Mode.ALIVE);
        network.put(c, Mode.DEAD); // a stale record: nothing answers there
        engine.start();
        engine.addresses(listed(local, b, c), GONE);
        assertEquals(2, engine.view().size());
        assertTrue(engine.view().contains(b.id()));
        assertEquals(2, network.probes(), "the local entry is not probed");
        clock.advance(DROP_TIME.multipliedBy(3));
        assertFalse(engine.view().contains(c.id()), "a stale record never makes a member");
        assertEquals(List.of(), kinds(c));
        network.set(c, Mode.ALIVE);
        clock.advance(FREQUENCY);
        assertTrue(engine.view().contains(c.id()), "the node behind the record started: it joins");
    }

    @Test
    void anUnlistedMemberIsVerifiedAtOnceStaysWhileItAnswersAndLeavesWhenItFails() {
        network.put(b, Mode.ALIVE);
        network.put(c, Mode.ALIVE);
        engine.start();
        engine.addresses(listed(b, c), GONE);
        network.set(c, Mode.DEAD);
        engine.addresses(listed(b), GONE);
        assertEquals(List.of(Joined.class, Suspected.class, Left.class), kinds(c),
                "a dead member whose record is gone leaves after its verification, without waiting for dropTime");
        engine.addresses(List.of(), GONE); // NXDOMAIN: nobody listed
        assertEquals(List.of(Joined.class, Suspected.class, Unsuspected.class), kinds(b),
                "a live member whose record is gone stays (a terminating pod says goodbye when it stops)");
        int probes = network.probes();
        clock.advance(FREQUENCY.multipliedBy(4));
        assertTrue(network.probes() >= probes + 4, "the unlisted member is still probed while it is a member");
        assertEquals(0, context.counter("flotilla.membership.probes", "result", "failed") - 1,
                "c's one refused probe only (a refusal is conclusive)");
        network.set(b, Mode.DEAD);
        clock.advance(DROP_TIME.plus(FREQUENCY));
        assertEquals(List.of(Joined.class, Suspected.class, Unsuspected.class, Left.class), kinds(b));
        probes = network.probes();
        clock.advance(FREQUENCY.multipliedBy(4));
        assertEquals(probes, network.probes(), "an unlisted address is forgotten once its member is gone");
        assertEquals(1, context.counter("flotilla.membership.suspicions", "cause", "unlisted") - 1);
    }

    @Test
    void aRelistedAddressIsProbedAgainAndAnUnlistedOneWithoutMemberAtOnceForgotten() {
        network.put(c, Mode.DEAD);
        engine.start();
        engine.addresses(listed(c), GONE);
        engine.addresses(List.of(), GONE);
        int probes = network.probes();
        clock.advance(FREQUENCY.multipliedBy(4));
        assertEquals(probes, network.probes(), "no member behind it: not probed any more");
        network.set(c, Mode.ALIVE);
        engine.addresses(listed(c), GONE);
        assertTrue(engine.view().contains(c.id()));
        assertEquals(List.of(Joined.class), kinds(c));
    }

    @Test
    void aGoodbyeFromAnUnlistedMemberIsAGracefulLeave() {
        network.put(b, Mode.ALIVE);
        engine.start();
        engine.addresses(listed(b), GONE);
        engine.addresses(List.of(), GONE);
        engine.left(b.id());
        List<MembershipEvent> events = context.events();
        assertTrue(((Left) events.get(events.size() - 1)).graceful());
        int probes = network.probes();
        clock.advance(FREQUENCY.multipliedBy(4));
        assertEquals(probes, network.probes());
    }

    /** A resolver the test sets; counts its lookups. */
    private static final class ScriptedResolver implements AddressSource {
        final AtomicReference<Object> answer = new AtomicReference<>(List.of());
        final AtomicInteger lookups = new AtomicInteger();

        @Override
        @SuppressWarnings("unchecked")
        public List<StaticAddress> addresses() throws NamingException {
            lookups.incrementAndGet();
            Object a = answer.get();
            if (a instanceof NamingException e) {
                throw e;
            }
            return (List<StaticAddress>) a;
        }
    }

    @Test
    @Timeout(20)
    void looksUpEveryResolveIntervalAndAFailedLookupChangesNothing() throws Exception {
        ScriptedResolver resolver = new ScriptedResolver();
        network.put(b, Mode.ALIVE);
        resolver.answer.set(listed(b));
        DnsMembershipConfig config = DnsMembershipConfig.builder().addresses("cluster.test", 4000)
                .frequency(FREQUENCY).dropTime(DROP_TIME).build();
        assertEquals(Duration.ofSeconds(5), config.resolveInterval(), "10 x frequency by default");
        try (Discovery dns = DnsMembership.service(config, resolver)) {
            dns.start(context);
            await("b joins", Duration.ofSeconds(10), () -> dns.view().contains(b.id()));
            resolver.answer.set(new CommunicationException("no answer from the server"));
            nextLookup(config);
            await("a failed lookup", Duration.ofSeconds(10),
                    () -> context.counter("flotilla.membership.lookups", "result", "failed") == 1);
            // the lookup thread counts the failure before it schedules the next lookup: wait for that, so the clock
            // does not move under it (the next lookup would then be due a full interval later)
            await("the lookup after the failure scheduled", Duration.ofSeconds(10), () -> clock.pendingDelaysNanos()
                    .contains(config.resolveInterval().toNanos()));
            clock.advance(FREQUENCY);
            assertTrue(dns.view().contains(b.id()), "a failed lookup removes nobody");
            assertEquals(List.of(Joined.class), kinds(b));
            network.put(c, Mode.ALIVE);
            resolver.answer.set(listed(b, c));
            await("the next lookup scheduled", Duration.ofSeconds(10), () -> clock.pendingDelaysNanos()
                    .contains(config.resolveInterval().minus(FREQUENCY).toNanos()));
            clock.advance(config.resolveInterval().minus(FREQUENCY));
            await("c joins", Duration.ofSeconds(10), () -> dns.view().contains(c.id()));
            assertThrows(IllegalStateException.class, () -> dns.start(context));
        }
    }

    /** Waits until the lookup thread scheduled its next lookup, then runs it. */
    private void nextLookup(DnsMembershipConfig config) {
        await("the next lookup scheduled", Duration.ofSeconds(10),
                () -> clock.pendingDelaysNanos().contains(config.resolveInterval().toNanos()));
        clock.advance(config.resolveInterval());
    }

    @Test
    void configRefusesBadValuesNamingThem() {
        assertMessage("name=", () -> DnsMembershipConfig.builder().addresses(" ", 4000).build());
        assertMessage("name=a b", () -> DnsMembershipConfig.builder().addresses("a b", 4000).build());
        assertMessage("port=0", () -> DnsMembershipConfig.builder().addresses("tomcat", 0).build());
        assertMessage("recordType=MX", () -> DnsMembershipConfig.RecordType.parse("MX"));
        assertMessage("server=a:b:c:x", () -> DnsMembershipConfig.builder().addresses("t", 1).server("[a:b:c:x")
                .build(), "server=[a:b:c:x");
        assertMessage("server=dns.example:99999", () -> DnsMembershipConfig.builder().srv("_f._tcp.t")
                .server("dns.example:99999").build());
        assertMessage("resolveInterval=PT0.01S", () -> DnsMembershipConfig.builder().srv("_f._tcp.t")
                .resolveInterval(Duration.ofMillis(10)).build());
        assertMessage("lookupTimeout=PT0S", () -> DnsMembershipConfig.builder().srv("_f._tcp.t")
                .lookupTimeout(Duration.ZERO).build());
        assertMessage("dropTime=PT0.5S", () -> DnsMembershipConfig.builder().srv("_f._tcp.t")
                .dropTime(Duration.ofMillis(500)).build());
        assertEquals(new StaticAddress(null, "::1", 53), DnsMembershipConfig.builder().srv("_f._tcp.t")
                .server("::1").build().serverAddress());
        assertEquals(new StaticAddress(null, "127.0.0.1", 5353), DnsMembershipConfig.builder().srv("_f._tcp.t")
                .server("127.0.0.1:5353").build().serverAddress());
        assertEquals(new StaticAddress(null, "10.96.0.10", 53), DnsMembershipConfig.builder().srv("_f._tcp.t")
                .server("10.96.0.10").build().serverAddress());
    }

    private static void assertMessage(String expected, Executable action) {
        assertMessage(expected, action, expected);
    }

    private static void assertMessage(String ignored, Executable action, String prefix) {
        ConfigurationException e = assertThrows(ConfigurationException.class, action);
        assertTrue(e.getMessage().startsWith(prefix + " is invalid"), e.getMessage());
    }
}
