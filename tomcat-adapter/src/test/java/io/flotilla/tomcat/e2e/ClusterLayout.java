package io.flotilla.tomcat.e2e;

import io.flotilla.testing.FreePorts;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The addresses of one test cluster, chosen at run time: per node an HTTP, a shutdown and a cluster receiver port on
 * 127.0.0.1, and for the cluster a multicast group and a free UDP port (used on the loopback interface only).
 *
 * <p>Threading: immutable.
 *
 * @param nodes each node's ports, in node order
 * @param multicastAddress an administratively scoped group, random per cluster so parallel runs do not meet
 * @param multicastPort a free UDP port
 */
public record ClusterLayout(List<NodePorts> nodes, String multicastAddress, int multicastPort) {

    /**
     * One node's TCP ports.
     *
     * @param http the HTTP connector
     * @param shutdown the {@code <Server>} shutdown port
     * @param receiver the cluster receiver
     */
    public record NodePorts(int http, int shutdown, int receiver) {
    }

    public ClusterLayout {
        nodes = List.copyOf(nodes);
    }

    /** Free ports for {@code n} nodes, all distinct. */
    public static ClusterLayout allocate(int n) {
        Set<Integer> taken = new HashSet<>();
        List<NodePorts> nodes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            nodes.add(new NodePorts(freeTcpPort(taken), freeTcpPort(taken), freeTcpPort(taken)));
        }
        ThreadLocalRandom random = ThreadLocalRandom.current();
        String group = "239.255." + random.nextInt(1, 255) + "." + random.nextInt(1, 255);
        return new ClusterLayout(nodes, group, freeUdpPort());
    }

    static int freeTcpPort(Set<Integer> taken) {
        return FreePorts.tcp(taken);
    }

    private static int freeUdpPort() {
        return FreePorts.udp();
    }
}
