package io.flotilla.membership;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.InputStream;
import java.net.Proxy;
import java.net.URI;
import java.net.URL;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.attribute.FileTime;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

/**
 * Lists the pods of a namespace that match a label selector from the Kubernetes API server
 * ({@code GET /api/v1/namespaces/{namespace}/pods?labelSelector=...}, a {@code PodList}). Every request reads the
 * service-account token again (kubelet rotates projected tokens; stock Tomcat read it once until 2025) and trusts
 * only the certificates of {@code caFile}, with the JDK's host name verification (never trust-all; the CA file is read
 * again when it changes). A pod is a candidate when it has an IP, is {@code Pending} or {@code Running}, and is not
 * being deleted: readiness is not required, since the probe decides (a starting pod must be found before its web
 * applications are ready: they wait for their state transfer). {@link HttpsURLConnection} rather than the JDK's
 * {@code HttpClient}: one blocking request at a time needs no client threads, which on JDK 17 cannot be stopped.
 * The answer is read with jackson-core's streaming parser, at most {@value #MAX_RESPONSE_BYTES} bytes.
 *
 * <p>Threading: one request at a time, from the membership's lookup thread.
 */
final class KubernetesPodSource implements AddressSource {
    static final int MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

    private final KubernetesMembershipConfig config;
    private final URL url;
    private static final JsonFactory JSON = new JsonFactory();
    private SSLSocketFactory sockets;
    private FileTime caModified;

    KubernetesPodSource(KubernetesMembershipConfig config) {
        this.config = config;
        String base = config.apiServer().toString().replaceAll("/+$", "");
        String query = config.labelSelector().isEmpty() ? ""
                : "?labelSelector=" + URLEncoder.encode(config.labelSelector(), StandardCharsets.UTF_8);
        try {
            this.url = URI.create(base + "/api/v1/namespaces/" + config.namespace() + "/pods" + query).toURL();
        } catch (IOException e) {
            throw new IllegalArgumentException("apiServer=" + config.apiServer() + " makes no URL", e);
        }
    }

    /** The request's URL, for the log. */
    String url() {
        return url.toString();
    }

    @Override
    public List<StaticAddress> addresses() throws IOException {
        String token = Files.readString(config.tokenFile(), StandardCharsets.UTF_8).trim();
        if (token.isEmpty()) {
            throw new IOException("the service-account token file " + config.tokenFile() + " is empty");
        }
        HttpsURLConnection c = (HttpsURLConnection) url.openConnection(Proxy.NO_PROXY); // the API server is in-cluster
        c.setSSLSocketFactory(sockets());
        int timeout = (int) config.requestTimeout().toMillis();
        c.setConnectTimeout(timeout);
        c.setReadTimeout(timeout);
        c.setInstanceFollowRedirects(false);
        c.setUseCaches(false);
        c.setRequestProperty("Accept", "application/json");
        c.setRequestProperty("Authorization", "Bearer " + token);
        try {
            int status = c.getResponseCode();
            if (status != 200) {
                throw new IOException("the API server answered " + status + " to GET " + url + (status == 401
                        ? ": the token was refused" : status == 403 ? ": the service account may not list pods in "
                        + config.namespace() + " (a Role with verbs get, list on pods, bound to it)" : "") + ": "
                        + errorText(c));
            }
            try (InputStream in = c.getInputStream()) {
                byte[] body = in.readNBytes(MAX_RESPONSE_BYTES + 1);
                if (body.length > MAX_RESPONSE_BYTES) {
                    throw new IOException("the pod list is larger than " + MAX_RESPONSE_BYTES + " bytes; narrow the "
                            + "label selector");
                }
                return candidates(body, config.port());
            }
        } finally {
            c.disconnect();
        }
    }

    private static String errorText(HttpsURLConnection c) {
        try (InputStream err = c.getErrorStream()) {
            if (err == null) {
                return "(no body)";
            }
            String text = new String(err.readNBytes(300), StandardCharsets.UTF_8).replaceAll("\\s+", " ");
            return text.isEmpty() ? "(no body)" : text;
        } catch (IOException e) {
            return "(body unreadable: " + e.getMessage() + ")";
        }
    }

