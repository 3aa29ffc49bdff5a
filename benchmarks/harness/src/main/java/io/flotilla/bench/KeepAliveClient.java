package io.flotilla.bench;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A minimal HTTP/1.1 client on one persistent (keep-alive) socket to 127.0.0.1: it writes a {@code GET} with an
 * optional {@code JSESSIONID} cookie and reads one response: the status line, the headers it needs
 * ({@code Content-Length}, {@code Set-Cookie: JSESSIONID=...}, {@code Connection: close}) and the body. It is
 * the load generator of {@link HttpHarness}, cheap enough (one write and usually one read system call per request, a
 * few small objects) not to be the bottleneck on the two cores it shares with the Tomcats it measures.
 *
 * <p>What it refuses, as an {@link IOException} that says what was seen: a response without {@code Content-Length}
 * (chunked bodies are not needed here), a malformed status line or header, a header section over
 * {@link #MAX_HEADER_BYTES}, a body over {@link #MAX_BODY_BYTES}, and the end of the stream inside a response. When a
 * response says {@code Connection: close}, the next request opens a new socket.
 *
 * <p>Threading: not thread-safe; one instance per client thread.
 */
public final class KeepAliveClient implements AutoCloseable {
    /** The longest header section accepted. */
    static final int MAX_HEADER_BYTES = 16 * 1024;
    /** The longest body accepted: the servlet answers a decimal counter. */
    static final int MAX_BODY_BYTES = 64 * 1024;
    static final String COOKIE = "JSESSIONID";

    /** One response: its status, the session id of a {@code Set-Cookie: JSESSIONID}, or null, and its body. */
    public record Response(int status, String setSessionId, boolean close, String body) {
    }

    private final String host;
    private final int port;
    private final int readTimeoutMillis;
    private Socket socket;
    private OutputStream out;
    private ResponseReader in;
    private long connects;

    /** A client of {@code host:port} (connected at the first request); a read waits at most {@code readTimeoutMillis}. */
    public KeepAliveClient(String host, int port, int readTimeoutMillis) {
        this.host = host;
        this.port = port;
        this.readTimeoutMillis = readTimeoutMillis;
    }

    /** The bytes of {@code GET path} to {@code host:port}, with the session cookie when {@code sessionId} is set. */
    public static byte[] request(String host, int port, String path, String sessionId) {
        StringBuilder b = new StringBuilder(128).append("GET ").append(path).append(" HTTP/1.1\r\nHost: ")
                .append(host).append(':').append(port).append("\r\n");
        if (sessionId != null) {
            b.append("Cookie: ").append(COOKIE).append('=').append(sessionId).append("\r\n");
        }
        return b.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Sends {@code request} (from {@link #request}) and reads its response. */
    public Response exchange(byte[] request) throws IOException {
        if (socket == null) {
            connect();
        }
        out.write(request);
        out.flush();
        Response r = in.read();
        if (r.close()) {
            close();
        }
        return r;
    }

    /** How many sockets this client opened. */
    public long connects() {
        return connects;
    }

    private void connect() throws IOException {
        Socket s = new Socket();
        try {
            s.setTcpNoDelay(true);
            s.setSoTimeout(readTimeoutMillis);
            s.connect(new InetSocketAddress(host, port), readTimeoutMillis);
            out = s.getOutputStream();
            in = new ResponseReader(s.getInputStream());
            socket = s;
            connects++;
        } catch (IOException e) {
            s.close();
            throw e;
        }
    }

    @Override
    public void close() throws IOException {
        Socket s = socket;
        socket = null;
        out = null;
        in = null;
        if (s != null) {
            s.close();
        }
    }

    /**
     * Reads HTTP/1.1 responses, one after the other, from a stream with its own buffer (so bytes of the next response
     * read with this one are kept).
     *
     * <p>Threading: not thread-safe.
     */
    static final class ResponseReader {
        private final InputStream in;
        private final byte[] buf = new byte[8192];
        private int pos;
        private int limit;

        ResponseReader(InputStream in) {
            this.in = in;
        }

        /** Reads one whole response. */
        Response read() throws IOException {
            int headerBytes = 0;
            String statusLine = line(true);
            headerBytes += statusLine.length() + 2;
            int status = status(statusLine);
            int contentLength = -1;
            String sessionId = null;
            boolean close = false;
            for (String h = line(false); !h.isEmpty(); h = line(false)) {
                headerBytes += h.length() + 2;
                if (headerBytes > MAX_HEADER_BYTES) {
                    throw new IOException("response headers longer than " + MAX_HEADER_BYTES + " bytes");
                }
                int colon = h.indexOf(':');
                if (colon <= 0) {
                    throw new IOException("malformed header line '" + h + "'");
                }
                String name = h.substring(0, colon).trim();
                String value = h.substring(colon + 1).trim();
                if (name.equalsIgnoreCase("Content-Length")) {
                    try {
                        contentLength = Integer.parseInt(value);
                    } catch (NumberFormatException e) {
                        throw new IOException("malformed Content-Length '" + value + "'", e);
                    }
                    if (contentLength < 0 || contentLength > MAX_BODY_BYTES) {
                        throw new IOException("Content-Length " + contentLength + " outside 0.." + MAX_BODY_BYTES);
                    }
                } else if (name.equalsIgnoreCase("Set-Cookie")) {
                    String id = cookie(value);
                    if (id != null) {
                        sessionId = id;
                    }
                } else if (name.equalsIgnoreCase("Connection")) {
                    close |= value.equalsIgnoreCase("close");
                } else if (name.equalsIgnoreCase("Transfer-Encoding")) {
                    throw new IOException("Transfer-Encoding " + value + " is not supported (expected Content-Length)");
                }
            }
            if (contentLength < 0) {
                throw new IOException("response " + status + " without Content-Length");
            }
            return new Response(status, sessionId, close, body(contentLength));
        }

        /** The value of {@code JSESSIONID=value; ...}, or null for another cookie. */
        static String cookie(String setCookie) {
            if (!setCookie.regionMatches(true, 0, COOKIE + "=", 0, COOKIE.length() + 1)) {
                return null;
            }
            int end = setCookie.indexOf(';');
            return setCookie.substring(COOKIE.length() + 1, end < 0 ? setCookie.length() : end).trim();
        }

        private static int status(String line) throws IOException {
            // "HTTP/1.1 200 " or "HTTP/1.1 200 OK": Tomcat leaves the reason phrase out.
            if (!line.startsWith("HTTP/1.") || line.length() < 12 || line.charAt(8) != ' '
                    || (line.length() > 12 && line.charAt(12) != ' ')) {
                throw new IOException("malformed status line '" + line + "'");
            }
            int code = 0;
            for (int i = 9; i < 12; i++) {
                char c = line.charAt(i);
                if (c < '0' || c > '9') {
                    throw new IOException("malformed status line '" + line + "'");
                }
                code = code * 10 + (c - '0');
            }
            return code;
        }

        /** A line without its CRLF (a bare LF is accepted); {@code first}: the end of stream here is a clean EOF. */
        private String line(boolean first) throws IOException {
            StringBuilder b = null;
            while (true) {
                for (int i = pos; i < limit; i++) {
                    if (buf[i] == '\n') {
                        int end = i > pos && buf[i - 1] == '\r' ? i - 1 : i;
                        String part = new String(buf, pos, end - pos, StandardCharsets.ISO_8859_1);
                        pos = i + 1;
                        if (b == null) {
                            return part;
                        }
                        b.append(part);
                        int n = b.length();
                        return n > 0 && b.charAt(n - 1) == '\r' ? b.substring(0, n - 1) : b.toString();
                    }
                }
                if (b == null) {
                    b = new StringBuilder();
                }
                b.append(new String(buf, pos, limit - pos, StandardCharsets.ISO_8859_1));
                pos = limit;
                if (b.length() > MAX_HEADER_BYTES) {
                    throw new IOException("response line longer than " + MAX_HEADER_BYTES + " bytes");
                }
                if (!fill()) {
                    throw new EOFException(first && b.isEmpty() ? "connection closed before a response"
                            : "connection closed inside a response header: '" + b + "'");
                }
            }
        }

        private String body(int length) throws IOException {
            byte[] body = new byte[length];
            int done = 0;
            while (done < length) {
                if (pos == limit && !fill()) {
                    throw new EOFException("connection closed after " + done + " of " + length + " body bytes");
                }
                int n = Math.min(length - done, limit - pos);
                System.arraycopy(buf, pos, body, done, n);
                pos += n;
                done += n;
            }
            return new String(body, StandardCharsets.ISO_8859_1);
        }

        /** Reads more bytes into the buffer (empty at this point); false at the end of the stream. */
        private boolean fill() throws IOException {
            pos = 0;
            limit = 0;
            int n = in.read(buf, 0, buf.length);
            if (n < 0) {
                return false;
            }
            limit = n;
            return true;
        }
    }
}
