package io.flotilla.tomcat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.Principal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.servlet.http.Cookie;
import org.apache.catalina.authenticator.Constants;
import org.apache.catalina.authenticator.SavedRequest;
import org.apache.catalina.realm.GenericPrincipal;
import org.junit.jupiter.api.Test;

/**
 * What the Tomcat 9 {@code CatalinaApi} does differently, through the shared code that uses it: a FORM login's saved
 * request and a principal survive replication on Tomcat 9 (AuthenticationNotesTest covers the rest of the format on
 * Tomcat 10.1).
 */
class CatalinaApiTomcat9Test {

    @Test
    void aSavedRequestsCookieFieldsAndUnsetMaxInactiveIntervalSurviveTheRoundTrip() {
        SavedRequest r = new SavedRequest();
        r.setMethod("POST");
        Cookie c = new Cookie("pref", "dark");
        c.setPath("/app");
        c.setDomain("example.org");
        c.setMaxAge(60);
        c.setHttpOnly(true);
        r.addCookie(c);
        r.addCookie(new Cookie("plain", "1"));

        SavedRequest back = (SavedRequest) AuthenticationNotes.decode(
                AuthenticationNotes.encode(Map.<String, Object>of(Constants.FORM_REQUEST_NOTE, r)::get))
                .get(Constants.FORM_REQUEST_NOTE);

        assertEquals("POST", back.getMethod());
        assertEquals(-1, back.getOriginalMaxInactiveInterval(), "Tomcat 9's default travels as itself");
        List<Cookie> cookies = new ArrayList<>();
        back.getCookies().forEachRemaining(cookies::add);
        Cookie pref = cookies.get(0);
        assertEquals("pref", pref.getName());
        assertEquals("dark", pref.getValue());
        assertEquals("/app", pref.getPath());
        assertEquals("example.org", pref.getDomain());
        assertEquals(60, pref.getMaxAge());
        assertTrue(pref.isHttpOnly());
        Cookie plain = cookies.get(1);
        assertNull(plain.getPath());
        assertEquals(-1, plain.getMaxAge());
        assertEquals(false, plain.isHttpOnly() || plain.getSecure());
    }

    @Test
    void servlet6AttributeNamesMapToServlet4FieldsAndTheRestIsDropped() {
        Cookie c = new Cookie("a", "b");
        CatalinaApi.setCookieAttribute(c, "Secure", "");
        CatalinaApi.setCookieAttribute(c, "Max-Age", "5");
        CatalinaApi.setCookieAttribute(c, "SameSite", "Lax");

        assertEquals(Map.of("Max-Age", "5", "Secure", ""), CatalinaApi.cookieAttributes(c));
    }

    @Test
    void aPrincipalKeepsItsNameAndRolesAndNoPassword() {
        Principal p = FlotillaSession.decodePrincipal(FlotillaSession.encodePrincipal(
                new GenericPrincipal("alice", "secret", List.of("admin", "user"))));

        GenericPrincipal gp = (GenericPrincipal) p;
        assertEquals("alice", gp.getName());
        assertArrayEquals(new String[] {"admin", "user"}, gp.getRoles());
        assertNull(gp.getPassword());
    }
}
