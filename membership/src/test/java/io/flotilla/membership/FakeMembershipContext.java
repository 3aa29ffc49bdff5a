package io.flotilla.membership;

import io.flotilla.ClusterSecret;
import io.flotilla.FlotillaException;
import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.MembershipEvent;
import io.flotilla.spi.Clock;
import io.flotilla.spi.MembershipContext;
import io.flotilla.spi.ProbeRefusedException;
import io.flotilla.spi.Scheduler;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A {@link MembershipContext} for tests: probes answer from a {@link FakeNetwork}, published events are recorded
 * (with the threads that published them), and publishing can be made to throw, like a listener that breaks.
 */
final class FakeMembershipContext implements MembershipContext {
    private final Member local;
    private final String cluster;
    private final Clock clock;
    private final Scheduler scheduler;
    private final FakeNetwork network;
    private final MeterRegistry meters = new SimpleMeterRegistry();
    private final List<MembershipEvent> events = new ArrayList<>();
    private final Set<String> publishThreads = ConcurrentHashMap.newKeySet();
    private final AtomicInteger threads = new AtomicInteger();
    private volatile boolean throwOnPublish;
    private volatile ClusterSecret secret;

    /** Gives the service {@code s} as the cluster secret (before it starts). */
    FakeMembershipContext withSecret(ClusterSecret s) {
        secret = s;
        return this;
    }

    @Override
    public Optional<ClusterSecret> secret() {
        return Optional.ofNullable(secret);
    }

    FakeMembershipContext(Member local, String cluster, Clock clock, Scheduler scheduler, FakeNetwork network) {
        this.local = local;
        this.cluster = cluster;
        this.clock = clock;
        this.scheduler = scheduler;
        this.network = network;
    }

    static Member member(String name, int port, String domain) {
        return new Member(MemberId.random(), name, "127.0.0.1", port, domain, new byte[] {1, 2, 3},
                System.currentTimeMillis());
    }

    @Override
    public Member localMember() {
        return local;
    }

    @Override
    public String clusterName() {
        return cluster;
    }

    @Override
    public Clock clock() {
        return clock;
    }

    @Override
    public Scheduler scheduler() {
        return scheduler;
    }

    @Override
    public MeterRegistry meters() {
        return meters;
    }

    @Override
    public ThreadFactory threadFactory(String role) {
        return r -> {
            Thread t = new Thread(r, "flotilla-" + cluster + "-" + local.name() + "-" + role + "-"
                    + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** The timeout of every probe asked for, in order. */
    final List<Duration> probeTimeouts = new CopyOnWriteArrayList<>();
    private volatile Consumer<InetSocketAddress> onProbe = address -> { };

    /** Runs {@code hook} at each probe, before it is answered. */
    void onProbe(Consumer<InetSocketAddress> hook) {
        onProbe = hook;
    }

    @Override
    public CompletionStage<Member> probe(InetSocketAddress address, Duration timeout) {
        probeTimeouts.add(timeout);
        onProbe.accept(address);
        return network.probe(address);
    }

    @Override
    public void publish(List<MembershipEvent> published) {
        synchronized (events) {
            events.addAll(published);
        }
        publishThreads.add(Thread.currentThread().getName());
        if (throwOnPublish) {
            throw new IllegalStateException("a listener that throws");
        }
    }

    void throwOnPublish(boolean value) {
        throwOnPublish = value;
    }

    List<MembershipEvent> events() {
        synchronized (events) {
            return List.copyOf(events);
        }
    }

    Set<String> publishThreads() {
        return Set.copyOf(publishThreads);
    }

    /** Whether the counter is registered (at whatever count). */
    boolean hasCounter(String name, String... tags) {
        return meters.find(name).tags(tags).counter() != null;
    }

    double counter(String name, String... tags) {
        var c = meters.find(name).tags(tags).counter();
        return c == null ? 0 : c.count();
    }

    double gauge(String name) {
        var g = meters.find(name).gauge();
        return g == null ? Double.NaN : g.value();
    }

    /** The events of one kind about one member. */
    <E extends MembershipEvent> List<E> eventsOf(Class<E> type, MemberId about) {
        List<E> out = new ArrayList<>();
        for (MembershipEvent e : events()) {
            if (type.isInstance(e) && e.member().id().equals(about)) {
                out.add(type.cast(e));
            }
        }
        return out;
    }

    /** A test-controlled TCP: which receivers answer a probe, which refuse, which never answer. */
    static final class FakeNetwork {
        /**
         * ALIVE answers; DEAD refuses the connection, as a transport reports a crashed process
         * ({@link ProbeRefusedException}); FAIL fails otherwise (a reset after the connection was accepted, an
         * unreachable host), which proves nothing on its own; HANG never answers.
         */
        enum Mode { ALIVE, DEAD, FAIL, HANG }

        private record Entry(Member member, Mode mode) { }

        private final ConcurrentHashMap<String, Entry> receivers = new ConcurrentHashMap<>();
        private final AtomicInteger probes = new AtomicInteger();
        private final ConcurrentHashMap<String, AtomicInteger> hangs = new ConcurrentHashMap<>();

        void put(Member member, Mode mode) {
            receivers.put(key(member.host(), member.port()), new Entry(member, mode));
        }

        void set(Member member, Mode mode) {
            put(member, mode);
        }

        /** The next {@code n} probes of {@code member}'s address never answer (lost SYNs), whatever its mode. */
        void hangNext(Member member, int n) {
            hangs.put(key(member.host(), member.port()), new AtomicInteger(n));
        }

        int probes() {
            return probes.get();
        }

        CompletionStage<Member> probe(InetSocketAddress address) {
            probes.incrementAndGet();
            AtomicInteger hang = hangs.get(key(address.getHostString(), address.getPort()));
            if (hang != null && hang.getAndDecrement() > 0) {
                return new CompletableFuture<>();
            }
            Entry e = receivers.get(key(address.getHostString(), address.getPort()));
            if (e == null || e.mode() == Mode.DEAD) {
                return CompletableFuture.failedFuture(new ProbeRefusedException("probe of " + address
                        + " failed: connection refused", new ConnectException("Connection refused")));
            }
            if (e.mode() == Mode.FAIL) {
                return CompletableFuture.failedFuture(new FlotillaException("probe of " + address
                        + " failed: connection closed by " + address + " while waiting for HELLO_ACK"));
            }
            if (e.mode() == Mode.HANG) {
                return new CompletableFuture<>();
            }
            return CompletableFuture.completedFuture(e.member());
        }

        private static String key(String host, int port) {
            return host + ":" + port;
        }
    }
}
