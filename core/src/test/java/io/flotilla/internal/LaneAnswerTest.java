package io.flotilla.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.internal.StreamsOutsideViewTest.RecordingConnection;
import io.flotilla.spi.PeerConnection;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameType;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A message that arrives on a lane ({@link PeerConnection#lane()}) is answered on that lane, once, however it became
 * deliverable (in order on arrival, or when a gap before it filled on another connection, or when its sender joined
 * the view), and nothing else goes there: a lane's reader waits for exactly that answer. {@link InboundStream} frame
 * by frame.
 */
class LaneAnswerTest {
    private static final Member SENDER = new Member(MemberId.random(new Random(3)), "sender", "127.0.0.1", 5001, "",
            new byte[0], 1);

    /** A connection that records what is sent on it; a lane when {@code lane}. */
    private static RecordingConnection conn(boolean lane) {
        RecordingConnection c = new RecordingConnection(SENDER);
        c.lane = lane;
        return c;
    }

    private static List<String> sent(RecordingConnection c) {
        return c.sent.stream().map(f -> f.type() + " " + f.messageId()).toList();
    }

    private static InboundStream inbound(boolean[] inView) {
        InboundStream in = new InboundStream(SENDER, 1 << 20, 1024, 100,
                new NodeMeters(new SimpleMeterRegistry(), () -> 0, () -> 0), () -> inView[0]);
        in.viewChanged(0);
        return in;
    }

    private static InboundStream inbound() {
        return inbound(new boolean[] {true});
    }

    /** A {@code DATA} frame as a sender of this version writes it, with nothing settled yet (low-water mark 1). */
    private static Frame data(long seq, Delivery d) {
        int flags = d.ordinal() | (d == Delivery.PROCESSED ? Frame.FLAG_RESULT_ACKS : 0)
                | (d == Delivery.ASYNC ? Frame.FLAG_LAZY_ACK : 0);
        return new Frame(FrameType.DATA, flags, 1, seq - 1, seq, ByteBuffer.wrap(new byte[] {(byte) seq}));
    }

    /** Delivers what is ready, answering each {@code PROCESSED} message as the node's delivery task does. */
    private static void deliver(InboundStream in) {
        for (Frame f : in.nextBatch(100)) {
            if ((f.flags() & Frame.DELIVERY_MASK) == Delivery.PROCESSED.ordinal()) {
                in.completeProcessed(f, null);
            }
        }
    }

    @Test
    void aReceivedMessageOnALaneIsAcknowledgedThereAndNothingElseGoesThere() {
        InboundStream in = inbound();
        RecordingConnection pooled = conn(false);
        RecordingConnection lane = conn(true);
        in.onData(pooled, data(1, Delivery.ASYNC));
        in.ackIfDue(pooled, 0);
        in.onData(lane, data(2, Delivery.RECEIVED));
        in.ackIfDue(lane, 0);
        assertEquals(List.of("ACK 2"), sent(lane), "the lane's answer acknowledges everything up to it");
        in.onData(pooled, data(3, Delivery.ASYNC));
        in.ackIfDue(pooled, 0);
        in.ackIfDue(pooled, InboundStream.LAZY_ACK_NANOS);
        deliver(in);
        assertEquals(List.of("ACK 3"), sent(pooled), "the lazy ASYNC messages' ACK goes on the pooled connection, once");
        assertEquals(List.of("ACK 2"), sent(lane), "nothing else on the lane");
    }

    @Test
    void aLaneMessageBehindAGapIsAnsweredOnItsLaneWhenTheGapFillsOnAnotherConnection() {
        InboundStream in = inbound();
        RecordingConnection pooled = conn(false);
        RecordingConnection lane = conn(true);
        in.onData(lane, data(2, Delivery.RECEIVED));
        in.ackIfDue(lane, 0);
        assertEquals(List.of(), sent(lane), "2 waits for 1");
        in.onData(pooled, data(1, Delivery.RECEIVED));
        in.ackIfDue(pooled, 0);
        assertEquals(List.of("ACK 2"), sent(lane));
        assertEquals(List.of(), sent(pooled), "the lane's ACK covers 1 as well");
    }

    @Test
    void lanesOfConcurrentSendersAreEachAnsweredOnTheirOwn() {
        InboundStream in = inbound();
        RecordingConnection first = conn(true);
        RecordingConnection second = conn(true);
        RecordingConnection third = conn(true);
        in.onData(third, data(3, Delivery.RECEIVED));
        in.ackIfDue(third, 0);
        in.onData(second, data(2, Delivery.PROCESSED));
        in.ackIfDue(second, 0);
        in.onData(first, data(1, Delivery.RECEIVED));
        in.ackIfDue(first, 0);
        assertEquals(List.of("ACK 3"), sent(first));
        assertEquals(List.of("ACK 3"), sent(third));
        assertEquals(List.of(), sent(second), "a PROCESSED message is answered by its RESULT");
        deliver(in);
        assertEquals(List.of("RESULT 2"), sent(second));
        assertEquals(List.of("ACK 3"), sent(first), "nothing more");
    }

    @Test
    void aProcessedMessageOnALaneGetsItsResultThereAndOnThePooledConnectionWhenTheLaneClosed() {
        InboundStream in = inbound();
        RecordingConnection pooled = conn(false);
        RecordingConnection lane = conn(true);
        in.onData(pooled, data(1, Delivery.ASYNC));
        in.onData(lane, data(2, Delivery.PROCESSED));
        in.ackIfDue(lane, 0);
        deliver(in);
        assertEquals(List.of("RESULT 2"), sent(lane));
        assertEquals(List.of(), sent(pooled), "the RESULT acknowledged 1 too");
        RecordingConnection closing = conn(true);
        in.onData(closing, data(3, Delivery.PROCESSED));
        closing.open = false;
        deliver(in);
        assertEquals(List.of(), sent(closing));
        assertEquals(List.of("RESULT 3"), sent(pooled), "its sender sends it again over the pooled connection");
    }

    @Test
    void aLaneMessageFromASenderOutsideTheViewIsAnsweredWhenItJoins() {
        boolean[] inView = {false};
        InboundStream in = inbound(inView);
        RecordingConnection lane = conn(true);
        in.onData(lane, data(1, Delivery.RECEIVED));
        in.ackIfDue(lane, 0);
        assertEquals(List.of(), sent(lane), "held, unacknowledged");
        inView[0] = true;
        assertTrue(in.viewChanged(0));
        assertEquals(List.of("ACK 1"), sent(lane), "no pooled connection brought anything: the lane is answered alone");
    }

    @Test
    void aDuplicateOnALaneIsAnsweredThere() {
        InboundStream in = inbound();
        RecordingConnection pooled = conn(false);
        in.onData(pooled, data(1, Delivery.RECEIVED));
        in.onData(pooled, data(2, Delivery.PROCESSED));
        in.ackIfDue(pooled, 0);
        deliver(in);
        RecordingConnection lane = conn(true);
        in.onData(lane, data(1, Delivery.RECEIVED));
        in.ackIfDue(lane, 0);
        RecordingConnection lane2 = conn(true);
        in.onData(lane2, data(2, Delivery.PROCESSED));
        in.ackIfDue(lane2, 0);
        assertEquals(List.of("ACK 2"), sent(lane));
        assertEquals(List.of("RESULT 2"), sent(lane2), "the known result");
    }
}
