package io.flotilla.tomcat;

import jakarta.servlet.http.Cookie;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.apache.catalina.authenticator.Constants;
import org.apache.catalina.authenticator.SavedRequest;
import org.apache.tomcat.util.buf.ByteChunk;

/**
 * The session notes Tomcat's authenticators keep between requests, as bytes for the session's metadata: the ones
 * stock {@code DeltaSession} replicates, so a FORM login started on one node can finish on another.
 *
 * <ul>
 *   <li>{@link Constants#FORM_REQUEST_NOTE}: the request saved before the login form ({@link SavedRequest}), which
 *       the user is sent back to after {@code j_security_check};
 *   <li>{@link Constants#SESSION_ID_NOTE}: the session id the login form was shown under (FORM checks it at
 *       {@code j_security_check});
 *   <li>{@link Constants#SESS_USERNAME_NOTE} and {@link Constants#SESS_PASSWORD_NOTE}: only set by an authenticator
 *       with {@code cache="false"}, to authenticate every request again (stock replicates them too).
 * </ul>
 *
 * <p>The saved request is a Tomcat type, so it is written field by field (method, URIs, query string, content
 * type, body, cookies, headers, locales, original max inactive interval) and rebuilt with its public setters: no
 * Java serialization, and nothing but these four notes is read. Format: version byte 1, a count, then per note a
 * tag byte, a length and the payload (an unknown tag is skipped, so a later version can add notes). Every length is
 * checked against the bytes left before anything is allocated.
 *
 * <p>Threading: stateless, safe from any thread.
 */
final class AuthenticationNotes {
    /** The notes that replicate, in tag order (tag = index + 1). */
    static final List<String> NAMES = List.of(Constants.SESSION_ID_NOTE, Constants.FORM_REQUEST_NOTE,
            Constants.SESS_USERNAME_NOTE, Constants.SESS_PASSWORD_NOTE);
    private static final byte VERSION = 1;
    private static final int FORM_REQUEST = 2;

    private AuthenticationNotes() {
    }

    static boolean replicates(String name) {
        return NAMES.contains(name);
    }

    /**
     * The replicated notes among {@code notes}, or null when there are none.
     *
     * @param notes the session's notes by name (absent ones map to null)
     */
    static byte[] encode(Function<String, Object> notes) {
        Map<Integer, byte[]> entries = new LinkedHashMap<>();
        for (int i = 0; i < NAMES.size(); i++) {
            Object v = notes.apply(NAMES.get(i));
            int tag = i + 1;
            if (v instanceof String s && tag != FORM_REQUEST) {
                entries.put(tag, s.getBytes(StandardCharsets.UTF_8));
            } else if (v instanceof SavedRequest r && tag == FORM_REQUEST) {
                entries.put(tag, savedRequest(r));
            }
        }
        if (entries.isEmpty()) {
            return null;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(VERSION);
            out.writeByte(entries.size());
            for (Map.Entry<Integer, byte[]> e : entries.entrySet()) {
                out.writeByte(e.getKey());
                out.writeInt(e.getValue().length);
                out.write(e.getValue());
            }
        } catch (IOException e) {
            throw new IllegalStateException("in-memory stream", e);
        }
        return bytes.toByteArray();
    }

