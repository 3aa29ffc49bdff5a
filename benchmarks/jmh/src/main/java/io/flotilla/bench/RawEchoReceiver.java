package io.flotilla.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.TimeUnit;

/**
 * The raw loopback baseline's receiver ({@code kind=raw}): a plain blocking TCP socket on 127.0.0.1 that writes back
 * every byte it reads, at once. No framing, no cluster: {@link RawRoundTripBenchmark} measures against it the round
 * trip the kernel and two JVM threads cost, which the synchronous channel's latency is compared with.
 *
 * <p>Threading: {@link #start} and {@link #close} on the receiver's main thread; one daemon thread accepts and echoes,
 * one connection at a time.
 */
final class RawEchoReceiver implements PeerReceiver {
    private static final int BUFFER_BYTES = 64 * 1024;

    private ServerSocket server;
    private Thread echo;

    @Override
    public String start(OrderTracker tracker) throws IOException {
        // Bound at once by the process that uses it, so a port from the kernel's ephemeral range is safe here.
        server = new ServerSocket(0, 1, InetAddress.getByName(BenchJvm.LOOPBACK));
        echo = new Thread(this::serve, "bench-raw-echo");
        echo.setDaemon(true);
        echo.start();
        return server.getLocalPort() + " raw";
    }

    private void serve() {
        byte[] buffer = new byte[BUFFER_BYTES];
        while (!server.isClosed()) {
            try (Socket s = server.accept(); InputStream in = s.getInputStream();
                    OutputStream out = s.getOutputStream()) {
                s.setTcpNoDelay(true);
                for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                    out.write(buffer, 0, n);
                }
            } catch (IOException e) {
                if (!server.isClosed()) {
                    System.err.println("raw echo: connection ended: " + e);
                }
            }
        }
    }

    @Override
    public void close() throws IOException, InterruptedException {
        server.close();
        echo.join(TimeUnit.SECONDS.toMillis(5));
    }
}
