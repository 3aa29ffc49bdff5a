package io.flotilla.transport.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Netty's allocator JFR events are off once a transport exists, unless the JVM was told otherwise: with them, every
 * node's first pooled buffer loaded and instrumented JFR's event classes during its first handshake, about 120 ms of
 * its start. Each case runs in a fresh JVM, since Netty reads the switch once.
 */
class NettyJfrSwitchTest {
    /** One of the JFR event classes Netty's allocators use, loaded with the first pooled buffer when they are on. */
    private static final String EVENT_CLASS = "io.netty.buffer.AllocateChunkEvent ";

    /** Creates a transport first, then takes a pooled buffer, as a connection's first handshake does. */
    public static void main(String[] args) {
        NettyTransport.factory(NettyTransportConfig.builder().address("127.0.0.1").port(0).build()).create();
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(64);
        b.release();
        System.out.println("allocated");
    }

    @Test
    void aTransportTurnsNettysAllocatorEventsOff() throws Exception {
        assertFalse(run().contains(EVENT_CLASS), "Netty's allocator loaded its JFR event class");
    }

    @Test
    void theJvmsOwnSettingWins() throws Exception {
        assertTrue(run("-D" + NettyTransport.NETTY_JFR + "=true").contains(EVENT_CLASS),
                "Netty's allocator loaded its JFR event class when the JVM asked for its events");
    }

    /** The child's output: the classes it loaded, one line each ({@code -Xlog:class+load}), then its own line. */
    private static String run(String... jvmArgs) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(List.of(jvmArgs));
        command.addAll(List.of("-Xlog:class+load=info", "-cp", System.getProperty("java.class.path"),
                NettyJfrSwitchTest.class.getName()));
        Path log = Files.createTempFile("netty-jfr-switch", ".log");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the child JVM ended within 60 s");
            String out = Files.readString(log, StandardCharsets.UTF_8);
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.lines().anyMatch("allocated"::equals), "the child allocated its buffer: " + out);
            return out;
        } finally {
            p.destroyForcibly();
            Files.deleteIfExists(log);
        }
    }
}
