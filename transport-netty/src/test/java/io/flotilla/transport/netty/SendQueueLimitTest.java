package io.flotilla.transport.netty;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flotilla.Member;
import io.flotilla.MemberId;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A connection's queue is bounded: a peer that never answers cannot make the sender hold unbounded frames. */
class SendQueueLimitTest {
    @Test
    @Timeout(30)
    void framesBeyondTheQueueOfAStalledConnectionAreDroppedAndCounted() throws Exception {
        // A listening socket that nobody accepts from: TCP connects, the HELLO is never answered.
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
                TestNode sender = TestNode.start("test", "sender", TestNode.config().sendQueueFrames(16).poolSize(1)
                        .handshakeTimeout(Duration.ofSeconds(5)).build(), new RecordingInbound())) {
            Member target = new Member(MemberId.random(), "silent", "127.0.0.1", silent.getLocalPort(), "",
                    new byte[0], 0);
            for (int i = 0; i < 100; i++) {
                sender.transport.send(target, TestNode.data(i, new byte[64]));
            }
            assertEquals(84.0, sender.counter("flotilla.transport.send.dropped"), "16 queued, 84 dropped");
            await("the stalled connection fails at the handshake timeout", Duration.ofSeconds(15),
                    () -> !sender.inbound.sendFailures.isEmpty());
        }
    }
}
