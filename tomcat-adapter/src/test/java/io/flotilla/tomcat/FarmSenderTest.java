package io.flotilla.tomcat;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.internal.NodeThreads;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A WAR stream waits for the receiver's acknowledgements: never more than the window of chunks in flight; a repeated
 * request does not start a second stream.
 */
class FarmSenderTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    @TempDir
    Path appBase;

    @Test
    void aStreamKeepsAtMostTheWindowUnacknowledgedAndSendsTheWholeFileInOrder() throws Exception {
        Random ids = new Random(3);
        Member self = new Member(MemberId.random(ids), "self", "127.0.0.1", 4000, "", new byte[0], 1);
        Member to = new Member(MemberId.random(ids), "to", "127.0.0.1", 4001, "", new byte[0], 1);
        byte[] war = new byte[10 * FarmMessages.CHUNK_BYTES + 123];
        new Random(4).nextBytes(war);
        Files.write(appBase.resolve("app.war"), war);
        FarmMessages.Entry e = new FarmMessages.Entry("app.war", war.length,
                HexFormat.of().formatHex(FarmReceiver.sha256().digest(war)), 1, "self");
        RecordingNode node = new RecordingNode(self, List.of(to), true);
        try (FarmSender sender = new FarmSender(node, appBase, Duration.ofSeconds(30),
                new NodeThreads("test").factory("farm-send"))) {
            sender.stream(to, e);
            sender.stream(to, e); // asked again (the requester retried) while the first is queued or under way
            assertEquals(1, sender.pending(), "one stream");
            ByteArrayOutputStream received = new ByteArrayOutputStream();
            int acknowledged = 0;
            while (acknowledged < 12) { // BEGIN and 11 chunks, acknowledged one at a time, oldest first
                int ack = acknowledged;
                // an unbounded sender would have sent all 12 at once, and this count would never be reached
                await("the window is full or the stream is sent", WAIT,
                        () -> node.sends.size() == Math.min(12, ack + FarmSender.WINDOW), () -> node.sends.size()
                                + " sent, " + ack + " acknowledged");
                RecordingNode.Sent oldest = node.sends.get(ack);
                if (oldest.kind() == FarmMessages.CHUNK) {
                    ByteBuffer p = oldest.payload().duplicate();
                    FarmMessages.kind(p);
                    FarmMessages.readLong(p);
                    assertEquals(received.size(), FarmMessages.readLong(p), "chunks in order");
                    byte[] bytes = new byte[p.remaining()];
                    p.get(bytes);
                    received.write(bytes);
                }
                oldest.done().complete(null);
                acknowledged++;
            }
            assertArrayEquals(war, received.toByteArray());
            assertEquals(FarmMessages.BEGIN, node.sends.get(0).kind());
            await("the stream is done", WAIT, () -> sender.pending() == 0);
        }
    }
}
