package io.flotilla.membership;

import io.flotilla.ConfigurationException;
import io.flotilla.Member;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.util.Enumeration;

/**
 * The multicast socket: a JDK {@link DatagramChannel} (IPv4, SO_REUSEADDR, bound to the group's port, joined on one
 * interface, sending on it with the configured TTL).
 *
 * <p>Threading: {@link #send} from the membership loop and, for the leave datagrams, from the closing thread (the
 * channel lets one writer at a time in and makes a second wait); {@link #receive} from the one receiver thread;
 * {@link #close} from any thread unblocks the receiver.
 */
final class MulticastChannel implements HeartbeatEngine.DatagramSink, AutoCloseable {
    private final DatagramChannel channel;
    private final InetSocketAddress group;
    private final NetworkInterface networkInterface;

    private MulticastChannel(DatagramChannel channel, InetSocketAddress group, NetworkInterface networkInterface) {
        this.channel = channel;
        this.group = group;
        this.networkInterface = networkInterface;
    }

    static MulticastChannel open(MulticastMembershipConfig config, Member local) throws IOException {
        NetworkInterface nif = chooseInterface(config.bind(), local);
        DatagramChannel channel = DatagramChannel.open(StandardProtocolFamily.INET);
        try {
            channel.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            channel.bind(new InetSocketAddress(config.port()));
            channel.setOption(StandardSocketOptions.IP_MULTICAST_IF, nif);
            channel.setOption(StandardSocketOptions.IP_MULTICAST_TTL, config.ttl());
            channel.setOption(StandardSocketOptions.IP_MULTICAST_LOOP, !config.localLoopbackDisabled());
            channel.join(config.address(), nif);
            channel.configureBlocking(true);
            return new MulticastChannel(channel, new InetSocketAddress(config.address(), config.port()), nif);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** {@code bind} as an interface name or one of its addresses; empty: the interface of the member's host. */
    static NetworkInterface chooseInterface(String bind, Member local) throws SocketException {
        if (!bind.isEmpty()) {
            NetworkInterface byName = NetworkInterface.getByName(bind);
            if (byName != null) {
                return byName;
            }
            NetworkInterface byAddress = byAddress(bind);
            if (byAddress != null) {
                return byAddress;
            }
            throw ConfigurationException.invalid("bind", bind, "name a network interface of this host (e.g. eth0, "
                    + "lo) or one of its addresses");
        }
        NetworkInterface ofHost = byAddress(local.host());
        if (ofHost != null) {
            return ofHost;
        }
        Enumeration<NetworkInterface> all = NetworkInterface.getNetworkInterfaces();
        while (all != null && all.hasMoreElements()) {
            NetworkInterface nif = all.nextElement();
            if (nif.isUp() && nif.supportsMulticast() && !nif.isLoopback()) {
                return nif;
            }
        }
        throw ConfigurationException.invalid("bind", "", "no multicast-capable interface is up: set bind to an "
                + "interface name");
    }

    private static NetworkInterface byAddress(String host) throws SocketException {
        try {
            return NetworkInterface.getByInetAddress(InetAddress.getByName(host));
        } catch (UnknownHostException e) {
            return null; // not an address of this host: the caller tries the next rule
        }
    }

    NetworkInterface networkInterface() {
        return networkInterface;
    }

    @Override
    public void send(ByteBuffer datagram) throws IOException {
        channel.send(datagram, group);
    }

    /**
     * Blocks until a datagram arrives and reads it into {@code buffer} (cleared first, flipped after). Returns false
     * once the channel is closed.
     */
    boolean receive(ByteBuffer buffer) throws IOException {
        buffer.clear();
        try {
            channel.receive(buffer);
        } catch (ClosedChannelException e) {
            return false; // closed by close(), possibly while blocked (AsynchronousCloseException): the normal end
        }
        buffer.flip();
        return true;
    }

    boolean isOpen() {
        return channel.isOpen();
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
