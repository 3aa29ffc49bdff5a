package io.flotilla.transport.netty;

import io.flotilla.ClusterSecret;
import io.flotilla.FlotillaException;
import io.flotilla.Member;
import io.flotilla.spi.Disconnect;
import io.flotilla.spi.PeerConnection;
import io.flotilla.spi.TransportContext;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameCodec;
import io.flotilla.wire.FrameType;
import io.flotilla.wire.Handshake;
import io.flotilla.wire.WireException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.Queue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLException;

/**
 * One connection, in either direction: the handshake state machine, the batched writer and the handler that
 * routes decoded frames. It is the {@link PeerConnection} the engine sees once the handshake is done.
 *
 * <p>Writes from any thread go through one bounded MPSC queue; the first frame that makes the queue non-empty
 * schedules one drain task on the channel's event loop, which writes everything queued and flushes once.
 *
 * <p>Threading: {@link #send}, {@link #pauseReading}, {@link #resumeReading}, {@link #isOpen}, {@link #remote} and
 * {@link #closeGracefully} are safe from any thread; everything else runs on the channel's event loop.
 */
final class Connection extends ChannelInboundHandlerAdapter implements PeerConnection {
    private enum State { HANDSHAKING, OPEN, CLOSING, CLOSED }

    /** Frames written per drain before the loop yields to its other channels. */
    private static final int MAX_FRAMES_PER_DRAIN = 4096;
    /** Direct payloads larger than this are written as their own buffer instead of being copied. */
    private static final int WRAP_DIRECT_THRESHOLD = 1024;
    /** Frames up to this size are encoded back to back into shared buffers of this size. */
    private static final int BATCH_BYTES = 64 * 1024;

    private final NettyTransport transport;
    private final TransportContext context;
    /** The cluster secret the handshake proves, or null when the network is trusted. */
    private final ClusterSecret secret;
    private final TransportMeters meters;
    private final EventLoop loop;
    private final FrameDecoder decoder;
    /** The member this node dialled; null for inbound connections. */
    private final Member target;
    private final NettyTransport.MemberPool pool;
    private final int slot;
    private final Queue<Frame> queue;
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final Runnable drainTask = this::drain;

    private volatile Channel channel;
    private volatile Member remote;
    private volatile boolean open;
    private volatile boolean dead;

    // Event loop only.
    private State state = State.HANDSHAKING;
    private boolean handshaken;
    private boolean goodbyeReceived;
    private boolean peerLeaving;
    private boolean closedOnPurpose;
    /** An accepted connection whose HELLO was a probe: it answers PING only and raises no connection events. */
    private boolean probe;
    private boolean failureReported;
    private boolean active;
    private InetAddress countedAddress;
    private ScheduledFuture<?> handshakeTimer;
    private ScheduledFuture<?> idleTimer;
    /** When the last read burst completed, on the context's clock; checked by the idle timer, not per frame. */
    private long lastReadNanos;
    private long receivedFrames;
    private long receivedBytes;
    /** With a secret, the handshake frames the proofs cover; dropped once it is done. */
    private Frame sentHello;
    private Frame receivedHello;
    private Frame sentAck;
    /** Inbound with a secret: HELLO_ACK sent, the peer's AUTH not yet checked; the peer it claims to be. */
    private Member claimed;

    /** An inbound connection, accepted by the receiver. */
    Connection(NettyTransport transport, Channel channel, FrameDecoder decoder) {
        this(transport, channel.eventLoop(), decoder, null, null, -1);
        this.channel = channel;
    }

    /** An outbound connection to {@code target}, occupying {@code slot} of {@code pool}. */
    Connection(NettyTransport transport, EventLoop loop, FrameDecoder decoder, Member target,
            NettyTransport.MemberPool pool, int slot) {
        this.transport = transport;
        this.context = transport.context();
        this.secret = context.secret().orElse(null);
        this.meters = transport.meters();
        this.loop = loop;
        this.decoder = decoder;
        this.target = target;
        this.pool = pool;
        this.slot = slot;
        this.remote = target;
        // The chunk must be smaller than the bound (Netty refuses equal ones): any sendQueueFrames <= 1024 failed.
        this.queue = io.netty.util.internal.PlatformDependent.newMpscQueue(
                Math.min(1024, transport.config().sendQueueFrames() / 2), transport.config().sendQueueFrames());
    }

    FrameDecoder decoderHandler() {
        return decoder;
    }

    boolean outbound() {
        return target != null;
    }

