package io.flotilla.transport.netty;

import io.flotilla.FlotillaException;
import io.flotilla.Member;
import io.flotilla.spi.Disconnect;
import io.flotilla.spi.PeerConnection;
import io.flotilla.spi.TransportContext;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameType;
import io.flotilla.wire.Handshake;
import io.flotilla.wire.WireException;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.RejectedExecutionException;
import javax.net.ssl.SSLException;

/**
 * One connection, in either direction, as the last handler of its pipeline: its lifecycle, the routing of the frames
 * that follow the handshake to the engine, and refusals of bad input. It is the {@link PeerConnection} the engine
 * sees once the handshake is done. Each other job has its own class: the {@link HandshakeHandler} in front of it
 * runs the handshake, the {@link WriteQueue} writes, and the {@link IdleHandler} behind the decoder keeps it alive.
 *
 * <p>The pipeline is {@code [tls] → FrameDecoder → HandshakeHandler → Connection}, and once the handshake is done
 * {@code [tls] → FrameDecoder → IdleHandler → Connection}.
 *
 * <p>Threading: {@link #send}, {@link #pauseReading}, {@link #resumeReading}, {@link #isOpen}, {@link #remote} and
 * {@link #closeGracefully} are safe from any thread; everything else runs on the channel's event loop.
 */
final class Connection extends ChannelInboundHandlerAdapter implements PeerConnection {
    private enum State { HANDSHAKING, OPEN, CLOSING, CLOSED }

    private final NettyTransport transport;
    private final TransportContext context;
    private final TransportMeters meters;
    private final EventLoop loop;
    private final FrameDecoder decoder;
    /** The member this node dialled; null for inbound connections. */
    private final Member target;
    private final NettyTransport.MemberPool pool;
    private final int slot;
    private final WriteQueue writer;

    private volatile Channel channel;
    private volatile Member remote;
    /** True from the end of the handshake until the channel is inactive. */
    private volatile boolean open;
    private volatile boolean dead;
    /** An accepted lane ({@link PeerConnection#lane()}): raises no connection events. */
    private volatile boolean lane;

    // Event loop only.
    private State state = State.HANDSHAKING;
    /** An accepted connection whose HELLO was a probe's: it answers PING only and raises no connection events. */
    private boolean probe;
    /** How an open connection ended, as the engine is told: LOST unless a goodbye or this node said otherwise. */
    private Disconnect ending = Disconnect.LOST;
    /** The connection's end was reported: a failed connect to the engine, or an open connection closed. */
    private boolean endReported;
    private boolean active;
    private InetAddress countedAddress;
    private long receivedFrames;
    private long receivedBytes;

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
        this.meters = transport.meters();
        this.loop = loop;
        this.decoder = decoder;
        this.target = target;
        this.pool = pool;
        this.slot = slot;
        this.remote = target;
        this.writer = new WriteQueue(loop, transport.config().sendQueueFrames(), meters, this);
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

    /** True until the handshake is done or the connection closes. */
    boolean handshaking() {
        return state == State.HANDSHAKING;
    }

    // ---- PeerConnection

    @Override
    public Member remote() {
        return remote;
    }

    @Override
    public void send(Frame frame) {
        if (!writer.offer(frame)) {
            meters.sendDropped.increment();
            transport.refusalLog().log(Level.WARNING, "send_queue_full", "send queue of the connection to " + describe()
                    + " is full (" + transport.config().sendQueueFrames() + " frames): frame dropped");
        }
    }

