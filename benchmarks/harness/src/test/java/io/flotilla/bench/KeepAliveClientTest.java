package io.flotilla.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.bench.KeepAliveClient.Response;
import io.flotilla.bench.KeepAliveClient.ResponseReader;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The harness client's request bytes and response parsing, on byte streams (no sockets). */
class KeepAliveClientTest {
    /** What Tomcat 10.1 answers to the first request of a session (no reason phrase). */
    private static final String FIRST = "HTTP/1.1 200 \r\n"
            + "Set-Cookie: JSESSIONID=9A1F03B2C4D5E6F708192A3B4C5D6E7F.a; Path=/app; HttpOnly\r\n"
            + "Content-Type: text/plain;charset=ISO-8859-1\r\n"
            + "Content-Length: 1\r\n"
            + "Date: Tue, 25 Nov 2025 03:24:00 GMT\r\n"
            + "Keep-Alive: timeout=60\r\n"
            + "Connection: keep-alive\r\n"
            + "\r\n"
            + "1";
    private static final String NEXT = "HTTP/1.1 200 \r\nContent-Type: text/plain;charset=ISO-8859-1\r\n"
            + "Content-Length: 2\r\nDate: Tue, 25 Nov 2025 03:24:00 GMT\r\n\r\n17";

    private static ResponseReader reader(String bytes) {
        return new ResponseReader(new ByteArrayInputStream(bytes.getBytes(StandardCharsets.ISO_8859_1)));
    }

    @Test
    void readsStatusSessionCookieAndBodyOfTomcatsResponse() throws IOException {
        Response r = reader(FIRST).read();

        assertEquals(new Response(200, "9A1F03B2C4D5E6F708192A3B4C5D6E7F.a", false, "1"), r);
    }

    @Test
    void readsResponsesOneAfterTheOtherFromOneStreamKeepingBytesReadAhead() throws IOException {
        ResponseReader in = reader(FIRST + NEXT + "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
                + "Connection: close\r\n\r\n");

        assertEquals("1", in.read().body());
        assertEquals(new Response(200, null, false, "17"), in.read());
        assertEquals(new Response(500, null, true, ""), in.read());
    }

    @Test
    void readsAResponseThatArrivesOneByteAtATime() throws IOException {
        byte[] bytes = (NEXT + FIRST).getBytes(StandardCharsets.ISO_8859_1);
        InputStream trickle = new InputStream() {
            private int at;

            @Override
            public int read() {
                return at < bytes.length ? bytes[at++] & 0xff : -1;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (at >= bytes.length) {
                    return -1;
                }
                b[off] = bytes[at++];
                return 1;
            }
        };
        ResponseReader in = new ResponseReader(trickle);

        assertEquals(new Response(200, null, false, "17"), in.read());
        assertEquals("9A1F03B2C4D5E6F708192A3B4C5D6E7F.a", in.read().setSessionId());
    }

    @Test
    void acceptsBareLineFeedsAndAReasonPhrase() throws IOException {
        assertEquals(new Response(404, null, false, "no"),
                reader("HTTP/1.1 404 Not Found\nContent-Length: 2\n\nno").read());
    }

    @Test
    void takesTheSessionIdOnlyFromTheJsessionidCookie() {
        assertEquals("abc.b", ResponseReader.cookie("JSESSIONID=abc.b; Path=/app"));
        assertEquals("abc", ResponseReader.cookie("jsessionid=abc"));
        assertNull(ResponseReader.cookie("OTHER=1; Path=/"));
        assertNull(ResponseReader.cookie("JSESSIONIDX=1"));
    }

    @Test
    void refusesWhatItCannotReadWithAMessageThatSaysWhatItSaw() {
        assertEquals("response 200 without Content-Length",
                assertThrows(IOException.class, () -> reader("HTTP/1.1 200 \r\n\r\n1").read()).getMessage());
        assertTrue(assertThrows(IOException.class,
                () -> reader("HTTP/1.1 200 \r\nTransfer-Encoding: chunked\r\n\r\n1\r\n1\r\n0\r\n\r\n").read())
                .getMessage().startsWith("Transfer-Encoding chunked is not supported"));
        assertEquals("malformed status line 'HTTP/1.1 2x0 '",
                assertThrows(IOException.class, () -> reader("HTTP/1.1 2x0 \r\n\r\n").read()).getMessage());
        assertEquals("malformed status line 'SSH-2.0-OpenSSH'",
                assertThrows(IOException.class, () -> reader("SSH-2.0-OpenSSH\r\n").read()).getMessage());
        assertEquals("malformed header line 'no colon'",
                assertThrows(IOException.class, () -> reader("HTTP/1.1 200 \r\nno colon\r\n\r\n").read())
                        .getMessage());
        assertEquals("Content-Length 99999999 outside 0..65536", assertThrows(IOException.class,
                () -> reader("HTTP/1.1 200 \r\nContent-Length: 99999999\r\n\r\n").read()).getMessage());
    }

    @Test
    void tellsAConnectionClosedBetweenResponsesFromOneClosedInsideAResponse() {
        assertEquals("connection closed before a response",
                assertThrows(EOFException.class, () -> reader("").read()).getMessage());
        assertEquals("connection closed inside a response header: 'Content-Len'", assertThrows(EOFException.class,
                () -> reader("HTTP/1.1 200 \r\nContent-Len").read()).getMessage());
        assertEquals("connection closed after 1 of 2 body bytes", assertThrows(EOFException.class,
                () -> reader("HTTP/1.1 200 \r\nContent-Length: 2\r\n\r\n1").read()).getMessage());
    }

    @Test
    void writesAGetWithTheSessionCookieOnceTheSessionExists() {
        assertEquals("GET /app/set HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
                new String(KeepAliveClient.request("127.0.0.1", 8080, "/app/set", null), StandardCharsets.ISO_8859_1));
        assertEquals("GET /app/set HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nCookie: JSESSIONID=abc.a\r\n\r\n",
                new String(KeepAliveClient.request("127.0.0.1", 8080, "/app/set", "abc.a"),
                        StandardCharsets.ISO_8859_1));
    }
}
