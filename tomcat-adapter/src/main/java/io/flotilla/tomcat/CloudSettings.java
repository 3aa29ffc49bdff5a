package io.flotilla.tomcat;

import io.flotilla.ConfigurationException;
import io.flotilla.membership.DnsMembershipConfig;
import io.flotilla.membership.KubernetesMembershipConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The {@code <Cluster>} attributes of {@code membership="dns"} and {@code membership="kubernetes"}, and the stock
 * environment variables an empty one falls back to, as {@link ClusterSettings} parses them: kept apart because the
 * fallbacks (stock's cloud membership reads its settings from the environment) are their own set of rules.
 *
 * <p>Threading: stateless.
 */
final class CloudSettings {
    /** The attributes of {@code membership="dns"} only. */
    static final List<String> DNS_ONLY = List.of("dnsName", "dnsRecordType", "dnsPort", "dnsServer");
    /** The attributes of {@code membership="kubernetes"} only. */
    static final List<String> KUBERNETES_ONLY = List.of("kubernetesNamespace", "kubernetesLabels", "kubernetesPort",
            "kubernetesApiServer");
    /** The environment variable stock's DNS membership provider reads the name from. */
    static final String DNS_NAME_VARIABLE = "DNS_MEMBERSHIP_SERVICE_NAME";

    private CloudSettings() {
    }

    /**
     * The Kubernetes membership's settings. An empty attribute takes what stock's Kubernetes provider reads: the
     * namespace from {@code KUBERNETES_NAMESPACE} or {@code OPENSHIFT_KUBE_PING_NAMESPACE} (else the pod's own, from
     * its service-account directory), the selector from {@code KUBERNETES_LABELS} or
     * {@code OPENSHIFT_KUBE_PING_LABELS},
     * the API server from {@code KUBERNETES_SERVICE_HOST} and {@code KUBERNETES_SERVICE_PORT}; the token from
     * {@code SA_TOKEN_FILE} and the CA from {@code KUBERNETES_CA_CERTIFICATE_FILE} when set, else the service
     * account's. Stock's plain-http and client-certificate variables are refused.
     */
    static KubernetesMembershipConfig kubernetes(Map<String, String> v, Duration frequency, Duration dropTime,
            int receiverPort, Map<String, String> environment) {
        for (String unsupported : List.of("KUBERNETES_CLIENT_CERTIFICATE_FILE", "OPENSHIFT_KUBE_PING_CLIENT_CERT_FILE",
                "KUBERNETES_MASTER_PROTOCOL", "OPENSHIFT_KUBE_PING_MASTER_PROTOCOL")) {
            String value = environment.getOrDefault(unsupported, "").trim();
            if (!value.isEmpty() && !value.equalsIgnoreCase("https")) {
                throw ConfigurationException.invalid("membership", "kubernetes", "the environment sets " + unsupported
                        + "=" + value + ": Flotilla reaches the API server over https with the service-account token "
                        + "only; unset it");
            }
        }
        String namespace = first(v.get("kubernetesNamespace"), environment.get("KUBERNETES_NAMESPACE"),
                environment.get("OPENSHIFT_KUBE_PING_NAMESPACE"));
        Path namespaceFile = KubernetesMembershipConfig.SERVICE_ACCOUNT.resolve("namespace");
        if (namespace.isEmpty() && Files.isReadable(namespaceFile)) {
            try {
                namespace = Files.readString(namespaceFile).trim();
            } catch (IOException e) {
                throw ConfigurationException.invalid("kubernetesNamespace", "", "set it: " + namespaceFile
                        + " cannot be read (" + e.getMessage() + ")");
            }
        }
        if (namespace.isEmpty()) {
            throw ConfigurationException.invalid("kubernetesNamespace", "", "the pods' namespace with membership="
                    + "\"kubernetes\", or the environment variable KUBERNETES_NAMESPACE as for stock");
        }
        int port = v.get("kubernetesPort").isBlank() ? receiverPort : ClusterSettings.integer(v, "kubernetesPort", 1, 65535);
        KubernetesMembershipConfig.Builder b = KubernetesMembershipConfig.builder().namespace(namespace)
                .labelSelector(first(v.get("kubernetesLabels"), environment.get("KUBERNETES_LABELS"),
                        environment.get("OPENSHIFT_KUBE_PING_LABELS")))
                .port(port).frequency(frequency).dropTime(dropTime);
        String tokenFile = first(environment.get("SA_TOKEN_FILE"),
                environment.get("OPENSHIFT_KUBE_PING_SA_TOKEN_FILE"));
        if (!tokenFile.isEmpty()) {
            b.tokenFile(Path.of(tokenFile));
        }
        String caFile = first(environment.get("KUBERNETES_CA_CERTIFICATE_FILE"),
                environment.get("OPENSHIFT_KUBE_PING_CA_CERT_FILE"));
        if (!caFile.isEmpty()) {
            b.caFile(Path.of(caFile));
        }
        if (!v.get("kubernetesApiServer").isBlank()) {
            b.apiServer(v.get("kubernetesApiServer"));
        }
        b.inCluster(environment);
        try {
            return b.build();
        } catch (ConfigurationException e) {
            throw renamed(e, "kubernetes", "namespace", "labelSelector", "port", "apiServer");
        }
    }

    /**
     * {@code e} naming the {@code <Cluster>} attribute instead of the embedding API's: {@code prefix} + the
     * capitalised name ({@code name=} becomes {@code dnsName=}, {@code labelSelector=} {@code kubernetesLabels=}).
     */
    private static ConfigurationException renamed(ConfigurationException e, String prefix, String... names) {
        String msg = e.getMessage();
        for (String name : names) {
            if (msg.startsWith(name + "=")) {
                String attribute = prefix + (name.equals("labelSelector") ? "Labels"
                        : Character.toUpperCase(name.charAt(0)) + name.substring(1));
                return new ConfigurationException(attribute + msg.substring(name.length()));
            }
        }
        return e;
    }

    /** The first of {@code values} that is set and not blank, trimmed; empty when none is. */
    private static String first(String... values) {
        for (String value : values) {
            if (value != null && !value.isBlank()) {
                return value.trim();
            }
        }
        return "";
    }

    /**
     * The DNS membership's settings; the embedding API's names ({@code name}, {@code recordType}, {@code port},
     * {@code server}) become the attributes' in its messages.
     */
    static DnsMembershipConfig dns(Map<String, String> v, Duration frequency, Duration dropTime,
            int receiverPort, Map<String, String> environment) {
        String name = v.get("dnsName").trim();
        if (name.isEmpty()) {
            name = environment.getOrDefault(DNS_NAME_VARIABLE, "").trim();
            if (name.isEmpty()) {
                throw ConfigurationException.invalid("dnsName", "", "the DNS name that lists the members with "
                        + "membership=\"dns\" (e.g. tomcat.shop.svc.cluster.local), or set the environment variable "
                        + DNS_NAME_VARIABLE + " as for stock's DNS membership");
            }
        }
        try {
            DnsMembershipConfig.RecordType type = DnsMembershipConfig.RecordType.parse(v.get("dnsRecordType"));
            DnsMembershipConfig.Builder b = DnsMembershipConfig.builder().server(v.get("dnsServer"))
                    .frequency(frequency).dropTime(dropTime);
            if (type == DnsMembershipConfig.RecordType.SRV) {
                if (!v.get("dnsPort").isBlank()) {
                    throw ConfigurationException.invalid("dnsPort", v.get("dnsPort"), "empty with dnsRecordType=SRV: "
                            + "the records give each member's port");
                }
                return b.srv(name).build();
            }
            int port = v.get("dnsPort").isBlank() ? receiverPort : ClusterSettings.integer(v, "dnsPort", 1, 65535);
            if (port == 0) {
                throw ConfigurationException.invalid("dnsPort", "", "the members' receiver port: set it, or a "
                        + "receiverPort other than 0, with membership=\"dns\" and A records");
            }
            return b.addresses(name, port).build();
        } catch (ConfigurationException e) {
            throw renamed(e, "dns", "name", "recordType", "port", "server");
        }
    }
}
