package io.flotilla.transport.netty;

import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameType;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Keeps an open connection alive and closes a dead one: Netty's {@link IdleStateHandler}, placed behind the
 * {@link FrameDecoder} once the handshake is done, so only whole frames count as traffic (a peer that trickles a
 * frame byte by byte is as idle as a silent one). Every third of {@code idleTimeout} without a whole frame, the
 * connecting side sends a keepalive {@code PING} (its peer answers {@code PONG}, which counts as traffic on both
 * sides); the third such period in a row closes the connection as {@code idle_timeout}, or as {@code truncated} when
 * it sits on a partial frame. A connection paused by the engine's own back-pressure is not idle. Time is the event
 * loop's.
 *
 * <p>Threading: one instance per channel, used only on its event loop.
 */
final class IdleHandler extends IdleStateHandler {
    /** Reader-idle periods in a row that close the connection. */
    private static final int PERIODS = 3;

    private final Connection connection;
    private final Duration idleTimeout;
    /** Reader-idle periods in a row so far. */
    private int periods;

    IdleHandler(Connection connection, Duration idleTimeout) {
        super(idleTimeout.toNanos() / PERIODS, 0, 0, TimeUnit.NANOSECONDS);
        this.connection = connection;
        this.idleTimeout = idleTimeout;
    }

    @Override
    protected void channelIdle(ChannelHandlerContext ctx, IdleStateEvent evt) {
        periods = evt.isFirst() ? 1 : periods + 1;
        if (!ctx.channel().config().isAutoRead()) {
            periods = 0; // paused by our own back-pressure: the silence is ours, not the peer's
            return;
        }
        if (periods < PERIODS) {
            if (connection.outbound()) {
                connection.send(Frame.control(FrameType.PING, 0));
            }
            return;
        }
        long ms = idleTimeout.toMillis();
        int buffered = connection.decoderHandler().bufferedBytes();
        if (buffered > 0) {
            connection.refuse("truncated", "incomplete frame (" + buffered + " bytes so far) from "
                    + connection.describe() + " not completed within idleTimeout=" + ms + " ms");
        } else {
            connection.refuse("idle_timeout", "nothing received from " + connection.describe() + " within idleTimeout="
                    + ms + " ms");
        }
    }
}
