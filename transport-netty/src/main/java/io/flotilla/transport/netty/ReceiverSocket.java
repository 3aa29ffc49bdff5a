package io.flotilla.transport.netty;

import io.flotilla.FlotillaException;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.unix.Socket;
import io.netty.util.NetUtil;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.StandardSocketOptions;
import java.net.UnknownHostException;
import java.nio.channels.ServerSocketChannel;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;

/**
 * The receiver's listening socket: bound before the node starts, on the first free port of
 * {@code port..port+autoBind} (so the local member can name it), and handed to Netty as its server channel at start;
 * connections wait in the kernel's backlog meanwhile. Epoll's native socket where available, NIO otherwise.
 *
 * <p>Threading: used under the {@link NettyTransport}'s lifecycle lock only.
 */
final class ReceiverSocket {
    private static final Logger LOG = System.getLogger(NettyTransport.class.getName());

    private final InetSocketAddress address;
    private ServerSocketChannel nio;
    private Socket nativeSocket;

    private ReceiverSocket(InetSocketAddress address, ServerSocketChannel nio, Socket nativeSocket) {
        this.address = address;
        this.nio = nio;
        this.nativeSocket = nativeSocket;
    }

    /**
     * Binds {@code config}'s address on the first free port of its range.
     *
     * @throws FlotillaException when no port in the range could be bound
     */
    static ReceiverSocket bind(NettyTransportConfig config, boolean epoll) {
        InetAddress host = resolveBindAddress(config.address());
        int first = config.port();
        int last = first == 0 ? 0 : Math.min(65535, first + config.autoBind());
        IOException lastError = null;
        for (int port = first; port <= last; port++) {
            try {
                ReceiverSocket s = epoll ? bindNative(host, port) : bindNio(host, port);
                LOG.log(Level.INFO, "receiver bound to {0}:{1,number,#} ({2})", host.getHostAddress(),
                        s.address.getPort(), epoll ? "epoll" : "nio");
                return s;
            } catch (IOException e) {
                lastError = e;
            }
        }
        throw new FlotillaException("cannot bind the receiver to " + host.getHostAddress() + " on any port in "
                + first + "-" + last + " (port=" + config.port() + ", autoBind=" + config.autoBind() + "): "
                + (lastError == null ? "no port tried" : lastError.getMessage())
                + "; free a port or raise autoBind", lastError);
    }

    private static ReceiverSocket bindNio(InetAddress host, int port) throws IOException {
        ServerSocketChannel ch = ServerSocketChannel.open();
        try {
            ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            ch.bind(new InetSocketAddress(host, port), NetUtil.SOMAXCONN);
            return new ReceiverSocket(new InetSocketAddress(host, ((InetSocketAddress) ch.getLocalAddress()).getPort()),
                    ch, null);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private static ReceiverSocket bindNative(InetAddress host, int port) throws IOException {
        Socket s = Socket.newSocketStream();
        try {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(host, port));
            s.listen(NetUtil.SOMAXCONN);
            return new ReceiverSocket(new InetSocketAddress(host, s.localAddress().getPort()), null, s);
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    static InetAddress resolveBindAddress(String address) {
        if (!NettyTransportConfig.AUTO.equalsIgnoreCase(address)) {
            try {
                return InetAddress.getByName(address);
            } catch (UnknownHostException e) {
                throw new FlotillaException("cannot resolve the receiver address \"" + address
                        + "\": use an IP address of this host, a resolvable name, or \"auto\"", e);
            }
        }
        try {
            Enumeration<NetworkInterface> nics = NetworkInterface.getNetworkInterfaces();
            for (NetworkInterface nic : nics == null ? List.<NetworkInterface>of() : Collections.list(nics)) {
                if (!nic.isUp() || nic.isLoopback()) {
                    continue;
                }
                for (InetAddress a : Collections.list(nic.getInetAddresses())) {
                    if (a instanceof Inet4Address && !a.isLoopbackAddress()) {
                        return a;
                    }
                }
            }
        } catch (SocketException e) {
            LOG.log(Level.WARNING, "cannot list network interfaces for address=auto; using 127.0.0.1", e);
        }
        return InetAddress.getLoopbackAddress();
    }

    InetSocketAddress address() {
        return address;
    }

    /** The socket as Netty's server channel, which owns it from then on. Once. */
    ServerChannel takeChannel() {
        ServerChannel c = nativeSocket != null ? new EpollServerSocketChannel(nativeSocket.intValue())
                : new DirectNioSocketChannel.Server(nio);
        nio = null;
        nativeSocket = null;
        return c;
    }

    /** Closes the socket unless Netty took it; what fails is added to {@code problems}. */
    void close(List<String> problems) {
        try {
            if (nio != null) {
                nio.close();
            }
            if (nativeSocket != null) {
                nativeSocket.close();
            }
        } catch (IOException e) {
            problems.add("listening socket: " + e.getMessage());
        }
        nio = null;
        nativeSocket = null;
    }
}
