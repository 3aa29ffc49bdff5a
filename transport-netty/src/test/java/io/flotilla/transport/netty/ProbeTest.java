package io.flotilla.transport.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.Member;
import io.flotilla.spi.ProbeRefusedException;
import io.flotilla.testing.Await;
import io.flotilla.testing.FreePorts;
import io.flotilla.wire.FrameCodec;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.EventExecutor;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Liveness probes: a fresh connection, HELLO, PING, PONG, GOODBYE. */
class ProbeTest {
    private final List<AutoCloseable> closeables = new ArrayList<>();

    private <T extends AutoCloseable> T track(T c) {
        closeables.add(c);
        return c;
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
    }

    private static String failure(CompletableFuture<Member> f, long seconds) throws Exception {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(seconds, TimeUnit.SECONDS));
        return e.getCause().getMessage();
    }

    @Test
    @Timeout(30)
    void probeOfALiveTransportReturnsItsMemberAndLeavesNoConnectionBehind() throws Exception {
        TestNode a = track(TestNode.start("a"));
        TestNode b = track(TestNode.start("b"));
        Member answered = b.transport.probe(a.address, Duration.ofSeconds(5)).toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
        assertTrue(answered.sameDescription(a.member));
        Await.await("probe connection closed with a goodbye", Duration.ofSeconds(10),
                () -> a.transport.connectionCount() == 0);
        assertTrue(a.inbound.connected.isEmpty() && a.inbound.disconnects.isEmpty(),
                "a probe raises no connection events: its goodbye is not a leave");
        assertEquals(1, a.inbound.probedBy.size(), "the probed node is told who probed it (static membership "
                + "verifies a newcomer at once)");
        assertTrue(a.inbound.probedBy.peek().sameDescription(b.member));
        assertTrue(b.inbound.probedBy.isEmpty(), "only the probed side");
        assertEquals(0, a.inbound.readCompletes.get(),
                "nor read-complete events: the engine would send its acks down the probe connection");
        assertTrue(a.inbound.frames.isEmpty(), "the PING was answered inside the transport");
    }

    @ParameterizedTest(name = "native transport {0}")
    @ValueSource(booleans = {true, false})
    @Timeout(30)
    void probeOfAClosedPortFailsFastAsARefusal(boolean nativeTransport) throws Exception {
        TestNode a = track(TestNode.start("test", "a", TestNode.config().nativeTransport(nativeTransport).build(),
                new RecordingInbound()));
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        CompletableFuture<Member> f = a.transport.probe(new InetSocketAddress("127.0.0.1", port),
                Duration.ofSeconds(20)).toCompletableFuture();
        // Far below the 20 s timeout: a refused connect fails at once, as a refusal (membership takes it as
        // conclusive), whether epoll or the JDK's NIO reported it.
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(5, TimeUnit.SECONDS));
        assertInstanceOf(ProbeRefusedException.class, e.getCause(), String.valueOf(e.getCause()));
        assertTrue(e.getCause().getMessage().contains("connection refused"), e.getCause().getMessage());
    }

    /**
     * A probe of a dead member whose port lies in the ephemeral range may be given that very port as its own, and
     * connect to itself (TCP simultaneous open); it then read its own HELLO and failed as a protocol error, which
     * membership does not take as conclusive. Forced here by binding the probe's socket to the port it connects to.
     */
    @Test
    @Timeout(30)
    void aProbeThatConnectsToItselfIsARefusal() throws Exception {
        TestNode a = track(TestNode.start("test", "a", TestNode.config().build(), new RecordingInbound()));
        InetSocketAddress self = new InetSocketAddress("127.0.0.1", FreePorts.tcp());
        ProbeHandler probe = new ProbeHandler(a.transport.handshakeLocal(), self, Duration.ofSeconds(20), 1);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            Bootstrap b = new Bootstrap().group(group).channel(NioSocketChannel.class).localAddress(self)
                    .handler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(new FrameDecoder(FrameCodec.HANDSHAKE_MAX_FRAME_BYTES), probe);
                        }
                    });
            probe.arm(b.connect(self).channel());

            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> probe.result.get(10, TimeUnit.SECONDS));
            assertInstanceOf(ProbeRefusedException.class, e.getCause(), String.valueOf(e.getCause()));
            assertTrue(e.getCause().getMessage().contains("connected to itself"), e.getCause().getMessage());
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    @Timeout(30)
    void probeOfASocketThatNeverAnswersFailsWithinTheTimeoutAndIsNoRefusal() throws Exception {
        TestNode a = track(TestNode.start("a"));
        try (ServerSocket silent = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Member> f = a.transport.probe(
                    new InetSocketAddress("127.0.0.1", silent.getLocalPort()), Duration.ofMillis(300))
                    .toCompletableFuture();
            String message = failure(f, 10);
            assertTrue(message.contains("no answer") && message.contains("300 ms"), message);
            assertFalse(ProbeRefusedException.isRefusal(f.handle((m, t) -> t).get()),
                    "a member that does not answer may be busy or its packets lost: not conclusive");
        }
    }

    @Test
    void onlyARefusedConnectIsARefusal() {
        NettyTransport nio = (NettyTransport) NettyTransport.factory(TestNode.config().nativeTransport(false)
                .build()).create();
        try {
            assertTrue(nio.refused(new ConnectException("Connection refused")));
            assertFalse(nio.refused(new ConnectTimeoutException("connection timed out: /10.0.0.1:4000")),
                    "Netty's own connect timeout");
            assertFalse(nio.refused(new NoRouteToHostException("No route to host")));
            assertFalse(nio.refused(new IOException("Connection reset by peer")));
        } finally {
            nio.close();
        }
    }

    @Test
    @Timeout(30)
    void aProbeDoesNotWaitBehindBusyIoThreads() throws Exception {
        TestNode a = track(TestNode.start("a"));
        TestNode b = track(TestNode.start("b"));
        CountDownLatch release = new CountDownLatch(1);
        for (EventExecutor loop : b.transport.ioGroup()) { // every I/O thread of b busy, as under heavy traffic
            loop.execute(() -> {
                try {
                    release.await(20, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
        try {
            Member answered = b.transport.probe(a.address, Duration.ofSeconds(5)).toCompletableFuture()
                    .get(10, TimeUnit.SECONDS);
            assertTrue(answered.sameDescription(a.member), "verified on the probe thread, not behind the traffic");
        } finally {
            release.countDown();
        }
    }

    @Test
    @Timeout(30)
    void probeOfAnotherClusterFails() throws Exception {
        TestNode a = track(TestNode.start("a"));
        TestNode other = track(TestNode.start("elsewhere", "x", TestNode.config().build(), new RecordingInbound()));
        String message = failure(other.transport.probe(a.address, Duration.ofSeconds(5)).toCompletableFuture(), 10);
        assertTrue(message.contains("cluster name mismatch"), message);
        assertEquals(1.0, a.refused("cluster_mismatch"));
    }

    @Test
    @Timeout(30)
    void probeOfSomethingThatSpeaksAnotherProtocolFails() throws Exception {
        TestNode a = track(TestNode.start("a"));
        ExecutorService server = Executors.newSingleThreadExecutor();
        try (ServerSocket http = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            server.submit(() -> {
                try (Socket s = http.accept()) {
                    OutputStream out = s.getOutputStream();
                    out.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".getBytes());
                    out.flush();
                    s.getInputStream().read();
                }
                return null;
            });
            String message = failure(a.transport.probe(new InetSocketAddress("127.0.0.1", http.getLocalPort()),
                    Duration.ofSeconds(5)).toCompletableFuture(), 10);
            assertTrue(message.contains("bad bytes") && message.contains("magic"), message);
        } finally {
            server.shutdownNow();
        }
    }

    @Test
    void probeBeforeStartFails() throws IOException {
        NettyTransport t = (NettyTransport) NettyTransport.factory(TestNode.config().build()).create();
        try {
            CompletableFuture<Member> f = t.probe(new InetSocketAddress("127.0.0.1", 1), Duration.ofSeconds(1))
                    .toCompletableFuture();
            assertTrue(f.isCompletedExceptionally());
        } finally {
            t.close();
        }
    }
}
