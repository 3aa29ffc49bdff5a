package io.flotilla.bench;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;

import io.flotilla.Delivery;
import io.flotilla.replication.AttributeCodec;
import io.flotilla.replication.CodecConfig;
import io.flotilla.replication.SessionCodec;
import io.flotilla.replication.SessionDelta;
import io.flotilla.replication.SessionMetadata;
import io.flotilla.replication.SessionOp;
import io.flotilla.replication.SessionRecord;
import io.flotilla.replication.SessionRecorder;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameCodec;
import io.flotilla.wire.FrameType;

/**
 * The Flotilla path of one session delta, the counterpart of {@link StockDeltaCodec}.
 *
 * <p><b>Encode</b> (the sending node, at the end of a request):
 * <ol>
 *   <li>the session's {@link SessionRecorder} (resumed at version 41, as a session some requests old) records
 *       each {@code setAttribute}, the values encoded together by the webapp's {@link AttributeCodec#encodeAll}
 *       as a replication does (Kryo, allowlist {@code io.flotilla.bench.*} for the {@link DeltaCase.Cart} graph;
 *       values that share objects would be one group);</li>
 *   <li>{@link SessionRecorder#drain()}: the coalesced {@link SessionDelta}, and the recorder's new snapshot;</li>
 *   <li>{@link SessionCodec#encodeDelta}: the delta's bytes;</li>
 *   <li>the {@code DATA} frame the transport writes: the 22-byte header ({@link FrameCodec}) and the delta.</li>
 * </ol>
 * Not included: queueing and sequence numbering in the engine (channel work, measured by the channel
 * benchmarks).
 *
 * <p><b>Bytes on the wire</b> are therefore 22 + the encoded delta: session id (32 hex digits packed into 16
 * bytes, then {@code .node1}), base version, span, and per attribute its name and Kryo value (class name once
 * per value). TCP/IP headers are not counted.
 *
 * <p><b>Decode</b> (the receiving node): the header checked by {@link FrameCodec#readHeader}, the payload copied
 * out as the transport's decoder does, {@link SessionCodec#decodeDelta}, and every attribute value decoded by
 * {@link AttributeCodec#decode} with the webapp's class loader (here the benchmark's), as
 * {@code DeltaRequest.readExternal} does for stock. Not included: applying to the replica (map puts).
 *
 * <p>Threading: one thread at a time (the codecs themselves are thread-safe).
 */
final class FlotillaDeltaCodec implements DeltaCodec {

    private static final long BASE_VERSION = 41;
    private static final int MAX_FRAME_BYTES = 16 << 20;

    private final CodecConfig config = CodecConfig.builder().allow("io.flotilla.bench.*").build();
    private final AttributeCodec attributes = new AttributeCodec(config);
    private final SessionCodec sessions = new SessionCodec(config);
    private final SessionRecord base = new SessionRecord(DeltaCase.SESSION_ID, BASE_VERSION,
            SessionMetadata.created(1_732_000_000_000L, 1800), Map.of());
    private final ClassLoader loader = FlotillaDeltaCodec.class.getClassLoader();
    private long seq;

    @Override
    public String impl() {
        return "flotilla";
    }

    @Override
    public byte[] encode(Map<String, Object> changes) {
        return frame(sessions.encodeDelta(delta(changes)));
    }

    /** Steps 1-2: the delta the recorder hands out when the request ends. */
    SessionDelta delta(Map<String, Object> changes) {
        SessionRecorder recorder = SessionRecorder.resume(base);
        attributes.encodeAll(changes, recorder::setAttribute);
        return recorder.drain().orElseThrow();
    }

    /** Step 4: the DATA frame as the transport writes it. */
    byte[] frame(byte[] delta) {
        long s = ++seq;
        Frame f = new Frame(FrameType.DATA, Delivery.ASYNC.ordinal(), FlotillaBench.TOPIC, 1, s, ByteBuffer.wrap(delta));
        return FrameCodec.encode(f);
    }

    @Override
    public int decode(byte[] wire) {
        FrameCodec.Header h = FrameCodec.readHeader(ByteBuffer.wrap(wire), MAX_FRAME_BYTES);
        if (h.type() != FrameType.DATA || wire.length != FrameCodec.HEADER_BYTES + h.payloadLength()) {
            throw new IllegalArgumentException("expected one DATA frame, got " + h);
        }
        byte[] payload = Arrays.copyOfRange(wire, FrameCodec.HEADER_BYTES, wire.length);
        SessionDelta delta = sessions.decodeDelta(payload);
        int found = 0;
        for (SessionOp op : delta.ops()) {
            if (op instanceof SessionOp.SetAttribute set) {
                attributes.decode(set.name(), set.value(), loader);
                found++;
            }
        }
        return found;
    }
}