    /** Writes what the queue holds back for a linger ({@link WriteQueue#endLinger}). Any thread. */
    void endLinger() {
        writer.endLinger();
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
    public boolean lane() {
        return lane;
    }

    @Override
    public String toString() {
        return "Connection[" + (outbound() ? "to " : "from ") + describe() + (open ? "" : " closed") + "]";
    }

    String describe() {
        Member r = remote;
        if (r != null) {
            return r.describe();
        }
        Channel ch = channel;
        SocketAddress a = ch == null ? null : ch.remoteAddress();
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
                    ending = Disconnect.CLOSED;
                    writer.drain();
                    closing();
                    writer.writeNow(channel, Handshake.goodbye(leaving)).addListener(ChannelFutureListener.CLOSE);
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
        if (!outbound() && ctx.channel().remoteAddress() instanceof InetSocketAddress isa) {
            countedAddress = isa.getAddress();
            int n = transport.acquireAddress(countedAddress);
            if (n > transport.config().maxConnectionsPerAddress()) {
                refuse("too_many_connections", "too many connections from " + countedAddress.getHostAddress() + ": "
                        + n + " open, maxConnectionsPerAddress=" + transport.config().maxConnectionsPerAddress());
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
        countReceived(f);
        if (state == State.OPEN) {
            onFrame(f);
        }
        // Otherwise closing: whatever else the peer sent is dropped.
    }

    /** One more frame read in this burst; the meters are updated once per burst. */
    void countReceived(Frame f) {
        receivedFrames++;
        receivedBytes += f.encodedLength();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
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
            writer.drain();
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
        // The TLS session is broken: no REFUSE can be sent.
        refuse("tls_handshake", "TLS handshake failed: " + cause, false);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof DecoderException && cause.getCause() instanceof SSLException) {
            // Already counted and logged as tls_handshake, or bad TLS records after it: closing is the answer.
            transport.logger().log(Level.DEBUG, () -> "TLS error on " + this + ": " + cause.getCause());
            tlsFailed(cause.getCause());
            ctx.close();
            return;
        }
        if (cause instanceof IOException) {
            transport.logger().log(Level.DEBUG, () -> "I/O error on " + this + ": " + cause);
        } else {
            transport.logger().log(Level.WARNING, "unexpected error on " + this + "; closing it", cause);
        }
        if (outbound() && !open) {
            failConnect(new FlotillaException("connection to " + target.describe() + " failed: " + cause, cause));
        }
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        boolean wasOpen = open;
        if (state == State.HANDSHAKING && !outbound() && !transport.isClosing()) {
            // The peer went away before proving anything: a scan, a client that gave up, or a wrong secret.
            meters.refused("closed_in_handshake").increment();
        }
        state = State.CLOSED;
        open = false;
        dead = true;
        if (active) {
            active = false;
            meters.openConnections.decrementAndGet();
        }
        if (countedAddress != null) {
            transport.releaseAddress(countedAddress);
            countedAddress = null;
        }
        transport.removed(this);
        if (!wasOpen) {
            if (outbound()) {
                failConnect(new FlotillaException("connection to " + target.describe()
                        + " closed before its handshake completed"));
            }
        } else {
            endReported = true;
            if (!probe && !lane && !transport.isClosing()) {
                tellEngine("onDisconnected", () -> context.inbound().onDisconnected(this, ending));
            }
        }
        writer.discard();
        ctx.fireChannelInactive();
    }

    // ---- Handshake, by the HandshakeHandler

    /** Writes {@code f} at once, ahead of what is queued, and flushes. */
    void writeNow(Frame f) {
        writer.writeNow(channel, f);
    }

    /**
     * The handshake is done with {@code peer} ({@code isProbe}: a probe's connection; {@code isLane}: a lane the peer
     * opened): open for the engine.
     */
    void established(Member peer, boolean isProbe, boolean isLane) {
        probe = isProbe;
        lane = isLane;
        remote = peer;
        state = State.OPEN;
        decoder.maxFrameBytes(context.maxFrameBytes());
        open = true;
        if (lane) {
            meters.lanesAccepted.increment();
        } else if (!probe) {
            tellEngine("onConnected", () -> context.inbound().onConnected(this));
        } else if (!outbound()) {
            tellEngine("onProbed", () -> context.inbound().onProbed(peer));
        }
        writer.open(channel, transport.config().tls() == null); // with TLS, every byte goes through its handler
    }

    /** The outbound connection could not be established: report it once, drop what is held, close. */
    void failConnect(Throwable cause) {
        if (!outbound() || open || endReported) {
            return;
        }
        endReported = true;
        if (state != State.CLOSED) {
            closing(); // when closed, channelInactive dropped what was queued
        }
        meters.connectFailures.increment();
        transport.removed(this);
        transport.logger().log(Level.DEBUG, () -> "connection to " + target.describe() + " failed: "
                + cause.getMessage());
        if (!transport.isClosing()) {
            tellEngine("onSendFailed", () -> context.inbound().onSendFailed(target, cause));
        }
        Channel ch = channel;
        if (ch != null) {
            ch.close();
        }
    }

    /** No more frames in or out: what is queued and whatever is sent later is dropped. The channel closes next. */
    private void closing() {
        state = State.CLOSING;
        dead = true;
        writer.discard();
    }

    /** A connection event for the engine, off the hot path; an engine that throws is logged and ignored. */
    private void tellEngine(String what, Runnable call) {
        try {
            call.run();
        } catch (RuntimeException e) {
            transport.logger().log(Level.WARNING, "inbound handler failed in " + what + "; ignored", e);
        }
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
                // Keepalive answers: reading them is all they are for.
            }
            case GOODBYE -> {
                ending = (f.flags() & Frame.FLAG_LEAVING) != 0 ? Disconnect.LEAVING : Disconnect.CLOSED;
                closing();
                channel.close();
            }
            case REFUSE -> {
                transport.refusalLog().log(Level.WARNING, "peer_refused", describe() + " closed the connection: "
                        + Handshake.readRefuse(f));
                closing();
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
    void refuse(String reason, String message) {
        refuse(reason, message, true);
    }

    private void refuse(String reason, String message, boolean tellPeer) {
        if (state == State.CLOSING || state == State.CLOSED) {
            return;
        }
        meters.refused(reason).increment();
        transport.refusalLog().log(Level.WARNING, reason, "closing connection " + (outbound() ? "to " : "from ")
                + describe() + " [" + reason + "]: " + message);
        decoder.discardInput();
        State before = state;
        closing();
        Channel ch = channel;
        if (tellPeer && ch.isActive()) {
            writer.writeNow(ch, Handshake.refuse(reason + ": " + message)).addListener(ChannelFutureListener.CLOSE);
        } else {
            ch.close();
        }
        if (outbound() && before == State.HANDSHAKING) {
            failConnect(new FlotillaException("connection to " + target.describe() + " refused [" + reason + "]: "
                    + message));
        }
    }
}
