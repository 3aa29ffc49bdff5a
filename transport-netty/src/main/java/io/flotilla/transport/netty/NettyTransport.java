package io.flotilla.transport.netty;

import io.flotilla.FlotillaException;
import io.flotilla.internal.RateLimitedLog;
import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.spi.PeerLane;
import io.flotilla.spi.TransportContext;
import io.flotilla.spi.Transport;
import io.flotilla.spi.TransportFactory;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameCodec;
import io.flotilla.wire.Handshaker;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.unix.Errors;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The {@link Transport} on Netty: a receiver (the seed's {@code NioReceiver}) and a pooled, batching sender (the
 * seed's {@code PooledParallelSender}). It frames, handshakes, pools connections, answers pings and reports what
 * breaks; ordering, acknowledgement and retries are the engine's, above it. Epoll is used where available, NIO
 * otherwise. No Netty type crosses its API.
 *
 * <p>{@link #bind()} binds the listening socket without accepting (connections wait in the kernel's backlog);
 * {@link #start(TransportContext)} creates the event loops, with threads from the context's factory
 * ({@code flotilla-<cluster>-transport-io-<n>}, and {@code transport-probe} for liveness probes only, so a
 * verification never waits behind traffic), and starts accepting.
 *
 * <p>Threading: every method is safe from any thread. {@link #send}, {@link #probe} and {@link #disconnect} never
 * block; {@link #bind()} and {@link #start} wait for the socket and event loops, {@link #close()} waits a bounded
 * time. Inbound callbacks run on the I/O threads and the completion of {@link #probe} stages on the probe thread:
 * chain further work with the {@code *Async} methods of {@link CompletionStage}.
 *
 * <p>Loading this class sets the system property {@code io.netty.jfr.enabled} to {@code false} unless it is set
 * already: Netty's allocator JFR events cost every node about 120 ms of its start (see {@link #NETTY_JFR}). It
 * matters only to Netty initialized after it; run with {@code -Dio.netty.jfr.enabled=true} to keep them. The
 * drop-in Tomcat jar relocates Netty, and the property with it ({@code io.flotilla.shaded.io.netty.jfr.enabled}).
 */
public final class NettyTransport implements Transport {
    private static final Logger LOG = System.getLogger(NettyTransport.class.getName());
    /** Netty's switch for the JFR events of its buffer allocators (relocated with Netty in the drop-in jar). */
    static final String NETTY_JFR = "io.netty.jfr.enabled";

    static {
        // Netty's allocators record JFR events, which only a recording configured for them would keep. Their first
        // pooled buffer, on a node's first handshake, loads and instruments JFR's event classes on the I/O thread
        // that answers the first probe: about 120 ms of every node's start (static membership found its first
        // member after 160-200 ms with them, 35-60 ms without). Off unless the JVM was told otherwise; read once,
        // when Netty's PlatformDependent initializes, which Epoll.isAvailable in the constructor is the first to do.
        if (System.getProperty(NETTY_JFR) == null) {
            System.setProperty(NETTY_JFR, "false");
        }
    }

    private static final long REFUSAL_LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(2);

    /** The connections of one member, one slot per pool position. Slots are replaced with compare-and-set. */
    static final class MemberPool {
        final Member member;
        final AtomicReferenceArray<Connection> slots;

        MemberPool(Member member, int size) {
            this.member = member;
            this.slots = new AtomicReferenceArray<>(size);
        }
    }

    /**
     * The lanes of one member ({@link NettyTransportConfig#lanes()}): the idle ones, most recently used last, and
     * every open one. Guarded by its monitor.
     */
    static final class LanePool {
        private final ArrayDeque<BlockingLane> idle = new ArrayDeque<>();
        private final Set<BlockingLane> open = new HashSet<>();
        /** Lanes being opened, counted against the limit. */
        private int opening;
        /** After a lane failed to open: none is tried again before this ({@link System#nanoTime()}). */
        private long retryAt;
        private boolean closed;

        synchronized void release(BlockingLane lane) {
            if (closed || !lane.isOpen()) {
                lane.close();
                return;
            }
            lane.idleSince = System.nanoTime();
            idle.addLast(lane);
        }

        synchronized void closed(BlockingLane lane) {
            open.remove(lane);
            idle.remove(lane);
        }

        /** Closes the lanes idle since before {@code before}. */
        void closeIdle(long before) {
            List<BlockingLane> stale = new ArrayList<>();
            synchronized (this) {
                for (BlockingLane l : idle) {
                    if (l.idleSince - before < 0) {
                        stale.add(l);
                    }
                }
                idle.removeAll(stale);
            }
            stale.forEach(BlockingLane::close);
        }

        /** Closes every lane, in use or not; none opens after. */
        void closeAll() {
            List<BlockingLane> all;
            synchronized (this) {
                closed = true;
                all = new ArrayList<>(open);
            }
            all.forEach(BlockingLane::close);
        }
    }

    /** After a lane could not be opened, how long a member gets no new one. */
    private static final long LANE_RETRY_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final NettyTransportConfig config;
    private final boolean epoll;
    private final ConcurrentMap<MemberId, LanePool> lanes = new ConcurrentHashMap<>();
    private final Object lifecycle = new Object();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final ConcurrentMap<MemberId, MemberPool> pools = new ConcurrentHashMap<>();
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    private final ConcurrentMap<InetAddress, Integer> perAddress = new ConcurrentHashMap<>();
    /** Handshake nonces. */
    private final SecureRandom random = new SecureRandom();

    /** Guarded by 'lifecycle'. */
    private ReceiverSocket receiver;
    // Written once under 'lifecycle', read after start from any thread.
    private volatile TransportContext context;
    private volatile TransportMeters meters;
    private volatile RateLimitedLog refusalLog;
    private volatile Handshaker.Local handshakeLocal;
    private volatile EventLoopGroup group;
    /** One thread for probes only, so a verification never waits behind traffic on the I/O threads. */
    private volatile EventLoopGroup probeGroup;
    private volatile Channel serverChannel;
    private volatile Bootstrap clientBootstrap;
    private volatile boolean closing;

    private NettyTransport(NettyTransportConfig config) {
        this.config = Objects.requireNonNull(config, "config");
        this.epoll = config.nativeTransport() && Epoll.isAvailable();
    }

    /** A factory of transports with {@code config}; each {@link TransportFactory#create()} makes a new one. */
    public static TransportFactory factory(NettyTransportConfig config) {
        Objects.requireNonNull(config, "config");
        return () -> new NettyTransport(config);
    }

    // ---- Lifecycle

    @Override
    public InetSocketAddress bind() {
        synchronized (lifecycle) {
            if (closed.get()) {
                throw new FlotillaException("transport is closed");
            }
            if (receiver == null) {
                receiver = ReceiverSocket.bind(config, epoll);
            }
            return receiver.address();
        }
    }

    @Override
    public void start(TransportContext ctx) {
        Objects.requireNonNull(ctx, "context");
        synchronized (lifecycle) {
            if (closed.get()) {
                throw new FlotillaException("transport is closed");
            }
            if (context != null) {
                throw new IllegalStateException("transport already started");
            }
            if (receiver == null) {
                bind();
            }
            meters = new TransportMeters(ctx.meters());
            refusalLog = new RateLimitedLog(LOG, ctx.clock(), REFUSAL_LOG_INTERVAL_NANOS);
            handshakeLocal = new Handshaker.Local(ctx.clusterName(), ctx.localMember(), ctx.secret().orElse(null),
                    random);
            context = ctx;
            IoHandlerFactory io = SpinningSelectStrategy.ioHandlers(epoll, config.ioSpin().toNanos());
            EventLoopGroup g = new MultiThreadIoEventLoopGroup(config.ioThreads(), ctx.threadFactory("transport-io"),
                    io);
            group = g;
            probeGroup = new MultiThreadIoEventLoopGroup(1, ctx.threadFactory("transport-probe"), io);
            WriteBufferWaterMark marks = new WriteBufferWaterMark(config.writeBufferLowWaterMark(),
                    config.writeBufferHighWaterMark());
            clientBootstrap = new Bootstrap().group(g)
                    .channelFactory(epoll ? EpollSocketChannel::new : DirectNioSocketChannel::new)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.SO_KEEPALIVE, true)
                    .option(ChannelOption.WRITE_BUFFER_WATER_MARK, marks)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
                            (int) Math.min(Integer.MAX_VALUE, config.connectTimeout().toMillis()));
            ServerChannel server = receiver.takeChannel();
            ChannelFuture registered = new ServerBootstrap().group(g)
                    .channelFactory(() -> server)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.SO_KEEPALIVE, true)
                    .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, marks)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            FrameDecoder decoder = new FrameDecoder(FrameCodec.HANDSHAKE_MAX_FRAME_BYTES);
                            Connection c = new Connection(NettyTransport.this, ch, decoder);
                            connections.add(c);
                            addTls(ch, true);
                            ch.pipeline().addLast(decoder, new HandshakeHandler(NettyTransport.this, c), c);
                        }
                    })
                    .register();
            serverChannel = registered.channel();
            awaitBounded(registered, "registering the receiver on its event loop");
            if (!registered.isSuccess()) {
                throw new FlotillaException("cannot start the receiver on " + receiver.address() + ": "
                        + registered.cause(), registered.cause());
            }
            if (config.lanes() > 0) {
                long period = Math.max(1, config.idleTimeout().toNanos() / 6);
                g.next().scheduleAtFixedRate(this::closeIdleLanes, period, period, TimeUnit.NANOSECONDS);
            }
            LOG.log(Level.INFO, "transport started: receiver {0}, {1} I/O threads, pool of {2} per member, {3}",
                    receiver.address(), config.ioThreads(), config.poolSize(),
                    config.tls() == null ? "plain TCP" : config.tls().toString());
        }
    }

    private static void awaitBounded(Future<?> f, String what) {
        try {
            if (!f.await(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new FlotillaException("timed out " + what);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FlotillaException("interrupted while " + what, e);
        }
    }

    // ---- Sending

    @Override
    public void send(Member member, Frame frame) {
        Objects.requireNonNull(member, "member");
        Objects.requireNonNull(frame, "frame");
        TransportContext ctx = context;
        if (ctx == null) {
            throw new IllegalStateException("transport not started");
        }
        if (closing) {
            ctx.inbound().onSendFailed(member, new FlotillaException("transport is closed"));
            return;
        }
        MemberPool pool = pools.computeIfAbsent(member.id(), id -> new MemberPool(member, config.poolSize()));
        int slot = (int) Math.floorMod(Thread.currentThread().getId(), (long) config.poolSize());
        connection(pool, slot).send(frame);
    }

    /**
     * {@inheritDoc}
     *
     * <p>Only to a member one of whose pooled connections is open (a sending thread never waits for a connect to a
     * member that may be gone), without TLS, and at most {@link NettyTransportConfig#lanes()} per member. The calling
     * thread opens a new lane itself: it connects and handshakes, within connectTimeout and handshakeTimeout; when
     * that fails the member gets no new lane for 5 s.
     */
    @Override
    public PeerLane lane(Member member) {
        if (config.lanes() == 0 || config.tls() != null || closing || context == null) {
            return null;
        }
        MemberPool mp = pools.get(member.id());
        if (mp == null || !anyOpen(mp)) {
            return null;
        }
        BlockingLane l = acquire(member, lanes.computeIfAbsent(member.id(), id -> new LanePool()));
        if (l != null) {
            endLingers(mp);
        }
        return l;
    }

    /** An idle lane of {@code lp}, or a new one while fewer than {@code lanes} are open; null otherwise. */
    private BlockingLane acquire(Member member, LanePool lp) {
        long now = System.nanoTime();
        synchronized (lp) {
            BlockingLane l;
            while ((l = lp.idle.pollLast()) != null) {
                if (l.isOpen()) {
                    return l;
                }
            }
            if (lp.closed || lp.open.size() + lp.opening >= config.lanes() || now - lp.retryAt < 0) {
                return null;
            }
            lp.opening++;
        }
        BlockingLane opened = null;
        try {
            opened = BlockingLane.open(this, lp, member);
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, () -> "no lane to " + member.describe() + ": " + e.getMessage());
        }
        synchronized (lp) {
            lp.opening--;
            if (opened == null) {
                lp.retryAt = now + LANE_RETRY_NANOS;
                return null;
            }
            if (!lp.closed && !closing) {
                lp.open.add(opened);
                return opened;
            }
        }
        opened.close();
        return null;
    }

    private static boolean anyOpen(MemberPool pool) {
        for (int i = 0; i < pool.slots.length(); i++) {
            Connection c = pool.slots.get(i);
            if (c != null && c.isOpen()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Makes the member's connections write what they hold back for a linger: the message about to go on a lane would
     * otherwise wait at the receiver for the ones before it.
     */
    private static void endLingers(MemberPool pool) {
        for (int i = 0; i < pool.slots.length(); i++) {
            Connection c = pool.slots.get(i);
            if (c != null) {
                c.endLinger();
            }
        }
    }

    /** Closes the lanes that nobody used for a third of idleTimeout: the peer would close them as idle. */
    private void closeIdleLanes() {
        long before = System.nanoTime() - config.idleTimeout().toNanos() / 3;
        lanes.values().forEach(lp -> lp.closeIdle(before));
    }

    /** The live connection of {@code slot}, connecting a new one when there is none. */
    private Connection connection(MemberPool pool, int slot) {
        while (true) {
            Connection c = pool.slots.get(slot);
            if (c != null && !c.isDead()) {
                return c;
            }
            EventLoop loop = group.next();
            Connection fresh = new Connection(this, loop, new FrameDecoder(FrameCodec.HANDSHAKE_MAX_FRAME_BYTES),
                    pool.member, pool, slot);
            if (pool.slots.compareAndSet(slot, c, fresh)) {
                connections.add(fresh);
                Bootstrap b = clientBootstrap.clone(loop).handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        addTls(ch, false);
                        ch.pipeline().addLast(fresh.decoderHandler(), new HandshakeHandler(NettyTransport.this, fresh),
                                fresh);
                    }
                });
                fresh.connect(b.connect(socketAddress(pool.member)));
                if (closing) {
                    fresh.closeGracefully(true);
                }
                return fresh;
            }
        }
    }

    /** With TLS configured, puts its handler first in the pipeline; its handshake counts against handshakeTimeout. */
    private void addTls(Channel ch, boolean server) {
        TransportTls tls = config.tls();
        if (tls == null) {
            return;
        }
        SslHandler h = (server ? tls.server() : tls.client()).newHandler(ch.alloc());
        h.setHandshakeTimeoutMillis(config.handshakeTimeout().toMillis());
        ch.pipeline().addLast("tls", h);
    }

    @Override
    public boolean authenticatesPeers() {
        return config.tls() != null;
    }

    private static InetSocketAddress socketAddress(Member m) {
        return socketAddress(m.host(), m.port());
    }

    /** {@code host} as an address when it is an IP literal, else unresolved (Netty resolves it at connect). */
    private static InetSocketAddress socketAddress(String host, int port) {
        InetAddress literal = NetUtil.createInetAddressFromIpAddressString(host);
        return literal != null ? new InetSocketAddress(literal, port) : InetSocketAddress.createUnresolved(host, port);
    }

    @Override
    public CompletionStage<Member> probe(InetSocketAddress address, Duration timeout) {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(timeout, "timeout");
        TransportContext ctx = context;
        if (ctx == null || closing) {
            return CompletableFuture.failedFuture(new FlotillaException("probe of " + address
                    + " failed: transport " + (ctx == null ? "not started" : "closed")));
        }
        if (timeout.isNegative() || timeout.isZero()) {
            return CompletableFuture.failedFuture(new FlotillaException("probe of " + address
                    + " failed: timeout must be positive, was " + timeout));
        }
        ProbeHandler probe = new ProbeHandler(handshakeLocal, address, timeout, ThreadLocalRandom.current().nextLong());
        EventLoop loop = probeGroup.next();
        long connectMillis = Math.max(1, Math.min(config.connectTimeout().toMillis(), timeout.toMillis()));
        Bootstrap b = clientBootstrap.clone(loop)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, connectMillis))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        addTls(ch, false);
                        ch.pipeline().addLast(new FrameDecoder(FrameCodec.HANDSHAKE_MAX_FRAME_BYTES), probe);
                    }
                });
        // An address literal (a member's host) is connected to as it is, without Netty's resolver on the event loop.
        ChannelFuture connect = b.connect(address.isUnresolved() ? socketAddress(address.getHostString(),
                address.getPort()) : address);
        probe.arm(connect.channel());
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                if (refused(f.cause())) {
                    probe.refused(f.cause());
                } else {
                    probe.fail("cannot connect: " + f.cause().getMessage(), f.cause());
                }
            }
        });
        return probe.result;
    }

    /**
     * True when a connect failed because the address refused it (a reset: nothing listens there), as opposed to a
     * timeout or an unreachable host. With NIO the JDK raises a {@link ConnectException} for a refusal (and for the
     * kernel's own connect timeout, which comes minutes after any probe's); Netty's connect timeout is a subclass,
     * and an unreachable host a {@code NoRouteToHostException}. With epoll Netty raises it for every errno, naming
     * the errno in its message, and only -ECONNREFUSED is a refusal.
     */
    boolean refused(Throwable cause) {
        if (!(cause instanceof ConnectException) || cause instanceof ConnectTimeoutException) {
            return false;
        }
        return !epoll || String.valueOf(cause.getMessage())
                .contains("failed with error(" + Errors.ERROR_ECONNREFUSED_NEGATIVE + ")");
    }

    /**
     * {@inheritDoc}
     *
     * <p>The engine is told {@code onDisconnected(connection, CLOSED)} for each of them: the close was this node's
     * decision, not a crash. Connections the member opened towards this node stay up until it closes them.
     */
    @Override
    public void disconnect(Member member) {
        LanePool lp = lanes.remove(member.id());
        if (lp != null) {
            lp.closeAll();
        }
        MemberPool pool = pools.remove(member.id());
        if (pool == null) {
            return;
        }
        for (int i = 0; i < pool.slots.length(); i++) {
            Connection c = pool.slots.getAndSet(i, null);
            if (c != null) {
                c.closeGracefully(false);
            }
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>Stops accepting, sends GOODBYE on every connection after what is queued on it, waits up to 2 s for the
     * connections to close and up to 3 s for the event loops to stop, and logs what did not. The engine is not
     * called back about connections closed here: the node is going away.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        synchronized (lifecycle) {
            closing = true;
            List<String> problems = new ArrayList<>();
            if (receiver != null) {
                receiver.close(problems);
            }
            EventLoopGroup g = group;
            if (g == null) {
                report(problems);
                return;
            }
            // Reverse order of start: stop accepting, say goodbye on every connection, stop the event loops.
            Channel server = serverChannel;
            if (server != null) {
                server.close().awaitUninterruptibly(CLOSE_WAIT.toMillis());
            }
            lanes.values().forEach(LanePool::closeAll); // threads reading one fail, and their sends go the pooled way
            lanes.clear();
            List<ChannelFuture> closing = new ArrayList<>();
            for (Connection c : connections) {
                ChannelFuture f = c.closeGracefully(true);
                if (f != null) {
                    closing.add(f);
                }
            }
            long deadline = System.nanoTime() + CLOSE_WAIT.toNanos();
            int open = 0;
            for (ChannelFuture f : closing) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !f.awaitUninterruptibly(TimeUnit.NANOSECONDS.toMillis(left) + 1)) {
                    open++;
                }
            }
            if (open > 0) {
                problems.add(open + " connections did not close within " + CLOSE_WAIT.toMillis() + " ms");
            }
            EventLoopGroup probes = probeGroup; // probes in flight fail: this node is going away
            Future<?> probesDown = probes.shutdownGracefully(0, CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            Future<?> shutdown = g.shutdownGracefully(10, CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            if (!shutdown.awaitUninterruptibly(CLOSE_WAIT.toMillis() + 1000)
                    || !probesDown.awaitUninterruptibly(CLOSE_WAIT.toMillis() + 1000)) {
                problems.add("event loops did not stop within " + (CLOSE_WAIT.toMillis() + 1000) + " ms");
            }
            pools.clear();
            report(problems);
        }
    }

    private void report(List<String> problems) {
        InetSocketAddress a = boundAddress();
        if (problems.isEmpty()) {
            LOG.log(Level.INFO, "transport on {0} closed", a);
        } else {
            LOG.log(Level.WARNING, "transport on {0} closed, but: {1}", a, String.join("; ", problems));
        }
    }

    // ---- For connections

    NettyTransportConfig config() {
        return config;
    }

    /** The I/O event loops (null before start); for tests. */
    EventLoopGroup ioGroup() {
        return group;
    }

    TransportContext context() {
        return context;
    }

    TransportMeters meters() {
        return meters;
    }

    RateLimitedLog refusalLog() {
        return refusalLog;
    }

    Logger logger() {
        return LOG;
    }

    boolean isClosing() {
        return closing;
    }

    /** This node's side of every handshake; set at start. */
    Handshaker.Local handshakeLocal() {
        return handshakeLocal;
    }

    /** Counts one more inbound connection from {@code a}; returns how many are open now. */
    int acquireAddress(InetAddress a) {
        return perAddress.merge(a, 1, Integer::sum);
    }

    void releaseAddress(InetAddress a) {
        perAddress.computeIfPresent(a, (k, n) -> n <= 1 ? null : n - 1);
    }

    /** A connection closed or failed: forget it, and free its pool slot for a new one. */
    void removed(Connection c) {
        connections.remove(c);
        MemberPool pool = c.pool();
        if (pool != null) {
            pool.slots.compareAndSet(c.slot(), c, null);
        }
    }

    /** The receiver's bound address, for tests; null before {@link #bind()}. */
    InetSocketAddress boundAddress() {
        synchronized (lifecycle) {
            return receiver == null ? null : receiver.address();
        }
    }

    /** Connections currently tracked (inbound and outbound), for tests. */
    int connectionCount() {
        return connections.size();
    }
}
