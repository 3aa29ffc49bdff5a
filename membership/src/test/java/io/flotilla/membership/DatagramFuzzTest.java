package io.flotilla.membership;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.ClusterSecret;
import io.flotilla.Member;
import io.flotilla.MembershipEvent;
import io.flotilla.membership.FakeMembershipContext.FakeNetwork;
import io.flotilla.membership.FakeMembershipContext.FakeNetwork.Mode;
import io.flotilla.spi.Clock;
import io.flotilla.wire.WireException;
import io.micrometer.core.instrument.Counter;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * At least {@code flotilla.fuzz.datagrams} hostile datagrams (default 10,000; the {@code fuzz-long} profile sets
 * 200,000) multicast on {@code lo}, TTL 0, a free port, at a node that requires the cluster secret, while a
 * legitimate member heartbeats on the same group: mutated copies of correctly tagged heartbeats and leaves (bit
 * flips, truncation, extension, type, version and auth changes), forged leaves of the legitimate member without a
 * tag or with another secret's, exact replays of its captured datagrams, and garbage of every size up to beyond
 * {@code maxDatagramBytes}. Every one must be refused or ignored and counted (the counters add up to the number
 * sent), the legitimate member is never suspected nor removed, and the heap stays within a margin.
 */
@Timeout(value = 30, unit = TimeUnit.MINUTES)
class DatagramFuzzTest {
    private static final ClusterSecret SECRET = ClusterSecret.fromString("datagram-fuzz-secret-1");
    private static final ClusterSecret WRONG = ClusterSecret.fromString("datagram-fuzz-secret-2");
    private static final int BATCH = 50;
    private static final long HEAP_MARGIN_BYTES = 32L << 20;
    private static final Duration WAIT = Duration.ofSeconds(10);

    private final FakeNetwork network = new FakeNetwork();
    private final ThreadScheduler scheduler = new ThreadScheduler("fuzz-scheduler");
    private final String cluster = "f" + UUID.randomUUID().toString().substring(0, 8);
    private final List<MulticastMembership> services = new ArrayList<>();

    @BeforeAll
    static void multicastOnLoopbackWorks() throws IOException {
        MulticastLoopbackTest.multicastOnLoopbackWorks();
    }

    @AfterEach
    void tearDown() {
        for (MulticastMembership s : services) {
            s.close();
        }
        scheduler.close();
    }

    private FakeMembershipContext start(String name, int port, int tcpPort) {
        Member m = FakeMembershipContext.member(name, tcpPort, "");
        network.put(m, Mode.ALIVE);
        FakeMembershipContext ctx = new FakeMembershipContext(m, cluster, Clock.system(), scheduler, network)
                .withSecret(SECRET);
        MulticastMembership s = (MulticastMembership) MulticastMembership.factory(MulticastMembershipConfig.builder()
                .port(port).bind("lo").ttl(0).frequency(Duration.ofMillis(100)).dropTime(Duration.ofMillis(1500))
                .connectTimeout(Duration.ofMillis(500)).build()).create();
        services.add(s);
        s.start(ctx);
        return ctx;
    }

    private static double sum(FakeMembershipContext ctx, String name) {
        return ctx.meters().find(name).counters().stream().mapToDouble(Counter::count).sum();
    }

    /** Refused plus ignored datagrams, less the node's own heartbeats looping back. */
    private static double badCounted(FakeMembershipContext ctx) {
        return sum(ctx, "flotilla.membership.datagrams.refused") + sum(ctx, "flotilla.membership.datagrams.ignored")
                - ctx.counter("flotilla.membership.datagrams.ignored", "reason", "self");
    }

