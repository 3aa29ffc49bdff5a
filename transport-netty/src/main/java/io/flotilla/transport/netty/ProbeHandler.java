package io.flotilla.transport.netty;

import io.flotilla.FlotillaException;
import io.flotilla.Member;
import io.flotilla.spi.ProbeRefusedException;
import io.flotilla.wire.Frame;
import io.flotilla.wire.Handshake;
import io.flotilla.wire.Handshaker;
import io.flotilla.wire.WireException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One liveness probe on a fresh, unpooled connection, driving a {@link Handshaker#probing} machine: HELLO and PING,
 * then HELLO_ACK and the matching PONG, then GOODBYE and close. Completes {@link #result} with the member that
 * answered, or exceptionally with a message saying what went wrong ({@link ProbeRefusedException} when the connection
 * was refused, or connected to itself because nothing listened at the address).
 *
 * <p>Threading: created on any thread; every callback runs on the channel's event loop.
 */
final class ProbeHandler extends ChannelInboundHandlerAdapter {
    final CompletableFuture<Member> result = new CompletableFuture<>();
    private final Handshaker handshake;
    private final InetSocketAddress address;
    private final Duration timeout;
    private ScheduledFuture<?> timer;

    ProbeHandler(Handshaker.Local local, InetSocketAddress address, Duration timeout, long nonce) {
        this.handshake = Handshaker.probing(local, address.toString(), nonce);
        this.address = address;
        this.timeout = timeout;
    }

    /** Arms the overall timeout; called once the channel exists. */
    void arm(Channel channel) {
        timer = channel.eventLoop().schedule(() -> {
            fail("no answer from " + address + " within " + timeout.toMillis() + " ms (while " + stage() + ")",
                    null);
            channel.close();
        }, timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    private String stage() {
        return "waiting for " + handshake.awaiting();
    }

    void fail(String message, Throwable cause) {
        if (result.completeExceptionally(new FlotillaException("probe of " + address + " failed: " + message,
                cause))) {
            cancelTimer();
        }
    }

    /** The connection was refused: nothing listens at the address ({@link ProbeRefusedException}). */
    void refused(Throwable cause) {
        if (result.completeExceptionally(new ProbeRefusedException("probe of " + address
                + " failed: connection refused (" + cause.getMessage() + ")", cause))) {
            cancelTimer();
        }
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        SocketAddress local = ctx.channel().localAddress();
        if (local != null && local.equals(ctx.channel().remoteAddress())) {
            // A TCP self-connect: nothing listened at the address, and the kernel gave this connection that very port
            // as its own. It would read its own HELLO back; it is a refusal, which is conclusive.
            refused(new ConnectException("connected to itself: nothing listens at " + address));
            ctx.close();
            return;
        }
        apply(ctx, handshake.start());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (result.isDone()) {
            return;
        }
        if (msg instanceof WireException e) {
            fail("bad bytes [" + e.reason() + "]: " + e.getMessage(), e);
            ctx.close();
            return;
        }
        apply(ctx, handshake.receive((Frame) msg));
    }

    private void apply(ChannelHandlerContext ctx, Handshaker.Step step) {
        for (Frame f : step.send()) {
            write(ctx, f);
        }
        switch (step.outcome()) {
            case CONTINUE -> ctx.flush();
            case ESTABLISHED -> {
                if (result.complete(handshake.remote())) {
                    cancelTimer();
                }
                closeAfterWrites(ctx);
            }
            case REFUSED -> {
                fail(step.message(), null);
                write(ctx, Handshake.refuse(step.reason() + ": " + step.message()));
                closeAfterWrites(ctx);
            }
            case FAILED -> {
                fail(step.message(), null);
                ctx.close();
            }
        }
    }

    private static void write(ChannelHandlerContext ctx, Frame f) {
        ByteBuf buf = ctx.alloc().ioBuffer(f.encodedLength());
        WriteQueue.encode(f, buf);
        ctx.write(buf, ctx.voidPromise());
    }

    private static void closeAfterWrites(ChannelHandlerContext ctx) {
        ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        fail("I/O error: " + cause.getMessage(), cause);
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        fail("connection closed by " + address + " while " + stage(), null);
        ctx.fireChannelInactive();
    }
}
