package io.flotilla.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Ports for the servers a test starts later, on 127.0.0.1: free now, and below Linux's ephemeral range (32768-60999
 * by default). A port the kernel handed out for a bind to 0 is in that range, and between the test's choice and the
 * server's bind a client socket of another node (a Flotilla connection, an HTTP request) may be given the same port:
 * the server then fails with "Address already in use" (seen once in CI).
 *
 * <p>Threading: stateless; safe from any thread.
 */
public final class FreePorts {
    private static final int FIRST = 20_000;
    private static final int LAST = 32_000;

    private FreePorts() {
    }

    /** A TCP port free now and not in {@code taken}, which it is added to. */
    public static int tcp(Set<Integer> taken) {
        for (int attempt = 0; attempt < 200; attempt++) {
            int port = ThreadLocalRandom.current().nextInt(FIRST, LAST);
            if (taken.contains(port)) {
                continue;
            }
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(false);
                s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
                taken.add(port);
                return port;
            } catch (IOException e) {
                // taken by something else: try another
            }
        }
        throw new UncheckedIOException(new IOException("no free TCP port in " + FIRST + "-" + LAST + " on 127.0.0.1"
                + " after 200 attempts"));
    }

    /** A TCP port free now. */
    public static int tcp() {
        return tcp(new HashSet<>());
    }

    /** A UDP port free now, in the same range. */
    public static int udp() {
        for (int attempt = 0; attempt < 200; attempt++) {
            int port = ThreadLocalRandom.current().nextInt(FIRST, LAST);
            try (DatagramSocket s = new DatagramSocket(port, InetAddress.getLoopbackAddress())) {
                return s.getLocalPort();
            } catch (IOException e) {
                // taken: try another
            }
        }
        throw new UncheckedIOException(new IOException("no free UDP port in " + FIRST + "-" + LAST
                + " on 127.0.0.1 after 200 attempts"));
    }
}
