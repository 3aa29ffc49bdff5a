package io.flotilla.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.List;

/**
 * A NIO channel whose socket a sending thread may write to itself ({@link WriteQueue} decides when): the frame a
 * caller waits for goes out without waking the event loop, one thread hand-off less per round trip (stock Tribes
 * writes from the calling thread too).
 *
 * <p>Why NIO and not Netty's epoll channel: a write from another thread must never reach a descriptor the event loop
 * closed meanwhile, whose number the process may have given to another socket. The JDK's {@link SocketChannel}
 * guarantees that (its close waits for a write in progress, and a write after it fails with
 * {@link ClosedChannelException}); Netty's epoll channels close their descriptor from several internal paths and
 * cannot be subclassed to wait.
 *
 * <p>Threading: {@link #writeDirect} and {@link #nothingPending} from any thread that holds the connection's
 * writing ({@link WriteQueue}); everything else is Netty's.
 */
final class DirectNioSocketChannel extends NioSocketChannel {
    private static final Logger LOG = System.getLogger(NettyTransport.class.getName());

    /** An outbound channel (the client bootstrap's factory). */
    DirectNioSocketChannel() {
        super();
    }

    private DirectNioSocketChannel(Channel parent, SocketChannel socket) {
        super(parent, socket);
    }

    /**
     * True when the channel is active and nothing it was given waits in Netty's outbound buffer: only then may bytes
     * be written around the buffer without reordering the stream.
     */
    boolean nothingPending() {
        ChannelOutboundBuffer b = unsafe().outboundBuffer();
        return b != null && b.totalPendingWriteBytes() == 0 && isActive();
    }

    /**
     * Writes what {@code buf} holds with one non-blocking write, advancing its reader index by what the kernel took
     * (possibly nothing: a full send buffer). False, having written nothing, when the channel is closed.
     *
     * @throws IOException the connection failed
     */
    boolean writeDirect(ByteBuf buf) throws IOException {
        try {
            // The buffer's own cached view (this thread is its only user): no allocation on the sending thread.
            buf.skipBytes(javaChannel().write(buf.internalNioBuffer(buf.readerIndex(), buf.readableBytes())));
            return true;
        } catch (ClosedChannelException e) {
            return false;
        }
    }

    /** The receiver's server channel: what it accepts are {@link DirectNioSocketChannel}s. */
    static final class Server extends NioServerSocketChannel {
        Server(ServerSocketChannel channel) {
            super(channel);
        }

        /**
         * As Netty's own: a socket that cannot become a channel is closed and logged, never thrown (a read error on
         * the server channel would close the receiver).
         */
        @Override
        protected int doReadMessages(List<Object> buf) throws Exception {
            SocketChannel ch = javaChannel().accept();
            if (ch == null) {
                return 0;
            }
            try {
                buf.add(new DirectNioSocketChannel(this, ch));
                return 1;
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "cannot make a channel of the accepted connection from "
                        + ch.socket().getRemoteSocketAddress() + "; closed it", e);
                ch.close();
                return 0;
            }
        }
    }
}
