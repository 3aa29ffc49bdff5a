package io.flotilla.tomcat;

import jakarta.servlet.http.Cookie;
import java.util.List;
import java.util.Map;
import org.apache.catalina.authenticator.SavedRequest;
import org.apache.catalina.realm.GenericPrincipal;

/**
 * The few Catalina and Servlet calls whose signatures differ between Tomcat 9 and Tomcat 10.1/11, in one place. This
 * is the Tomcat 10.1/11 version; {@code tomcat-adapter/tomcat9/src/main/java/io/flotilla/tomcat/CatalinaApi.java} is
 * the Tomcat 9 version, which replaces this file when {@code flotilla-tomcat9} is built from this module's sources
 * (see docs/architecture.md, "Tomcat 9"). Both have the same methods; a difference found later goes here too.
 *
 * <p>Threading: stateless, safe from any thread.
 */
final class CatalinaApi {
    private CatalinaApi() {
    }

    /** The saved request's original max inactive interval, or null when it was never set. */
    static Integer originalMaxInactiveInterval(SavedRequest r) {
        return r.getOriginalMaxInactiveIntervalOptional();
    }

    /** A cookie's attributes (Servlet 6: {@code Domain}, {@code Path}, {@code Max-Age}, ... by name). */
    static Map<String, String> cookieAttributes(Cookie c) {
        return c.getAttributes();
    }

    /** Sets attribute {@code name} of a cookie, as {@link #cookieAttributes} returned it. */
    static void setCookieAttribute(Cookie c, String name, String value) {
        c.setAttribute(name, value);
    }

    /** A principal with a name and roles, as Tomcat's realms make it (no password is kept). */
    static GenericPrincipal principal(String name, List<String> roles) {
        return new GenericPrincipal(name, roles);
    }
}
