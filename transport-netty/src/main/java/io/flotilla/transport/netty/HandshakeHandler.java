package io.flotilla.transport.netty;

import io.flotilla.FlotillaException;
import io.flotilla.wire.Frame;
import io.flotilla.wire.Handshaker;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs one connection's handshake, in front of its {@link Connection}: drives the connection's {@link Handshaker}
 * with the frames that arrive, writes what each step sends, and refuses or fails through the connection. A
 * connection that has not completed it within {@code handshakeTimeout} (TLS included) is refused. Once it is done,
 * this handler replaces itself with the {@link IdleHandler} that watches the open connection (behind the decoder, so
 * only whole frames count as traffic) and opens the connection.
 *
 * <p>Threading: one instance per channel, used only on its event loop.
 */
final class HandshakeHandler extends ChannelInboundHandlerAdapter {
    private final NettyTransport transport;
    private final Connection connection;
    private Handshaker handshake;
    private ScheduledFuture<?> timer;

    HandshakeHandler(NettyTransport transport, Connection connection) {
        this.transport = transport;
        this.connection = connection;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        timer = ctx.executor().schedule(this::timedOut, transport.config().handshakeTimeout().toNanos(),
                TimeUnit.NANOSECONDS);
        handshake = connection.outbound() ? Handshaker.connecting(transport.handshakeLocal(), connection.remote())
                : Handshaker.accepting(transport.handshakeLocal(), String.valueOf(ctx.channel().remoteAddress()));
        ctx.fireChannelActive();
        if (connection.handshaking()) {
            apply(ctx, handshake.start());
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof Frame f)) {
            ctx.fireChannelRead(msg); // a WireException: the connection refuses it
            return;
        }
        connection.countReceived(f);
        if (connection.handshaking()) {
            apply(ctx, handshake.receive(f));
        }
        // Otherwise the connection is closing: whatever else the peer sent is dropped.
    }

    private void apply(ChannelHandlerContext ctx, Handshaker.Step step) {
        for (Frame f : step.send()) {
            connection.writeNow(f);
        }
        switch (step.outcome()) {
            case CONTINUE -> {
                // Wait for the peer's next frame.
            }
            case ESTABLISHED -> {
                cancelTimer();
                ctx.pipeline().replace(this, "idle", new IdleHandler(connection, transport.config().idleTimeout()));
                connection.established(handshake.remote(), handshake.probe(), !connection.outbound() && handshake.lane());
            }
            case REFUSED -> connection.refuse(step.reason(), step.message());
            case FAILED -> connection.failConnect(new FlotillaException(step.message()));
        }
    }

    private void timedOut() {
        if (!connection.handshaking()) {
            return;
        }
        long ms = transport.config().handshakeTimeout().toMillis();
        int buffered = connection.decoderHandler().bufferedBytes();
        if (buffered > 0) {
            connection.refuse("truncated", "incomplete frame (" + buffered + " bytes) from " + connection.describe()
                    + " and no handshake within " + ms + " ms");
        } else {
            connection.refuse("handshake_timeout", "no handshake from " + connection.describe() + " within " + ms
                    + " ms (waiting for " + (handshake == null ? "the connection" : handshake.awaiting()) + ")");
        }
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelTimer();
        ctx.fireChannelInactive();
    }
}
