package io.flotilla.membership;

import io.flotilla.ConfigurationException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The settings of {@link KubernetesMembership}: the members are the pods of a namespace that match a label selector,
 * listed by the Kubernetes API server, each on {@code port}.
 *
 * <p>Threading: immutable, safe to share.
 *
 * @param apiServer the API server's base URL, {@code https://host[:port]} only (inside a pod:
 *     {@code https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT}, see {@link Builder#inCluster})
 * @param namespace the pods' namespace
 * @param labelSelector a label selector such as {@code app=shop}; empty for every pod of the namespace
 * @param port the members' receiver port, 1-65535
 * @param tokenFile the service-account token, read again before every request (kubelet rotates it); default
 *     {@code /var/run/secrets/kubernetes.io/serviceaccount/token}
 * @param caFile the PEM certificates that sign the API server's certificate, the only ones trusted (read again when
 *     the file changes); default {@code /var/run/secrets/kubernetes.io/serviceaccount/ca.crt}
 * @param resolveInterval time between two pod lists (default 10 x {@code frequency}: 5 s), 100 ms - 10 min
 * @param requestTimeout how long connecting to the API server, and reading its answer, may each take (default 5 s),
 *     10 ms - 1 min
 * @param frequency time between two probes of each member (default 500 ms, as {@link StaticMembershipConfig})
 * @param dropTime how long the probes of a member may fail before it is removed (default 3000 ms)
 * @param connectTimeout how long one probe may take (default 1500 ms)
 * @param probeAttempts failed probes in a row before a member is removed, 1-10 (default 3)
 */
public record KubernetesMembershipConfig(URI apiServer, String namespace, String labelSelector, int port,
        Path tokenFile, Path caFile, Duration resolveInterval, Duration requestTimeout, Duration frequency,
        Duration dropTime, Duration connectTimeout, int probeAttempts) {

    /** Where Kubernetes mounts a pod's service-account files. */
    public static final Path SERVICE_ACCOUNT = Path.of("/var/run/secrets/kubernetes.io/serviceaccount");

    public KubernetesMembershipConfig {
        Objects.requireNonNull(tokenFile, "tokenFile");
        Objects.requireNonNull(caFile, "caFile");
        Objects.requireNonNull(requestTimeout, "requestTimeout");
        namespace = namespace == null ? "" : namespace.trim();
        labelSelector = labelSelector == null ? "" : labelSelector.trim();
        if (apiServer == null || !"https".equals(apiServer.getScheme()) || apiServer.getHost() == null
                || apiServer.getRawQuery() != null) {
            throw ConfigurationException.invalid("apiServer", apiServer, "https://host[:port] of the Kubernetes API "
                    + "server (inside a pod: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT); plain http "
                    + "is never used");
        }
        if (!namespace.matches("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")) {
            throw ConfigurationException.invalid("namespace", namespace, "a Kubernetes namespace name (lower-case "
                    + "letters, digits and '-', at most 63)");
        }
        if (labelSelector.length() > 1024 || !labelSelector.matches("[A-Za-z0-9_./=!,() -]*")) {
            throw ConfigurationException.invalid("labelSelector", labelSelector, "a label selector such as app=shop "
                    + "or app=shop,tier!=batch, or empty for every pod of the namespace");
        }
        if (port < 1 || port > 65535) {
            throw ConfigurationException.invalid("port", port, "the members' receiver port, 1-65535");
        }
        StaticMembershipConfig probing = new StaticMembershipConfig(List.of(), frequency, dropTime, connectTimeout,
                probeAttempts);
        if (resolveInterval == null) {
            resolveInterval = probing.frequency().multipliedBy(10);
        }
        if (resolveInterval.toMillis() < 100 || resolveInterval.compareTo(Duration.ofMinutes(10)) > 0) {
            throw ConfigurationException.invalid("resolveInterval", resolveInterval, "use 100 ms - 10 min, e.g. 5 s");
        }
        if (requestTimeout.toMillis() < 10 || requestTimeout.compareTo(Duration.ofMinutes(1)) > 0) {
            throw ConfigurationException.invalid("requestTimeout", requestTimeout, "use 10 ms - 1 min, e.g. 5 s");
        }
    }

    /** The probing half: no fixed addresses, the pod lists supply them. */
    StaticMembershipConfig probing() {
        return new StaticMembershipConfig(List.of(), frequency, dropTime, connectTimeout, probeAttempts);
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Builds a {@link KubernetesMembershipConfig}; {@link #build()} checks every value.
     *
     * <p>Threading: not thread-safe; use it on one thread.
     */
    public static final class Builder {
        private URI apiServer;
        private String namespace = "";
        private String labelSelector = "";
        private int port;
        private Path tokenFile = SERVICE_ACCOUNT.resolve("token");
        private Path caFile = SERVICE_ACCOUNT.resolve("ca.crt");
        private Duration resolveInterval;
        private Duration requestTimeout = Duration.ofSeconds(5);
        private Duration frequency = Duration.ofMillis(500);
        private Duration dropTime = Duration.ofMillis(3000);
        private Duration connectTimeout = Duration.ofMillis(1500);
        private int probeAttempts = 3;

        private Builder() {
        }

        /**
         * Inside a pod: the API server from {@code KUBERNETES_SERVICE_HOST} and {@code KUBERNETES_SERVICE_PORT} of
         * {@code environment}, unless already set. The namespace is not guessed: set it (the pod's own is in
         * {@code SERVICE_ACCOUNT/namespace}, or the downward API's {@code metadata.namespace}).
         */
        public Builder inCluster(Map<String, String> environment) {
            String host = environment.getOrDefault("KUBERNETES_SERVICE_HOST", "").trim();
            String p = environment.getOrDefault("KUBERNETES_SERVICE_PORT", "443").trim();
            if (apiServer == null && !host.isEmpty()) {
                apiServer = URI.create("https://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + p);
            }
            return this;
        }

        public Builder apiServer(String url) {
            try {
                this.apiServer = URI.create(url.trim());
            } catch (IllegalArgumentException | NullPointerException e) {
                throw ConfigurationException.invalid("apiServer", url, "https://host[:port] of the Kubernetes API "
                        + "server");
            }
            return this;
        }

        public Builder namespace(String value) {
            this.namespace = value;
            return this;
        }

        public Builder labelSelector(String value) {
            this.labelSelector = value;
            return this;
        }

        public Builder port(int value) {
            this.port = value;
            return this;
        }

        public Builder tokenFile(Path value) {
            this.tokenFile = value;
            return this;
        }

        public Builder caFile(Path value) {
            this.caFile = value;
            return this;
        }

        public Builder resolveInterval(Duration value) {
            this.resolveInterval = value;
            return this;
        }

        public Builder requestTimeout(Duration value) {
            this.requestTimeout = value;
            return this;
        }

        public Builder frequency(Duration value) {
            this.frequency = value;
            return this;
        }

        public Builder dropTime(Duration value) {
            this.dropTime = value;
            return this;
        }

        public Builder connectTimeout(Duration value) {
            this.connectTimeout = value;
            return this;
        }

        public Builder probeAttempts(int value) {
            this.probeAttempts = value;
            return this;
        }

        public KubernetesMembershipConfig build() {
            return new KubernetesMembershipConfig(apiServer, namespace, labelSelector, port, tokenFile, caFile,
                    resolveInterval, requestTimeout, frequency, dropTime, connectTimeout, probeAttempts);
        }
    }
}
