package io.flotilla.membership;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

/**
 * An IP address written as text by a source of candidates (a DNS record, a pod's {@code podIP}), checked to be a
 * literal before the JDK parses it: {@link InetAddress#getByName} would look anything else up in DNS.
 *
 * <p>Threading: stateless.
 */
final class AddressLiteral {
    private static final Pattern V4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private static final Pattern V6 = Pattern.compile("[0-9A-Fa-f:.]{2,45}");

    private AddressLiteral() {
    }

    /** The address in the JDK's canonical form, or null when {@code text} is no IPv4 or IPv6 literal. */
    static String normalize(String text) {
        String t = text == null ? "" : text.trim();
        if (!V4.matcher(t).matches() && !(t.indexOf(':') >= 0 && V6.matcher(t).matches())) {
            return null;
        }
        try {
            return InetAddress.getByName(t).getHostAddress(); // a literal: parsed, never looked up
        } catch (UnknownHostException e) {
            return null; // "999.1.1.1", a malformed v6: no candidate
        }
    }
}
