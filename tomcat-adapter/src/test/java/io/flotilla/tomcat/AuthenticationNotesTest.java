package io.flotilla.tomcat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jakarta.servlet.http.Cookie;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.catalina.authenticator.Constants;
import org.apache.catalina.authenticator.SavedRequest;
import org.apache.tomcat.util.buf.ByteChunk;
import org.junit.jupiter.api.Test;

class AuthenticationNotesTest {
    private static SavedRequest savedPost() {
        SavedRequest r = new SavedRequest();
        r.setMethod("POST");
        r.setRequestURI("/app/secure/a%20b");
        r.setDecodedRequestURI("/app/secure/a b");
        r.setQueryString("x=1&y=é");
        r.setContentType("application/x-www-form-urlencoded");
        r.setOriginalMaxInactiveInterval(1800);
        ByteChunk body = new ByteChunk();
        byte[] bytes = "item=42&qty=3".getBytes(StandardCharsets.UTF_8);
        byte[] padded = new byte[bytes.length + 3];
        System.arraycopy(bytes, 0, padded, 3, bytes.length);
        body.setBytes(padded, 3, bytes.length);
        r.setBody(body);
        Cookie c = new Cookie("pref", "dark");
        c.setAttribute("SameSite", "Lax");
        r.addCookie(c);
        r.addHeader("Accept", "text/html");
        r.addHeader("Accept", "text/plain");
        r.addHeader("X-Trace", "abc");
        r.addLocale(Locale.forLanguageTag("de-CH"));
        r.addLocale(Locale.ENGLISH);
        return r;
    }

    private static <T> List<T> list(Iterator<T> it) {
        List<T> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }

    @Test
    void theFourNotesOfTheAuthenticatorsSurviveTheRoundTrip() {
        Map<String, Object> notes = new HashMap<>();
        notes.put(Constants.FORM_REQUEST_NOTE, savedPost());
        notes.put(Constants.SESSION_ID_NOTE, "ABC.node1");
        notes.put(Constants.SESS_USERNAME_NOTE, "alice");
        notes.put(Constants.SESS_PASSWORD_NOTE, "secret");
        notes.put("org.apache.catalina.other", "stays local");

        Map<String, Object> back = AuthenticationNotes.decode(AuthenticationNotes.encode(notes::get));

        assertEquals(4, back.size(), back.keySet().toString());
        assertEquals("ABC.node1", back.get(Constants.SESSION_ID_NOTE));
        assertEquals("alice", back.get(Constants.SESS_USERNAME_NOTE));
        assertEquals("secret", back.get(Constants.SESS_PASSWORD_NOTE));
        SavedRequest r = (SavedRequest) back.get(Constants.FORM_REQUEST_NOTE);
        assertEquals("POST", r.getMethod());
        assertEquals("/app/secure/a%20b", r.getRequestURI());
        assertEquals("/app/secure/a b", r.getDecodedRequestURI());
        assertEquals("x=1&y=é", r.getQueryString());
        assertEquals("application/x-www-form-urlencoded", r.getContentType());
        assertEquals(1800, r.getOriginalMaxInactiveIntervalOptional());
        ByteChunk body = r.getBody();
        assertArrayEquals("item=42&qty=3".getBytes(StandardCharsets.UTF_8),
                Arrays.copyOfRange(body.getBytes(), body.getStart(), body.getEnd()));
        Cookie c = list(r.getCookies()).get(0);
        assertEquals("pref", c.getName());
        assertEquals("dark", c.getValue());
        assertEquals("Lax", c.getAttribute("SameSite"));
        assertEquals(List.of("text/html", "text/plain"), list(r.getHeaderValues("Accept")));
        assertEquals(List.of("abc"), list(r.getHeaderValues("X-Trace")));
        assertEquals(List.of(Locale.forLanguageTag("de-CH"), Locale.ENGLISH), list(r.getLocales()));
    }

    @Test
    void aSavedGetWithoutBodyOrOptionalFieldsKeepsThemAbsent() {
        SavedRequest get = new SavedRequest();
        get.setMethod("GET");
        get.setRequestURI("/app/secure/page");
        get.setDecodedRequestURI("/app/secure/page");
        SavedRequest r = (SavedRequest) AuthenticationNotes.decode(
                AuthenticationNotes.encode(Map.of(Constants.FORM_REQUEST_NOTE, get)::get)).get(Constants.FORM_REQUEST_NOTE);
        assertNull(r.getQueryString());
        assertNull(r.getBody());
        assertNull(r.getContentType());
        assertNull(r.getOriginalMaxInactiveIntervalOptional());
        assertTrue(list(r.getCookies()).isEmpty() && list(r.getHeaderNames()).isEmpty());
    }

    @Test
    void noReplicatedNoteMeansNoBytes() {
        assertNull(AuthenticationNotes.encode(Map.<String, Object>of("org.apache.catalina.other", "x")::get));
        assertTrue(AuthenticationNotes.decode(null).isEmpty());
    }

    @Test
    void anUnknownNoteOfALaterVersionIsSkipped() {
        byte[] id = "ABC.node1".getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(2 + 5 + 3 + 5 + id.length);
        b.put((byte) 1).put((byte) 2).put((byte) 99).putInt(3).put(new byte[] {1, 2, 3}).put((byte) 1).putInt(id.length)
                .put(id);
        assertEquals(Map.of(Constants.SESSION_ID_NOTE, "ABC.node1"), AuthenticationNotes.decode(b.array()));
    }

    @Test
    void truncatedOrOversizedInputIsRefusedWithoutAllocating() {
        byte[] whole = AuthenticationNotes.encode(Map.<String, Object>of(Constants.FORM_REQUEST_NOTE, savedPost())::get);
        for (int cut = 0; cut < whole.length; cut++) {
            byte[] part = Arrays.copyOf(whole, cut);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> AuthenticationNotes.decode(part), "cut at " + cut);
            assertTrue(e.getMessage().startsWith("authentication notes"), e.getMessage());
        }
        ByteBuffer huge = ByteBuffer.allocate(7).put((byte) 1).put((byte) 1).put((byte) 1).putInt(Integer.MAX_VALUE);
        assertThrows(IllegalArgumentException.class, () -> AuthenticationNotes.decode(huge.array()));
        assertThrows(IllegalArgumentException.class, () -> AuthenticationNotes.decode(new byte[] {7, 0}),
                "an unknown format version");
    }
}
