package io.flotilla.transport.netty;

import io.flotilla.ClusterSecret;
import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameType;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;

/** One transport on 127.0.0.1 with a recording inbound handler and its own meter registry. */
final class TestNode implements AutoCloseable {
    static final int MAX_FRAME_BYTES = 1 << 20;

    final NettyTransport transport;
    final RecordingInbound inbound;
    final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    final Member member;
    final InetSocketAddress address;

    private TestNode(String cluster, String name, NettyTransportConfig config, RecordingInbound inbound,
            ClusterSecret secret) {
        this.transport = (NettyTransport) NettyTransport.factory(config).create();
        this.inbound = inbound;
        this.address = transport.bind();
        this.member = new Member(MemberId.random(), name, "127.0.0.1", address.getPort(), "", new byte[0],
                System.currentTimeMillis());
        transport.start(new TestTransportContext(cluster, member, inbound, meters, MAX_FRAME_BYTES, secret));
    }

    /**
     * The configuration tests start from: loopback, ephemeral port, one I/O thread. Handshake and connect timeouts
     * are generous so a loaded 2-core CI machine cannot fail a legitimate handshake (which would drop every frame
     * queued on that connection: the transport does not retry); tests of the timeouts set short ones themselves.
     */
    static NettyTransportConfig.Builder config() {
        return NettyTransportConfig.builder().address("127.0.0.1").port(0).ioThreads(1)
                .handshakeTimeout(Duration.ofSeconds(10)).connectTimeout(Duration.ofSeconds(5));
    }

    static TestNode start(String name) {
        return start("test", name, config().build(), new RecordingInbound());
    }

    static TestNode start(String cluster, String name, NettyTransportConfig config, RecordingInbound inbound) {
        return new TestNode(cluster, name, config, inbound, null);
    }

    /** A node whose handshakes prove {@code secret} (null: none). */
    static TestNode start(String cluster, String name, NettyTransportConfig config, RecordingInbound inbound,
            ClusterSecret secret) {
        return new TestNode(cluster, name, config, inbound, secret);
    }

    /** Every refusal, whatever its reason. */
    double refusedTotal() {
        return meters.find(TransportMeters.REFUSED).counters().stream().mapToDouble(Counter::count).sum();
    }

    double refused(String reason) {
        Counter c = meters.find(TransportMeters.REFUSED).tag("reason", reason).counter();
        return c == null ? 0 : c.count();
    }

    double counter(String name) {
        Counter c = meters.find(name).counter();
        return c == null ? 0 : c.count();
    }

    static Frame data(long id, byte[] payload) {
        return new Frame(FrameType.DATA, 0, 0, 0, id, ByteBuffer.wrap(payload));
    }

    @Override
    public void close() {
        transport.close();
    }
}
