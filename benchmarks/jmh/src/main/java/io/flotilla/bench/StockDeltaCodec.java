package io.flotilla.bench;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Serializable;
import java.util.Map;

import org.apache.catalina.ha.session.DeltaRequest;
import org.apache.catalina.ha.session.SessionMessage;
import org.apache.catalina.ha.session.SessionMessageImpl;
import org.apache.catalina.tribes.Channel;
import org.apache.catalina.tribes.Member;
import org.apache.catalina.tribes.io.BufferPool;
import org.apache.catalina.tribes.io.ChannelData;
import org.apache.catalina.tribes.io.ReplicationStream;
import org.apache.catalina.tribes.io.XByteBuffer;
import org.apache.catalina.tribes.membership.StaticMember;

/**
 * The stock path of one session delta, mirrored step by step from Tomcat 10.1.49's sources.
 *
 * <p><b>Encode</b> (the sending node, at the end of a request):
 * <ol>
 *   <li>{@code DeltaSession.setAttribute} records each change in the session's {@link DeltaRequest}
 *       ({@code recordAllActions=false}, the {@code ClusterManagerBase} default);</li>
 *   <li>{@code DeltaManager.requestCompleted} → {@code DeltaSession.getDiff()} →
 *       {@code DeltaRequest.serialize()}: {@code writeExternal} into a fresh {@code ObjectOutputStream};</li>
 *   <li>the bytes are wrapped in a {@link SessionMessageImpl} ({@code EVT_SESSION_DELTA}, manager name,
 *       session id, unique id {@code sessionId-currentTimeMillis}, timestamp); {@code SimpleTcpCluster.send}
 *       sets its (transient) address;</li>
 *   <li>{@code GroupChannel.send}: a {@link ChannelData} with a new unique id, the local member and a
 *       timestamp; the message Java-serialized by {@link XByteBuffer#serialize}; options
 *       {@code SEND_OPTIONS_ASYNCHRONOUS} ({@code SimpleTcpCluster}'s default); the bytes copied into a
 *       pooled {@link XByteBuffer};</li>
 *   <li>{@code ParallelNioSender}: {@link XByteBuffer#createDataPackage(ChannelData)}, the exact bytes
 *       written to the socket.</li>
 * </ol>
 * Not included: {@code MessageDispatchInterceptor}'s deep clone and queueing (channel work, measured by the
 * channel benchmarks).
 *
 * <p><b>Bytes on the wire</b> ({@link #encode}'s length) are therefore: the 7-byte start marker
 * {@code FLT2002} and 4-byte length, the {@code ChannelData} header (options 4, timestamp 8, unique id
 * length 4 + 16, member length 4 + the member's serialized form, message length 4), the Java-serialized
 * {@code SessionMessageImpl} (class descriptors, manager name, session id, unique id, and the delta request
 * as a byte array, itself an {@code ObjectOutputStream} stream holding the attribute values' class
 * descriptors and data), and the 7-byte end marker {@code TLF2003}. TCP/IP headers are not counted.
 * The local member is a {@link StaticMember} on 127.0.0.1:4000 with a 16-byte unique id, no domain and no
 * payload, as {@code StaticMembershipInterceptor} configures; a multicast member carries the same fields.
 *
 * <p><b>Decode</b> (the receiving node): {@code NioReplicationTask}'s {@link XByteBuffer} → 
 * {@link XByteBuffer#extractPackage} → {@code GroupChannel.messageReceived}: {@link XByteBuffer#deserialize}
 * (a plain {@code ObjectInputStream}) → {@code DeltaManager.handleSESSION_DELTA} → {@code
 * DeltaSession.applyDiff}: a {@link ReplicationStream} over the delta bytes (with the webapp's class
 * loaders, here the benchmark's) → {@link DeltaRequest#readExternal}. Not included: {@code execute} on a
 * session (needs a running manager; it is map puts).
 *
 * <p>Threading: one thread at a time ({@code BufferPool} is Tribes' JVM-wide, thread-safe pool).
 */
final class StockDeltaCodec implements DeltaCodec {