    NettyTransport.MemberPool pool() {
        return pool;
    }

    int slot() {
        return slot;
    }

    /** True once the connection failed or is closing: the pool replaces it. */
    boolean isDead() {
        return dead;
    }

    // ---- PeerConnection

    @Override
    public Member remote() {
        return remote;
    }

    @Override
    public void send(Frame frame) {
        if (!queue.offer(frame)) {
            meters.sendDropped.increment();
            transport.refusalLog().log(Level.WARNING, "send_queue_full", "send queue of the connection to " + describe()
                    + " is full (" + transport.config().sendQueueFrames() + " frames): frame dropped");
            return;
        }
        if (!scheduled.get() && scheduled.compareAndSet(false, true)) {
            schedule();
        }
    }

    private void schedule() {
        try {
            loop.execute(drainTask);
        } catch (RejectedExecutionException e) {
            // The event loop is shutting down with the transport: queued frames die with it.
            meters.sendDropped.increment();
        }
    }

    @Override
    public void pauseReading() {
        Channel ch = channel;
        if (ch != null) {
            ch.config().setAutoRead(false);
        }
    }

    @Override
    public void resumeReading() {
        Channel ch = channel;
        if (ch != null) {
            ch.config().setAutoRead(true);
        }
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public String toString() {
        return "Connection[" + (outbound() ? "to " : "from ") + describe() + (open ? "" : " closed") + "]";
    }

    private String describe() {
        Member r = remote;
        Channel ch = channel;
        SocketAddress a = ch == null ? null : ch.remoteAddress();
        if (r != null) {
            return r.describe();
        }
        return a == null ? "?" : a.toString();
    }

    // ---- Outbound connect

    /** Starts connecting this outbound connection. Any thread. */
    void connect(ChannelFuture connectFuture) {
        channel = connectFuture.channel();
        connectFuture.addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                failConnect(new FlotillaException("cannot connect to " + target.describe() + ": "
                        + f.cause().getMessage(), f.cause()));
            }
        });
    }

    /**
     * Sends GOODBYE after what is queued and closes; {@code leaving} flags it as this node leaving the cluster. Any
     * thread; the future completes when the channel closed.
     */
    ChannelFuture closeGracefully(boolean leaving) {
        Channel ch = channel;
        dead = true;
        try {
            loop.execute(() -> {
                if (state == State.OPEN) {
                    closedOnPurpose = true;
                    drain();
                    state = State.CLOSING;
                    writeNow(Handshake.goodbye(leaving)).addListener(ChannelFutureListener.CLOSE);
                } else if (ch != null) {
                    ch.close();
                }
            });
        } catch (RejectedExecutionException e) {
            // The loop is already shutting down; it closes the channel itself.
            return null;
        }
        return ch == null ? null : ch.closeFuture();
    }

    // ---- Channel events

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        active = true;
        meters.openConnections.incrementAndGet();
        handshakeTimer = loop.schedule(this::handshakeTimedOut,
                transport.config().handshakeTimeout().toNanos(), TimeUnit.NANOSECONDS);
        if (outbound()) {
            byte[] nonce = secret == null ? null : Handshake.newNonce(transport.random());
            sentHello = Handshake.hello(context.clusterName(), context.localMember(), false, nonce);
            writeNow(sentHello);
        } else if (ctx.channel().remoteAddress() instanceof InetSocketAddress isa) {
            countedAddress = isa.getAddress();
            int n = transport.acquireAddress(countedAddress);
            if (n > transport.config().maxConnectionsPerAddress()) {
                refuse("too_many_connections", "too many connections from " + countedAddress.getHostAddress()
                        + ": " + n + " open, maxConnectionsPerAddress=" + transport.config().maxConnectionsPerAddress());
            }
        }
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof WireException e) {
            refuse(e.reason(), e.getMessage());
            return;
        }
        Frame f = (Frame) msg;
        receivedFrames++;
        receivedBytes += f.encodedLength();
        switch (state) {
            case HANDSHAKING -> onHandshakeFrame(f);
            case OPEN -> onFrame(f);
            default -> {
                // Closing: whatever else the peer sent is dropped.
            }
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        lastReadNanos = context.clock().nanoTime();
        if (receivedFrames > 0) {
            meters.framesReceived.increment(receivedFrames);
            meters.bytesReceived.increment(receivedBytes);
            receivedFrames = 0;
            receivedBytes = 0;
        }
        // A probe connection is not the engine's: acks sent on it would go to a prober that ignores them.
        if (state == State.OPEN && !probe) {
            try {
                context.inbound().onReadComplete(this);
            } catch (RuntimeException e) {
                transport.logger().log(Level.WARNING, "inbound handler failed in onReadComplete; ignored", e);
            }
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            drain();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent e && !e.isSuccess()) {
            // An untrusted certificate, no certificate, not TLS at all, or a timeout: the SslHandler closes.
            tlsFailed(e.cause());
        }
        ctx.fireUserEventTriggered(evt);
    }

    private void tlsFailed(Throwable cause) {
        if (state == State.CLOSING || state == State.CLOSED) {
            return;
        }
        State before = state;
        state = State.CLOSING;
        dead = true;
        meters.refused("tls_handshake").increment();
        transport.refusalLog().log(Level.WARNING, "tls_handshake", "closing connection " + (outbound() ? "to " : "from ")
                + describe() + " [tls_handshake]: " + cause);
        decoder.discardInput();
        if (outbound() && before == State.HANDSHAKING) {
            failConnect(new FlotillaException("TLS handshake with " + target.describe() + " failed: " + cause,
                    cause));
        }
        channel.close();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof DecoderException && cause.getCause() instanceof SSLException) {
            // Already counted and logged as tls_handshake, or bad TLS records after it: closing is the answer.
            transport.logger().log(Level.DEBUG, () -> "TLS error on " + this + ": " + cause.getCause());
            if (state != State.CLOSING && state != State.CLOSED) {
                tlsFailed(cause.getCause());
            }
            ctx.close();
            return;
        }
        if (cause instanceof IOException) {
            transport.logger().log(Level.DEBUG, () -> "I/O error on " + this + ": " + cause);
        } else {
            transport.logger().log(Level.WARNING, "unexpected error on " + this + "; closing it", cause);
        }
        if (outbound() && !handshaken) {
            failConnect(new FlotillaException("connection to " + target.describe() + " failed: " + cause, cause));
        }
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        boolean wasOpen = handshaken && state != State.CLOSED;
        if (state == State.HANDSHAKING && !outbound() && !transport.isClosing()) {
            // The peer went away before proving anything: a scan, a client that gave up, or a wrong secret.
            meters.refused("closed_in_handshake").increment();
        }
        state = State.CLOSED;
        open = false;
        dead = true;
        if (handshakeTimer != null) {
            handshakeTimer.cancel(false);
        }
        if (idleTimer != null) {
            idleTimer.cancel(false);
        }
        if (active) {
            active = false;
            meters.openConnections.decrementAndGet();
        }
        if (countedAddress != null) {
            transport.releaseAddress(countedAddress);
            countedAddress = null;
        }
        transport.removed(this);
        if (!handshaken) {
            if (outbound()) {
                failConnect(new FlotillaException("connection to " + target.describe()
                        + " closed before its handshake completed"));
            }
        } else if (wasOpen && !probe && !transport.isClosing()) {
            Disconnect reason = peerLeaving ? Disconnect.LEAVING
                    : goodbyeReceived || closedOnPurpose ? Disconnect.CLOSED : Disconnect.LOST;
            try {
                context.inbound().onDisconnected(this, reason);
            } catch (RuntimeException e) {
                transport.logger().log(Level.WARNING, "inbound handler failed in onDisconnected; ignored", e);
            }
        }
        drain();
        ctx.fireChannelInactive();
    }

    // ---- Handshake

    private void onHandshakeFrame(Frame f) {
        if (outbound()) {
            switch (f.type()) {
                case HELLO_ACK -> {
                    Handshake.HelloAck ack;
                    try {
                        ack = Handshake.readHelloAck(f);
                    } catch (WireException e) {
                        refuse(e.reason(), "bad HELLO_ACK: " + e.getMessage());
                        return;
                    }
                    if (!checkServerProof(ack, f)) {
                        return;
                    }
                    Member m = ack.member();
                    if (!m.id().equals(target.id())) {
                        failConnect(new FlotillaException("the node at " + target.host() + ":" + target.port()
                                + " is " + m.describe() + ", not " + target.describe()
                                + " (restarted or replaced)"));
                        return;
                    }
                    if (secret != null) {
                        writeNow(Handshake.auth(sentHello, f, secret));
                    }
                    sentHello = null;
                    remote = m;
                    handshakeDone();
                }
                case REFUSE -> failConnect(new FlotillaException(target.describe() + " refused the connection: "
                        + Handshake.readRefuse(f)));
                default -> refuse("no_handshake", "expected HELLO_ACK from " + describe() + " but got " + f.type());
            }
            return;
        }
        if (claimed != null) {
            onAuth(f);
            return;
        }
        if (f.type() != FrameType.HELLO) {
            refuse("no_handshake", "expected HELLO from " + describe() + " but got " + f.type());
            return;
        }
        Handshake.Hello hello;
        try {
            hello = Handshake.readHello(f);
        } catch (WireException e) {
            refuse(e.reason(), "bad HELLO from " + describe() + ": " + e.getMessage());
            return;
        }
        if (!hello.clusterName().equals(context.clusterName())) {
            refuse("cluster_mismatch", "cluster name mismatch: " + hello.member().describe() + " belongs to \""
                    + hello.clusterName() + "\", this node to \"" + context.clusterName() + "\"");
            return;
        }
        if (secret == null && hello.authenticated()) {
            refuse("secret_mismatch", hello.member().describe() + " proves a cluster secret but this node has "
                    + "none: configure the same secret on every member");
            return;
        }
        if (secret != null && !hello.authenticated()) {
            refuse("auth_required", hello.member().describe() + " has no cluster secret and this node requires "
                    + "one: configure the same secret on every member");
            return;
        }
        probe = (f.flags() & Frame.FLAG_PROBE) != 0;
        if (secret != null) {
            // Challenge and prove; the peer is only known after its AUTH checks out.
            claimed = hello.member();
            receivedHello = f;
            sentAck = Handshake.helloAck(context.localMember(), f, Handshake.newNonce(transport.random()), secret);
            writeNow(sentAck);
            return;
        }
        remote = hello.member();
        writeNow(Handshake.helloAck(context.localMember()));
        handshakeDone();
    }

    /** Outbound: checks the accepting side's proof of the secret (or that neither side has one). */
    private boolean checkServerProof(Handshake.HelloAck ack, Frame f) {
        if (secret == null) {
            if (ack.authenticated()) {
                refuse("secret_mismatch", target.describe() + " proves a cluster secret but this node has none: "
                        + "configure the same secret on every member");
                return false;
            }
            return true;
        }
        if (!ack.authenticated()) {
            refuse("auth_required", target.describe() + " has no cluster secret and this node requires one: "
                    + "configure the same secret on every member");
            return false;
        }
        if (!Handshake.verifyServerProof(sentHello, f, secret)) {
            refuse("bad_proof", "the node at " + target.host() + ":" + target.port() + " does not prove the "
                    + "cluster secret: one of the two has a different secret");
            return false;
        }
        return true;
    }

    /** Inbound with a secret: the connecting side's AUTH is the last step; nothing else is taken before it. */
    private void onAuth(Frame f) {
        if (f.type() != FrameType.AUTH) {
            refuse("no_auth", "expected AUTH from " + describe() + " but got " + f.type());
            return;
        }
        if (!Handshake.verifyClientProof(receivedHello, sentAck, f, secret)) {
            refuse("bad_proof", describe() + " (claiming to be " + claimed.describe() + ") does not prove the "
                    + "cluster secret: wrong secret, or not a member");
            return;
        }
        remote = claimed;
        claimed = null;
        receivedHello = null;
        sentAck = null;
        handshakeDone();
    }

    private void handshakeDone() {
        if (handshakeTimer != null) {
            handshakeTimer.cancel(false);
        }
        handshaken = true;
        state = State.OPEN;
        decoder.maxFrameBytes(context.maxFrameBytes());
        open = true;
        lastReadNanos = context.clock().nanoTime();
        scheduleIdleCheck();
        if (!probe) {
            try {
                context.inbound().onConnected(this);
            } catch (RuntimeException e) {
                transport.logger().log(Level.WARNING, "inbound handler failed in onConnected; ignored", e);
            }
        }
        drain();
    }

    private void scheduleIdleCheck() {
        idleTimer = loop.schedule(this::idleCheck, transport.config().idleTimeout().toNanos() / 3,
                TimeUnit.NANOSECONDS);
    }

    /**
     * Every third of {@code idleTimeout}: closes a connection that received nothing for the whole of it (or sits
     * on a partial frame), and on connections this node opened sends a keepalive PING once they are idle for a
     * third, so the peer's check sees traffic and ours sees its PONG.
     */
    private void idleCheck() {
        if (state != State.OPEN) {
            return;
        }
        long idleNanos = transport.config().idleTimeout().toNanos();
        long now = context.clock().nanoTime();
        if (!channel.config().isAutoRead()) {
            lastReadNanos = now; // paused by our own back-pressure: the silence is ours, not the peer's
        }
        long idle = now - lastReadNanos;
        if (idle >= idleNanos) {
            long ms = transport.config().idleTimeout().toMillis();
            if (decoder.bufferedBytes() > 0) {
                refuse("truncated", "incomplete frame (" + decoder.bufferedBytes() + " bytes) from " + describe()
                        + " and nothing more within idleTimeout=" + ms + " ms");
            } else {
                refuse("idle_timeout", "nothing received from " + describe() + " within idleTimeout=" + ms + " ms");
            }
            return;
        }
        if (outbound() && idle >= idleNanos / 3) {
            send(Frame.control(FrameType.PING, 0));
        }
        scheduleIdleCheck();
    }

    private void handshakeTimedOut() {
        if (state != State.HANDSHAKING) {
            return;
        }
        long ms = transport.config().handshakeTimeout().toMillis();
        if (decoder.bufferedBytes() > 0) {
            refuse("truncated", "incomplete frame (" + decoder.bufferedBytes() + " bytes) from " + describe()
                    + " and no handshake within " + ms + " ms");
        } else {
            refuse("handshake_timeout", "no handshake from " + describe() + " within " + ms + " ms");
        }
    }

    /** The outbound connection could not be established: report it once, drop what is held, close. */
    private void failConnect(Throwable cause) {
        if (!outbound() || handshaken || failureReported) {
            return;
        }
        failureReported = true;
        dead = true;
        state = state == State.CLOSED ? State.CLOSED : State.CLOSING;
        meters.connectFailures.increment();
        transport.removed(this);
        transport.logger().log(Level.DEBUG, () -> "connection to " + target.describe() + " failed: "
                + cause.getMessage());
        if (!transport.isClosing()) {
            try {
                context.inbound().onSendFailed(target, cause);
            } catch (RuntimeException e) {
                transport.logger().log(Level.WARNING, "inbound handler failed in onSendFailed; ignored", e);
            }
        }
        Channel ch = channel;
        if (ch != null) {
            ch.close();
        }
        drain();
    }

    // ---- Established

    private void onFrame(Frame f) {
        switch (f.type()) {
            case DATA, ACK, RESULT, SYNC -> {
                if (probe) {
                    refuse("probe_data", "a probe connection from " + describe() + " sent " + f.type()
                            + "; probes may only PING");
                    return;
                }
                try {
                    context.inbound().onFrame(this, f);
                } catch (RuntimeException e) {
                    transport.logger().log(Level.WARNING, "inbound handler failed in onFrame; frame ignored", e);
                }
            }
            case PING -> send(Frame.control(FrameType.PONG, f.messageId()));
            case PONG -> {
                // Pooled connections do not ping; an unsolicited PONG is harmless.
            }
            case GOODBYE -> {
                goodbyeReceived = true;
                peerLeaving = (f.flags() & Frame.FLAG_LEAVING) != 0;
                state = State.CLOSING;
                dead = true;
                channel.close();
            }
            case REFUSE -> {
                transport.refusalLog().log(Level.WARNING, "peer_refused", describe() + " closed the connection: "
                        + Handshake.readRefuse(f));
                state = State.CLOSING;
                channel.close();
            }
            default -> refuse("unexpected_handshake", "unexpected " + f.type() + " from " + describe()
                    + " after the handshake");
        }
    }

    /**
     * Closes the connection because of bad input or a limit: counts it, logs it (rate-limited), tells the peer
     * with a REFUSE where it can, and stops reading.
     */
    private void refuse(String reason, String message) {
        if (state == State.CLOSING || state == State.CLOSED) {
            return;
        }
        meters.refused(reason).increment();
        transport.refusalLog().log(Level.WARNING, reason, "closing connection " + (outbound() ? "to " : "from ") + describe()
                + " [" + reason + "]: " + message);
        decoder.discardInput();
        State before = state;
        state = State.CLOSING;
        dead = true;
        Channel ch = channel;
        if (ch.isActive()) {
            writeNow(Handshake.refuse(reason + ": " + message)).addListener(ChannelFutureListener.CLOSE);
        } else {
            ch.close();
        }
        if (outbound() && before == State.HANDSHAKING) {
            failConnect(new FlotillaException("connection to " + target.describe() + " refused [" + reason + "]: "
                    + message));
        }
    }

    // ---- Writing

    private ChannelFuture writeNow(Frame f) {
        Channel ch = channel;
        ByteBuf buf = ch.alloc().ioBuffer(f.encodedLength());
        encode(f, buf);
        meters.framesSent.increment();
        meters.bytesSent.increment(f.encodedLength());
        return ch.writeAndFlush(buf);
    }

    /** Writes everything queued and flushes once. Event loop only. */
    private void drain() {
        if (state == State.HANDSHAKING) {
            // Frames wait for the handshake, which drains when it completes; keep 'scheduled' set meanwhile.
            return;
        }
        Channel ch = channel;
        if (state != State.OPEN) {
            scheduled.set(false);
            int dropped = 0;
            while (queue.poll() != null) {
                dropped++;
            }
            if (dropped > 0) {
                transport.logger().log(Level.DEBUG, "dropped {0} frames queued on closed {1}", dropped, this);
            }
            return;
        }
        if (!ch.isWritable()) {
            // The writability change drains; keep 'scheduled' set so producers do not schedule in vain.
            return;
        }
        scheduled.set(false);
        int frames = 0;
        long bytes = 0;
        ByteBuf batch = null;
        Frame f;
        while ((f = queue.poll()) != null) {
            int length = f.encodedLength();
            boolean alone = length > BATCH_BYTES || f.payload().isDirect() && f.payloadLength() > WRAP_DIRECT_THRESHOLD;
            if (batch != null && (alone || batch.writableBytes() < length)) {
                ch.write(batch, ch.voidPromise());
                batch = null;
            }
            if (alone) {
                write(ch, f);
            } else {
                if (batch == null) {
                    // A lone frame gets a buffer of its size; a backlog shares buffers of BATCH_BYTES, so the
                    // channel's outbound buffer and the writev carry one entry per batch instead of one per frame.
                    batch = ch.alloc().ioBuffer(queue.isEmpty() ? length : BATCH_BYTES);
                }
                encode(f, batch);
            }
            bytes += length;
            if (++frames >= MAX_FRAMES_PER_DRAIN || !ch.isWritable()) {
                break;
            }
        }
        if (batch != null) {
            ch.write(batch, ch.voidPromise());
        }
        if (frames == 0) {
            return;
        }
        ch.flush();
        meters.framesSent.increment(frames);
        meters.bytesSent.increment(bytes);
        if (!ch.isWritable()) {
            scheduled.set(true);
        } else if (frames >= MAX_FRAMES_PER_DRAIN && !queue.isEmpty() && scheduled.compareAndSet(false, true)) {
            schedule();
        }
    }

    /** One frame as its own buffer(s): large frames, and direct payloads wrapped instead of copied. */
    private static int write(Channel ch, Frame f) {
        ByteBuffer payload = f.payload();
        int length = payload.remaining();
        if (payload.isDirect() && length > WRAP_DIRECT_THRESHOLD) {
            ByteBuf header = ch.alloc().ioBuffer(FrameCodec.HEADER_BYTES);
            writeHeader(f, length, header);
            ch.write(header, ch.voidPromise());
            ch.write(Unpooled.wrappedBuffer(payload.duplicate()), ch.voidPromise());
        } else {
            // A heap payload would be copied into direct memory by the channel anyway: copy it once, into the
            // same pooled buffer as the header, and write one buffer.
            ByteBuf buf = ch.alloc().ioBuffer(FrameCodec.HEADER_BYTES + length);
            encode(f, buf);
            ch.write(buf, ch.voidPromise());
        }
        return FrameCodec.HEADER_BYTES + length;
    }

    /** Header and payload into {@code buf}, leaving the frame's payload buffer untouched. */
    static void encode(Frame f, ByteBuf buf) {
        ByteBuffer payload = f.payload();
        int length = payload.remaining();
        writeHeader(f, length, buf);
        if (length > 0) {
            if (payload.hasArray()) {
                buf.writeBytes(payload.array(), payload.arrayOffset() + payload.position(), length);
            } else {
                buf.writeBytes(payload.duplicate());
            }
        }
    }

    /** The header of {@link FrameCodec}, written straight into a {@code ByteBuf}. */
    static void writeHeader(Frame f, int length, ByteBuf buf) {
        buf.writeShort(FrameCodec.MAGIC);
        buf.writeByte(FrameCodec.VERSION);
        buf.writeByte(f.type().code());
        buf.writeByte(f.flags());
        buf.writeByte(f.topic());
        buf.writeInt((int) f.window());
        buf.writeLong(f.messageId());
        buf.writeInt(length);
    }
}
