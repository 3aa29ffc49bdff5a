package io.flotilla.testing;

import static io.flotilla.testing.Await.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;

/**
 * For tests that multicast: whether a datagram sent on the loopback interface with TTL 0 comes back here (so nothing
 * leaves the machine), and free UDP ports.
 *
 * <p>Threading: static methods, safe from any thread.
 */
public final class LoopbackMulticast {
    private LoopbackMulticast() {
    }

    /** Skips the calling test unless a datagram sent to {@code group}:{@code port} on {@code lo}, TTL 0, loops back. */
    public static void assumeLoopsBack(String group, int port) {
        try {
            NetworkInterface lo = NetworkInterface.getByName("lo");
            Assumptions.assumeTrue(lo != null, "no interface named lo: loopback multicast tests skipped");
            try (DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET)) {
                ch.setOption(StandardSocketOptions.SO_REUSEADDR, true).bind(new InetSocketAddress(port));
                ch.setOption(StandardSocketOptions.IP_MULTICAST_IF, lo)
                        .setOption(StandardSocketOptions.IP_MULTICAST_TTL, 0)
                        .setOption(StandardSocketOptions.IP_MULTICAST_LOOP, true);
                ch.join(InetAddress.getByName(group), lo);
                ch.configureBlocking(false);
                ch.send(ByteBuffer.wrap(new byte[] {42}), new InetSocketAddress(group, port));
                try {
                    await("a multicast datagram looped back on lo", Duration.ofSeconds(3), () -> {
                        try {
                            return ch.receive(ByteBuffer.allocate(16)) != null;
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    });
                } catch (AssertionError e) {
                    Assumptions.abort("multicast on lo with TTL 0 does not loop back here: " + e.getMessage());
                }
            }
        } catch (IOException e) {
            Assumptions.abort("cannot join a multicast group on lo: " + e);
        }
    }

    /** A UDP port on 127.0.0.1 that was free a moment ago. */
    public static int freeUdpPort() {
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