    private final Member localMember;
    private final ClassLoader[] loaders = { StockDeltaCodec.class.getClassLoader() };

    StockDeltaCodec() {
        try {
            StaticMember m = new StaticMember(BenchJvm.LOOPBACK, 4000, 0);
            m.setUniqueId(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 });
            this.localMember = m;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String impl() {
        return "stock";
    }

    @Override
    public byte[] encode(Map<String, Object> attributes) throws IOException {
        byte[] delta = deltaRequestBytes(attributes);
        return frame(sessionMessage(delta));
    }

    /** Steps 1-2: the {@code DeltaRequest.serialize()} bytes. */
    static byte[] deltaRequestBytes(Map<String, Object> attributes) throws IOException {
        ExposedDeltaRequest request = new ExposedDeltaRequest(DeltaCase.SESSION_ID);
        for (Map.Entry<String, Object> e : attributes.entrySet()) {
            request.setAttribute(e.getKey(), e.getValue());
        }
        return request.serializeAsDeltaManagerDoes();
    }

    /** Step 3: the message {@code DeltaManager.requestCompleted} returns, as the cluster sends it. */
    SessionMessage sessionMessage(byte[] delta) {
        long now = System.currentTimeMillis();
        SessionMessage msg = new SessionMessageImpl(DeltaCase.MANAGER_NAME, SessionMessage.EVT_SESSION_DELTA, delta,
                DeltaCase.SESSION_ID, DeltaCase.SESSION_ID + "-" + now);
        msg.setTimestamp(now);
        msg.setAddress(localMember);
        return msg;
    }

    /** Steps 4-5: {@code GroupChannel.send} and the sender's framing. */
    byte[] frame(Serializable msg) throws IOException {
        ChannelData data = new ChannelData(true);
        data.setAddress(localMember);
        data.setTimestamp(System.currentTimeMillis());
        byte[] b = XByteBuffer.serialize(msg);
        data.setOptions(Channel.SEND_OPTIONS_ASYNCHRONOUS & ~Channel.SEND_OPTIONS_BYTE_MESSAGE);
        XByteBuffer buffer = BufferPool.getBufferPool().getBuffer(b.length + 128, false);
        try {
            buffer.append(b, 0, b.length);
            data.setMessage(buffer);
            return XByteBuffer.createDataPackage(data);
        } finally {
            BufferPool.getBufferPool().returnBuffer(buffer);
        }
    }

    @Override
    public int decode(byte[] wire) throws IOException, ClassNotFoundException {
        return decodeRequest(wire).getSize();
    }

    /** The receiving node's path, up to the {@link DeltaRequest} ready to execute. */
    ExposedDeltaRequest decodeRequest(byte[] wire) throws IOException, ClassNotFoundException {
        XByteBuffer reader = new XByteBuffer(wire.length, true);
        reader.append(wire, 0, wire.length);
        ChannelData data = reader.extractPackage(true);
        SessionMessage msg = (SessionMessage) XByteBuffer.deserialize(data.getMessage().getBytesDirect(), 0,
                data.getMessage().getLength());
        if (msg.getEventType() != SessionMessage.EVT_SESSION_DELTA) {
            throw new IOException("expected a SESSION-DELTA message, got " + msg.getEventTypeString());
        }
        byte[] delta = msg.getSession();
        ExposedDeltaRequest request = new ExposedDeltaRequest(null);
        try (ReplicationStream in = new ReplicationStream(new ByteArrayInputStream(delta, 0, delta.length),
                loaders)) {
            request.readExternal(in);
        }
        return request;
    }

    /**
     * {@link DeltaRequest} with its protected {@code serialize()} reachable: {@code DeltaSession.createRequest}
     * is the documented hook for such subclasses, and the class is never on the wire ({@code writeExternal}
     * writes into the stream directly), so the bytes are exactly stock's.
     */
    static final class ExposedDeltaRequest extends DeltaRequest {
        private static final long serialVersionUID = 1L;

        ExposedDeltaRequest(String sessionId) {
            super(sessionId, false);
        }

        byte[] serializeAsDeltaManagerDoes() throws IOException {
            return serialize();
        }
    }
}