    @Test
    void hostileDatagramsAreRefusedCountedAndHarmlessWhileTheMemberStays() throws Exception {
        long target = Long.getLong("flotilla.fuzz.datagrams", 10_000);
        long seed = Long.getLong("flotilla.fuzz.seed", System.nanoTime());
        System.out.println("DatagramFuzzTest seed " + seed + ", " + target + " datagrams");
        Random r = new Random(seed);
        int port = MulticastLoopbackTest.freePort();
        FakeMembershipContext a = start("a", port, 21_001);
        FakeMembershipContext b = start("b", port, 21_002);
        MulticastMembership serviceA = services.get(0);
        await("a and b see each other", WAIT, () -> serviceA.view() != null && serviceA.view().size() == 2);
        Member legit = b.localMember();
        Mac mac = SECRET.newMac(ClusterSecret.Purpose.MEMBERSHIP);
        Mac wrong = WRONG.newMac(ClusterSecret.Purpose.MEMBERSHIP);

        NetworkInterface lo = NetworkInterface.getByName("lo");
        InetAddress group = InetAddress.getByName("228.0.0.4"); // sent only on loopback (lo), TTL 0
        InetSocketAddress to = new InetSocketAddress(group, port);
        try (DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET)) {
            ch.setOption(StandardSocketOptions.SO_REUSEADDR, true).bind(new InetSocketAddress(port));
            ch.setOption(StandardSocketOptions.IP_MULTICAST_IF, lo).setOption(StandardSocketOptions.IP_MULTICAST_TTL, 0)
                    .setOption(StandardSocketOptions.IP_MULTICAST_LOOP, true);
            ch.join(group, lo);
            ch.configureBlocking(false);
            List<byte[]> captured = new ArrayList<>();
            double base = badCounted(a);
            long heapBefore = usedHeapAfterGc();
            long started = System.nanoTime();
            long sent = 0;
            long fakeSequence = 1L << 40;
            while (sent < target) {
                sniff(ch, legit, captured);
                int n = (int) Math.min(BATCH, target - sent);
                for (int i = 0; i < n; i++) {
                    byte[] d = switch (r.nextInt(6)) {
                        case 0, 1 -> mutateStrictly(tagged(legit, r.nextBoolean() ? Datagram.Type.HEARTBEAT
                                : Datagram.Type.LEAVE, ++fakeSequence, mac), r);
                        case 2 -> encode(new Datagram(Datagram.Type.LEAVE, cluster, ++fakeSequence, legit), null);
                        case 3 -> tagged(legit, Datagram.Type.LEAVE, ++fakeSequence, wrong);
                        case 4 -> captured.isEmpty() ? garbage(r) : captured.get(r.nextInt(captured.size()));
                        default -> garbage(r);
                    };
                    ch.send(ByteBuffer.wrap(d), to);
                }
                sent += n;
                double expected = base + sent;
                await("every datagram so far counted", WAIT, () -> badCounted(a) == expected,
                        () -> "counted " + (badCounted(a) - base) + " of " + (expected - base));
                assertTrue(serviceA.view().contains(legit.id()), "the legitimate member stays in the view");
            }
            long heapAfter = usedHeapAfterGc();
            System.out.printf("DatagramFuzzTest: %d datagrams (%d captured for replay), %.1f s, heap %d -> %d KiB%n",
                    sent, captured.size(), (System.nanoTime() - started) / 1e9, heapBefore >> 10, heapAfter >> 10);
            assertTrue(heapAfter - heapBefore < HEAP_MARGIN_BYTES, "heap grew from " + heapBefore + " to " + heapAfter);
        }
        assertTrue(a.events().stream().noneMatch(e -> e.member().id().equals(legit.id())
                && (e instanceof MembershipEvent.Left || e instanceof MembershipEvent.Suspected)),
                () -> "the legitimate member was never suspected nor removed: " + a.events());
        assertEquals(2, serviceA.view().size());
        assertTrue(a.counter("flotilla.membership.datagrams.refused", "reason", "bad_mac") > 0);
        assertTrue(a.counter("flotilla.membership.datagrams.refused", "reason", "unauthenticated") > 0);
    }

    /** Keeps genuine datagrams of {@code legit} heard on the group, for exact replays. */
    private static void sniff(DatagramChannel ch, Member legit, List<byte[]> captured) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(4096);
        Mac mac = SECRET.newMac(ClusterSecret.Purpose.MEMBERSHIP);
        for (int i = 0; i < 1000 && ch.receive(buf.clear()) != null; i++) {
            buf.flip();
            byte[] bytes = new byte[buf.remaining()];
            buf.duplicate().get(bytes);
            try {
                if (Datagram.decode(buf, mac).member().id().equals(legit.id()) && captured.size() < 256) {
                    captured.add(bytes);
                }
            } catch (WireException notGenuine) {
                continue; // our own fuzz looping back
            }
        }
    }

    private byte[] tagged(Member m, Datagram.Type type, long sequence, Mac mac) {
        return encode(new Datagram(type, cluster, sequence, m), mac);
    }

    private static byte[] encode(Datagram d, Mac mac) {
        ByteBuffer b = ByteBuffer.allocate(d.encodedLength(mac != null));
        d.encode(b, mac);
        return b.array();
    }

    private static byte[] garbage(Random r) {
        byte[] b = new byte[r.nextInt(10) == 0 ? 2049 + r.nextInt(4000) : r.nextInt(600)];
        r.nextBytes(b);
        if (b.length > 5 && r.nextBoolean()) {
            ByteBuffer.wrap(b).putInt(Datagram.MAGIC).put(Datagram.VERSION); // gets past the first checks
        }
        return b;
    }

    /** A copy that differs from {@code d}: flipped bits, cut, extended, or a changed type, version or auth byte. */
    private static byte[] mutateStrictly(byte[] d, Random r) {
        byte[] b = switch (r.nextInt(5)) {
            case 0 -> {
                byte[] c = d.clone();
                for (int i = 1 + r.nextInt(3); i > 0; i--) {
                    c[r.nextInt(c.length)] ^= (byte) (1 << r.nextInt(8));
                }
                yield c;
            }
            case 1 -> Arrays.copyOf(d, r.nextInt(d.length));
            case 2 -> {
                byte[] c = Arrays.copyOf(d, d.length + 1 + r.nextInt(40));
                c[d.length] = (byte) r.nextInt();
                yield c;
            }
            default -> {
                byte[] c = d.clone();
                int at = 4 + r.nextInt(3); // version, type or auth
                c[at] = (byte) (c[at] + 1 + r.nextInt(255));
                yield c;
            }
        };
        if (Arrays.equals(b, d)) {
            b[0] ^= 1;
        }
        return b;
    }

    private static long usedHeapAfterGc() {
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
