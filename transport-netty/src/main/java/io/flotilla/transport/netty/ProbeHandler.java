package io.flotilla.transport.netty;

import io.flotilla.ClusterSecret;
import io.flotilla.FlotillaException;
import io.flotilla.Member;
import io.flotilla.spi.TransportContext;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameType;
import io.flotilla.wire.Handshake;
import io.flotilla.wire.WireException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One liveness probe on a fresh, unpooled connection: HELLO and PING, then waits for HELLO_ACK and the matching
 * PONG, says GOODBYE and closes. Completes {@link #result} with the member that answered, or exceptionally with a
 * message saying what went wrong.
 *
 * <p>Threading: created on any thread; every callback runs on the channel's event loop.
 */
final class ProbeHandler extends ChannelInboundHandlerAdapter {
    final CompletableFuture<Member> result = new CompletableFuture<>();
    private final TransportContext context;
    private final InetSocketAddress address;
    private final Duration timeout;
    private final long nonce;
    private final ClusterSecret secret;
    private final SecureRandom random;
    private Frame hello;
    private ScheduledFuture<?> timer;
    private Member member;
    private String stage = "connecting";

    ProbeHandler(TransportContext context, InetSocketAddress address, Duration timeout, long nonce,
            SecureRandom random) {
        this.context = context;
        this.secret = context.secret().orElse(null);
        this.random = random;
        this.address = address;
        this.timeout = timeout;
        this.nonce = nonce;
    }

    /** Arms the overall timeout; called once the channel exists. */
    void arm(Channel channel) {
        timer = channel.eventLoop().schedule(() -> {
            fail("no answer from " + address + " within " + timeout.toMillis() + " ms (while " + stage + ")", null);
            channel.close();
        }, timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    void fail(String message, Throwable cause) {
        if (result.completeExceptionally(new FlotillaException("probe of " + address + " failed: " + message,
                cause))) {
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
        stage = "waiting for the handshake";
        hello = Handshake.hello(context.clusterName(), context.localMember(), true,
                secret == null ? null : Handshake.newNonce(random));
        write(ctx, hello);
        if (secret == null) {
            // Nothing to prove: the PING goes with the HELLO. With a secret it waits for the peer's proof.
            write(ctx, Frame.control(FrameType.PING, nonce));
        }
        ctx.flush();
    }

    private static void write(ChannelHandlerContext ctx, Frame f) {
        ByteBuf buf = ctx.alloc().ioBuffer(f.encodedLength());
        Connection.encode(f, buf);
        ctx.write(buf, ctx.voidPromise());
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
        Frame f = (Frame) msg;
        switch (f.type()) {
            case HELLO_ACK -> {
                try {
                    Handshake.HelloAck ack = Handshake.readHelloAck(f);
                    String problem = secret == null
                            ? ack.authenticated() ? "the peer proves a cluster secret but this node has none" : null
                            : !ack.authenticated() ? "the peer has no cluster secret and this node requires one"
                            : !Handshake.verifyServerProof(hello, f, secret)
                            ? "the peer does not prove the cluster secret (a different secret)" : null;
                    if (problem != null) {
                        fail(problem, null);
                        ctx.close();
                        return;
                    }
                    member = ack.member();
                    stage = "waiting for PONG from " + member.describe();
                    if (secret != null) {
                        write(ctx, Handshake.auth(hello, f, secret));
                        write(ctx, Frame.control(FrameType.PING, nonce));
                        ctx.flush();
                    }
                } catch (WireException e) {
                    fail("bad HELLO_ACK: " + e.getMessage(), e);
                    ctx.close();
                }
            }
            case REFUSE -> {
                fail("refused by the peer: " + Handshake.readRefuse(f), null);
                ctx.close();
            }
            case PONG -> {
                if (member == null || f.messageId() != nonce) {
                    fail("unexpected PONG " + f.messageId() + " (handshake done: " + (member != null) + ")", null);
                    ctx.close();
                    return;
                }
                if (result.complete(member)) {
                    cancelTimer();
                }
                Frame goodbye = Handshake.goodbye(false);
                ByteBuf buf = ctx.alloc().ioBuffer(goodbye.encodedLength());
                Connection.encode(goodbye, buf);
                ctx.writeAndFlush(buf).addListener(ChannelFutureListener.CLOSE);
            }
            default -> {
                // A probe ignores anything else (e.g. a PING from the peer): it only waits for its PONG.
            }
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        fail("I/O error: " + cause.getMessage(), cause);
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        fail("connection closed by " + address + " while " + stage, null);
        ctx.fireChannelInactive();
    }
}