    /**
     * The notes in {@code bytes} by name.
     *
     * @throws IllegalArgumentException when the bytes are not in this format (the message says what is wrong)
     */
    static Map<String, Object> decode(byte[] bytes) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (bytes == null) {
            return out;
        }
        ByteBuffer in = ByteBuffer.wrap(bytes);
        try {
            byte version = in.get();
            if (version != VERSION) {
                throw new IllegalArgumentException("authentication notes of version " + version + "; this node reads "
                        + VERSION);
            }
            int n = in.get() & 0xFF;
            for (int i = 0; i < n; i++) {
                int tag = in.get() & 0xFF;
                ByteBuffer payload = slice(in, in.getInt());
                if (tag < 1 || tag > NAMES.size()) {
                    continue; // a note a later version added: not known here
                }
                out.put(NAMES.get(tag - 1), tag == FORM_REQUEST ? savedRequest(payload)
                        : StandardCharsets.UTF_8.decode(payload).toString());
            }
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("authentication notes truncated", e);
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------ SavedRequest

    private static byte[] savedRequest(SavedRequest r) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            string(out, r.getMethod());
            string(out, r.getRequestURI());
            string(out, r.getDecodedRequestURI());
            string(out, r.getQueryString());
            string(out, r.getContentType());
            Integer max = CatalinaApi.originalMaxInactiveInterval(r);
            out.writeBoolean(max != null);
            if (max != null) {
                out.writeInt(max);
            }
            ByteChunk body = r.getBody();
            if (body == null || body.getBytes() == null) {
                out.writeInt(-1);
            } else {
                out.writeInt(body.getLength());
                out.write(body.getBytes(), body.getStart(), body.getLength());
            }
            List<Cookie> cookies = list(r.getCookies());
            out.writeInt(cookies.size());
            for (Cookie c : cookies) {
                string(out, c.getName());
                string(out, c.getValue());
                Map<String, String> attributes = CatalinaApi.cookieAttributes(c);
                out.writeInt(attributes.size());
                for (Map.Entry<String, String> a : attributes.entrySet()) {
                    string(out, a.getKey());
                    string(out, a.getValue());
                }
            }
            List<String> names = list(r.getHeaderNames());
            out.writeInt(names.size());
            for (String name : names) {
                string(out, name);
                List<String> values = list(r.getHeaderValues(name));
                out.writeInt(values.size());
                for (String v : values) {
                    string(out, v);
                }
            }
            List<Locale> locales = list(r.getLocales());
            out.writeInt(locales.size());
            for (Locale l : locales) {
                string(out, l.toLanguageTag());
            }
        } catch (IOException e) {
            throw new IllegalStateException("in-memory stream", e);
        }
        return bytes.toByteArray();
    }

    private static SavedRequest savedRequest(ByteBuffer in) {
        SavedRequest r = new SavedRequest();
        r.setMethod(string(in));
        r.setRequestURI(string(in));
        r.setDecodedRequestURI(string(in));
        r.setQueryString(string(in));
        r.setContentType(string(in));
        if (in.get() != 0) {
            r.setOriginalMaxInactiveInterval(in.getInt());
        }
        int bodyLength = in.getInt();
        if (bodyLength >= 0) {
            ByteBuffer b = slice(in, bodyLength);
            byte[] body = new byte[bodyLength];
            b.get(body);
            ByteChunk chunk = new ByteChunk();
            chunk.setBytes(body, 0, bodyLength);
            r.setBody(chunk);
        }
        int cookies = count(in, 8);
        for (int i = 0; i < cookies; i++) {
            Cookie c = new Cookie(string(in), string(in));
            int attributes = count(in, 8);
            for (int j = 0; j < attributes; j++) {
                CatalinaApi.setCookieAttribute(c, string(in), string(in));
            }
            r.addCookie(c);
        }
        int headers = count(in, 8);
        for (int i = 0; i < headers; i++) {
            String name = string(in);
            int values = count(in, 4);
            for (int j = 0; j < values; j++) {
                r.addHeader(name, string(in));
            }
        }
        int locales = count(in, 4);
        for (int i = 0; i < locales; i++) {
            r.addLocale(Locale.forLanguageTag(string(in)));
        }
        return r;
    }

    private static <T> List<T> list(Iterator<T> it) {
        List<T> out = new ArrayList<>();
        while (it.hasNext()) {
            out.add(it.next());
        }
        return out;
    }

    /** A nullable string: length (-1 for null) and UTF-8 bytes. */
    private static void string(DataOutputStream out, String s) throws IOException {
        if (s == null) {
            out.writeInt(-1);
            return;
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    private static String string(ByteBuffer in) {
        int n = in.getInt();
        return n == -1 ? null : StandardCharsets.UTF_8.decode(slice(in, n)).toString();
    }

    /** The next {@code n} bytes as a buffer of their own; refuses a length beyond what is left. */
    private static ByteBuffer slice(ByteBuffer in, int n) {
        if (n < 0 || n > in.remaining()) {
            throw new IllegalArgumentException("authentication notes: a length of " + n + " with " + in.remaining()
                    + " bytes left");
        }
        ByteBuffer s = in.slice();
        s.limit(n);
        in.position(in.position() + n);
        return s;
    }

    /** A count of items of at least {@code minBytes} each; refuses one the bytes left cannot hold. */
    private static int count(ByteBuffer in, int minBytes) {
        int n = in.getInt();
        if (n < 0 || (long) n * minBytes > in.remaining()) {
            throw new IllegalArgumentException("authentication notes: a count of " + n + " with " + in.remaining()
                    + " bytes left");
        }
        return n;
    }
}
