package io.flotilla.tomcat;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The {@code <Cluster>} block of Tomcat 10.1's cluster how-to, taken verbatim from {@code stock/cluster-howto-10.1.xml}
 * with the one change an operator makes ({@code className} to {@code FlotillaCluster}) and the rewrites that keep
 * every packet on this machine: the receiver on 127.0.0.1 at a free port, the multicast group a given one joined on
 * {@code lo} with TTL 0 at a free port.
 */
public final class HowToBlock {
    private HowToBlock() {
    }

    /** The block, ready to go into an {@code <Engine>}. */
    public static String swapped(String group, int multicastPort, int receiverPort) {
        String file;
        try (InputStream in = HowToBlock.class.getResourceAsStream("/stock/cluster-howto-10.1.xml")) {
            file = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String block = file.substring(file.indexOf("<Cluster "), file.indexOf("</Cluster>") + "</Cluster>".length());
        return replaceOnce(replaceOnce(replaceOnce(replaceOnce(replaceOnce(block,
                "org.apache.catalina.ha.tcp.SimpleTcpCluster", "io.flotilla.tomcat.FlotillaCluster"),
                "address=\"228.0.0.4\"", "address=\"" + group + "\" bind=\"lo\" ttl=\"0\""),
                "port=\"45564\"", "port=\"" + multicastPort + "\""),
                "address=\"auto\"", "address=\"127.0.0.1\""),
                "port=\"4000\"", "port=\"" + receiverPort + "\"");
    }

    private static String replaceOnce(String s, String what, String with) {
        int i = s.indexOf(what);
        if (i < 0 || s.indexOf(what, i + 1) >= 0) {
            throw new IllegalStateException("the how-to's block should hold " + what + " once");
        }
        return s.substring(0, i) + with + s.substring(i + what.length());
    }
}
