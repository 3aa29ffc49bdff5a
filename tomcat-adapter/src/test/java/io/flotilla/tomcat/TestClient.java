package io.flotilla.tomcat;

import java.net.CookieManager;
import java.net.HttpCookie;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/** One browser: HTTP/1.1, keeps its cookies, never follows redirects, every request bounded by a timeout. */
final class TestClient {
    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    private final CookieManager cookies = new CookieManager();
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).cookieHandler(cookies)
            .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(5)).build();

    static URI uri(EmbeddedNode node, String path) {
        return URI.create("http://127.0.0.1:" + node.httpPort() + "/app/" + path);
    }

    HttpResponse<String> get(EmbeddedNode node, String path) throws Exception {
        return send(HttpRequest.newBuilder(uri(node, path)).timeout(TIMEOUT).build());
    }

    /** A form post ({@code application/x-www-form-urlencoded}). */
    HttpResponse<String> post(EmbeddedNode node, String path, String form) throws Exception {
        return send(HttpRequest.newBuilder(uri(node, path)).timeout(TIMEOUT)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form)).build());
    }

    /** A GET whose answer the caller collects later (for requests that wait on the test). */
    CompletableFuture<HttpResponse<String>> getAsync(EmbeddedNode node, String path) {
        return http.sendAsync(HttpRequest.newBuilder(uri(node, path)).timeout(TIMEOUT).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> send(HttpRequest r) throws Exception {
        return http.send(r, HttpResponse.BodyHandlers.ofString());
    }

    /** The session cookie this client holds, or null. */
    String sessionId() {
        return cookies.getCookieStore().getCookies().stream().filter(c -> c.getName().equals("JSESSIONID"))
                .map(HttpCookie::getValue).findFirst().orElse(null);
    }
}