    /** A socket factory trusting exactly the certificates of {@code caFile}, made again when the file changed. */
    private SSLSocketFactory sockets() throws IOException {
        FileTime modified = Files.getLastModifiedTime(config.caFile());
        if (sockets != null && modified.equals(caModified)) {
            return sockets;
        }
        try (InputStream in = Files.newInputStream(config.caFile())) {
            Collection<? extends Certificate> certificates = CertificateFactory.getInstance("X.509")
                    .generateCertificates(in);
            if (certificates.isEmpty()) {
                throw new IOException("caFile " + config.caFile() + " holds no PEM certificate");
            }
            KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
            trusted.load(null, null);
            int i = 0;
            for (Certificate certificate : certificates) {
                trusted.setCertificateEntry("ca-" + i++, certificate);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trusted);
            SSLContext tls = SSLContext.getInstance("TLS");
            tls.init(null, tmf.getTrustManagers(), null);
            sockets = tls.getSocketFactory();
            caModified = modified;
            return sockets;
        } catch (GeneralSecurityException e) {
            throw new IOException("caFile " + config.caFile() + " cannot be used: " + e.getMessage(), e);
        }
    }

    /**
     * The candidates of a {@code PodList} ({@code {"kind":"PodList","items":[{"metadata":{"deletionTimestamp":...},
     * "status":{"phase":"Running","podIP":"10.1.2.3"}}, ...]}}): every pod with an IP, {@code Pending} or
     * {@code Running}, not being deleted, on {@code port}. Unknown fields are skipped.
     */
    static List<StaticAddress> candidates(byte[] body, int port) throws IOException {
        List<StaticAddress> out = new ArrayList<>();
        try (JsonParser p = JSON.createParser(body)) {
            expect(p.nextToken(), JsonToken.START_OBJECT, "the answer");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if (field.equals("kind") && value == JsonToken.VALUE_STRING && !p.getText().equals("PodList")) {
                    throw new IOException("expected a PodList, got kind " + p.getText());
                } else if (field.equals("items") && value == JsonToken.START_ARRAY) {
                    while (p.nextToken() == JsonToken.START_OBJECT) {
                        String ip = pod(p);
                        if (ip != null) {
                            out.add(new StaticAddress(null, ip, port));
                        }
                    }
                } else {
                    p.skipChildren();
                }
            }
        } catch (JsonProcessingException e) {
            throw new IOException("the pod list is not valid JSON: " + e.getOriginalMessage(), e);
        }
        return out;
    }

    /** One pod object (the parser at its start); its IP when it is a candidate, else null. */
    private static String pod(JsonParser p) throws IOException {
        boolean deleting = false;
        String phase = null;
        String ip = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            if (value != JsonToken.START_OBJECT || !(field.equals("metadata") || field.equals("status"))) {
                p.skipChildren();
                continue;
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String inner = p.currentName();
                JsonToken v = p.nextToken();
                if (field.equals("metadata") && inner.equals("deletionTimestamp")) {
                    deleting = v != JsonToken.VALUE_NULL;
                } else if (field.equals("status") && inner.equals("phase") && v == JsonToken.VALUE_STRING) {
                    phase = p.getText();
                } else if (field.equals("status") && inner.equals("podIP") && v == JsonToken.VALUE_STRING) {
                    ip = p.getText().trim();
                }
                p.skipChildren();
            }
        }
        boolean candidate = !deleting && ip != null && ("Running".equals(phase) || "Pending".equals(phase));
        return candidate ? AddressLiteral.normalize(ip) : null;
    }

    private static void expect(JsonToken seen, JsonToken expected, String what) throws IOException {
        if (seen != expected) {
            throw new IOException("expected " + what + " to start with " + expected + ", got " + seen);
        }
    }
}
