package io.flotilla.transport.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.ConfigurationException;
import io.flotilla.FlotillaException;
import io.flotilla.testing.Await;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class NettyTransportConfigTest {
    @Test
    void defaultsAreTomcatsWhereTomcatHasThem() {
        NettyTransportConfig c = NettyTransportConfig.defaults();
        assertEquals("auto", c.address());
        assertEquals(4000, c.port());
        assertEquals(100, c.autoBind());
        assertEquals(2, c.poolSize());
        assertEquals(Duration.ofSeconds(1), c.connectTimeout());
        assertEquals(Duration.ofSeconds(5), c.handshakeTimeout());
        assertEquals(Runtime.getRuntime().availableProcessors(), c.ioThreads());
        assertEquals(64, c.maxConnectionsPerAddress());
        assertFalse(c.nativeTransport());
        assertEquals(Duration.ofMillis(5000), c.selectorTimeout());
        assertEquals(0, c.lanes(), "lanes are opt-in");
        assertEquals(Duration.ofNanos(50_000), c.ioSpin());
    }

    private static void refused(String attribute, UnaryOperator<NettyTransportConfig.Builder> change) {
        ConfigurationException e = assertThrows(ConfigurationException.class,
                () -> change.apply(NettyTransportConfig.builder()).build());
        assertTrue(e.getMessage().startsWith(attribute + "="), e.getMessage());
    }

    @Test
    void refusesOutOfRangeValuesNamingTheAttribute() {
        refused("address", b -> b.address(" "));
        refused("port", b -> b.port(-1));
        refused("port", b -> b.port(65536));
        refused("autoBind", b -> b.autoBind(-1));
        refused("autoBind", b -> b.port(65500).autoBind(100));
        refused("poolSize", b -> b.poolSize(0));
        refused("connectTimeout", b -> b.connectTimeout(Duration.ZERO));
        refused("connectTimeout", b -> b.connectTimeout(null));
        refused("handshakeTimeout", b -> b.handshakeTimeout(Duration.ofMillis(-1)));
        refused("ioThreads", b -> b.ioThreads(0));
        refused("maxConnectionsPerAddress", b -> b.maxConnectionsPerAddress(0));
        refused("selectorTimeout", b -> b.selectorTimeout(Duration.ofMillis(-1)));
        refused("sendQueueFrames", b -> b.sendQueueFrames(1));
        refused("writeBufferLowWaterMark", b -> b.writeBufferLowWaterMark(0));
        refused("writeBufferHighWaterMark", b -> b.writeBufferLowWaterMark(100).writeBufferHighWaterMark(99));
        refused("ioSpin", b -> b.ioSpin(Duration.ofNanos(-1)));
        refused("ioSpin", b -> b.ioSpin(Duration.ofNanos(1_000_001)));
        refused("ioSpin", b -> b.ioSpin(null));
        assertEquals(Duration.ZERO, NettyTransportConfig.builder().ioSpin(Duration.ZERO).build().ioSpin());
        refused("lanes", b -> b.lanes(-1));
        refused("lanes", b -> b.lanes(65));
        refused("lanes", b -> b.lanes(8).poolSize(2).maxConnectionsPerAddress(10));
        assertEquals(7, NettyTransportConfig.builder().lanes(7).poolSize(2).maxConnectionsPerAddress(10).build()
                .lanes(), "7 lanes + 2 pooled + a probe fit in 10");
    }

    @Test
    void autoIsANonLoopbackIpv4AddressOrLoopback() {
        InetAddress a = ReceiverSocket.resolveBindAddress("auto");
        assertTrue(a instanceof Inet4Address, a.toString());
    }

    @Test
    @Timeout(30)
    void autoBindTriesTheNextPortsAndNamesTheRangeWhenAllAreTaken() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            NettyTransport none = (NettyTransport) NettyTransport.factory(
                    TestNode.config().port(port).autoBind(0).build()).create();
            try {
                FlotillaException e = assertThrows(FlotillaException.class, none::bind);
                assertTrue(e.getMessage().contains("127.0.0.1") && e.getMessage().contains(port + "-" + port),
                        e.getMessage());
            } finally {
                none.close();
            }
            if (port < 65535) {
                NettyTransport next = (NettyTransport) NettyTransport.factory(
                        TestNode.config().port(port).autoBind(20).build()).create();
                try {
                    InetSocketAddress bound = next.bind();
                    assertTrue(bound.getPort() > port && bound.getPort() <= port + 20, bound.toString());
                } finally {
                    next.close();
                }
            }
        }
    }

    @Test
    @Timeout(30)
    void nioWorksWhenNativeTransportIsOff() {
        RecordingInbound inbound = new RecordingInbound();
        try (TestNode a = TestNode.start("test", "a", TestNode.config().nativeTransport(false).build(), inbound);
                TestNode b = TestNode.start("test", "b", TestNode.config().nativeTransport(false).build(),
                        new RecordingInbound())) {
            b.transport.send(a.member, TestNode.data(1, new byte[5000]));
            a.transport.send(b.member, TestNode.data(2, new byte[10]));
            Await.await("both ways over NIO", Duration.ofSeconds(10),
                    () -> a.inbound.frames.size() == 1 && b.inbound.frames.size() == 1);
        }
    }
}
