package io.flotilla.membership;

import io.flotilla.ConfigurationException;
import io.flotilla.MemberId;
import java.net.InetSocketAddress;

/**
 * One configured static member: {@code host:port}, or {@code memberIdHex@host:port} to accept only that incarnation.
 * IPv6 literals go in brackets: {@code [::1]:4000}.
 *
 * @param id the expected member id, or null for any
 */
record StaticAddress(MemberId id, String host, int port) {

    static StaticAddress parse(String text) {
        String s = text == null ? "" : text.trim();
        MemberId id = null;
        int at = s.indexOf('@');
        if (at >= 0) {
            try {
                id = MemberId.parse(s.substring(0, at));
            } catch (IllegalArgumentException e) {
                throw ConfigurationException.invalid("members", text, "the part before '@' must be a 32-hex-digit "
                        + "member id");
            }
            s = s.substring(at + 1);
        }
        int colon = s.lastIndexOf(':');
        if (colon <= 0 || colon == s.length() - 1) {
            throw ConfigurationException.invalid("members", text, "use host:port or memberIdHex@host:port");
        }
        String host = s.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(s.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw ConfigurationException.invalid("members", text, "the port must be a number 1-65535");
        }
        if (port < 1 || port > 65535 || host.isEmpty() || host.length() > 255) {
            throw ConfigurationException.invalid("members", text, "use host:port with a port 1-65535");
        }
        return new StaticAddress(id, host, port);
    }

    InetSocketAddress address() {
        return InetSocketAddress.createUnresolved(host, port);
    }

    @Override
    public String toString() {
        return (id == null ? "" : id + "@") + host + ":" + port;
    }
}
