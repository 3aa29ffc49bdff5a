package io.flotilla.tomcat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.servlet.http.Cookie;
import org.apache.catalina.authenticator.SavedRequest;
import org.apache.catalina.realm.GenericPrincipal;

/**
 * The Tomcat 9 version of tomcat-adapter's {@code CatalinaApi}: the same methods over Tomcat 9's signatures. It
 * replaces the rewritten copy of the Tomcat 10.1/11 version when this module is built (see docs/architecture.md,
 * "Tomcat 9"); it is the only source file of flotilla-tomcat9.
 *
 * <p>Threading: stateless, safe from any thread.
 */
final class CatalinaApi {
    private CatalinaApi() {
    }

    /** Tomcat 9 keeps an int whose default is -1: always present, so -1 travels and is set back as -1. */
    static Integer originalMaxInactiveInterval(SavedRequest r) {
        return r.getOriginalMaxInactiveInterval();
    }

    /**
     * Servlet 4 cookies have fields, not attributes: the set ones, under the names Servlet 6 gives them, so the
     * bytes are those a Tomcat 10.1 node writes for the same cookie.
     */
    static Map<String, String> cookieAttributes(Cookie c) {
        Map<String, String> out = new LinkedHashMap<>();
        putIfSet(out, "Comment", c.getComment());
        putIfSet(out, "Domain", c.getDomain());
        if (c.getMaxAge() != -1) {
            out.put("Max-Age", Integer.toString(c.getMaxAge()));
        }
        putIfSet(out, "Path", c.getPath());
        if (c.getSecure()) {
            out.put("Secure", "");
        }
        if (c.isHttpOnly()) {
            out.put("HttpOnly", "");
        }
        return out;
    }

    private static void putIfSet(Map<String, String> out, String name, String value) {
        if (value != null) {
            out.put(name, value);
        }
    }

    /** Sets the field of a Servlet 6 attribute name; one Servlet 4 has no field for (e.g. SameSite) is dropped. */
    static void setCookieAttribute(Cookie c, String name, String value) {
        switch (name.toLowerCase(Locale.ROOT)) {
            case "comment" -> c.setComment(value);
            case "domain" -> c.setDomain(value);
            case "max-age" -> c.setMaxAge(Integer.parseInt(value));
            case "path" -> c.setPath(value);
            case "secure" -> c.setSecure(value == null || value.isEmpty() || Boolean.parseBoolean(value));
            case "httponly" -> c.setHttpOnly(value == null || value.isEmpty() || Boolean.parseBoolean(value));
            default -> {
                // no such field in Servlet 4
            }
        }
    }

    /** Tomcat 9's constructor also takes a password; replicas never carry it. */
    static GenericPrincipal principal(String name, List<String> roles) {
        return new GenericPrincipal(name, null, roles);
    }
}
