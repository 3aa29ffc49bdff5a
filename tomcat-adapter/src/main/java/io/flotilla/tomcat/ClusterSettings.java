package io.flotilla.tomcat;

import io.flotilla.ClusterSecret;
import io.flotilla.ConfigurationException;
import io.flotilla.Delivery;
import io.flotilla.NodeConfig;
import io.flotilla.membership.DnsMembership;
import io.flotilla.membership.DnsMembershipConfig;
import io.flotilla.membership.KubernetesMembership;
import io.flotilla.membership.KubernetesMembershipConfig;
import io.flotilla.membership.MulticastMembership;
import io.flotilla.membership.MulticastMembershipConfig;
import io.flotilla.membership.StaticMembership;
import io.flotilla.membership.StaticMembershipConfig;
import io.flotilla.replication.ClassAllowlist;
import io.flotilla.replication.CodecConfig;
import io.flotilla.replication.Placement;
import io.flotilla.replication.ReplicationConfig;
import io.flotilla.spi.MembershipFactory;
import io.flotilla.transport.netty.NettyTransportConfig;
import io.flotilla.transport.netty.TransportTls;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import java.util.stream.Stream;

/**
 * The {@code <Cluster>} attributes, checked once: every value parsed, every range checked, and every bad one
 * reported in one {@link ConfigurationException} naming each attribute, its value and what is allowed (an unknown
 * attribute with the closest known name). Attribute
 * names and units are Tomcat's (milliseconds for {@code frequency}, {@code dropTime}, {@code timeout} and
 * {@code selectorTimeout}; seconds for {@code stateTransferTimeout}).
 *
 * <p>Threading: immutable once built, safe to share.
 */
final class ClusterSettings {
    /** Every attribute with its default, in the order the effective configuration is logged. */
    static final Map<String, String> DEFAULTS;
    /** Never logged or exposed: the secret itself and the key store passwords. */
    static final List<String> SENSITIVE = List.of("secret", "tlsKeyStorePassword", "tlsTrustStorePassword");
    private static final List<String> SECRET_ATTRIBUTES = List.of("secret", "secretFile", "secretEnv");
    private static final List<String> PKCS12_ATTRIBUTES =
            List.of("tlsKeyStore", "tlsKeyStorePassword", "tlsTrustStore", "tlsTrustStorePassword");
    private static final List<String> PEM_ATTRIBUTES = List.of("tlsCertificate", "tlsKey", "tlsTrustedCertificates");
    private static final List<String> TLS_ATTRIBUTES;
    /** The secret's and TLS's attributes: setters only, never logged with their values nor shown over JMX. */
    static final List<String> SECURITY;

    static {
        List<String> tls = new ArrayList<>(PKCS12_ATTRIBUTES);
        tls.addAll(PEM_ATTRIBUTES);
        TLS_ATTRIBUTES = List.copyOf(tls);
        List<String> security = new ArrayList<>(SECRET_ATTRIBUTES);
        security.addAll(TLS_ATTRIBUTES);
        SECURITY = List.copyOf(security);
    }

    static {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("clusterName", "flotilla");
        d.put("membership", "multicast");
        d.put("address", "228.0.0.4");
        d.put("port", "45564");
        d.put("frequency", "500");
        d.put("dropTime", "3000");
        d.put("ttl", "1");
        d.put("bind", "");
        d.put("membershipDomain", "");
        d.put("staticMembers", "");
        // membership="dns" (docs/tomcat.md, Kubernetes): empty dnsName = $DNS_MEMBERSHIP_SERVICE_NAME, as stock's
        d.put("dnsName", "");
        d.put("dnsRecordType", "A");
        d.put("dnsPort", ""); // empty: this node's receiverPort
        d.put("dnsServer", ""); // empty: the system's resolver
        // membership="kubernetes": empty = stock's environment variables (KUBERNETES_NAMESPACE, ...), see kubernetes()
        d.put("kubernetesNamespace", "");
        d.put("kubernetesLabels", "");
        d.put("kubernetesPort", ""); // empty: this node's receiverPort
        d.put("kubernetesApiServer", "");
        d.put("receiverAddress", "auto");
        d.put("receiverPort", "4000");
        d.put("autoBind", "100");
        d.put("selectorTimeout", "5000");
        d.put("poolSize", "2");
        d.put("nativeTransport", "false");
        d.put("lanes", "0"); // per member: a request thread's own connection for its synchronous replication
        d.put("timeout", "3000");
        d.put("waitSpinMicros", "20"); // a request waiting for its synchronous replication spins this long first
        d.put("ioSpinMicros", "50"); // an event loop polls its sockets this long before it blocks
        d.put("maxRetryAttempts", "1");
        d.put("channelSendOptions", "8");
        d.put("stateTransferTimeout", "60");
        d.put("mode", "all"); // every member holds every session (DeltaManager's); "backup": a primary + backups
        d.put("backups", "1"); // with mode="backup": copies besides the primary (BackupManager keeps one)
        // a stopping web application waits up to this for its sessions to reach their next owners (0: no drain)
        d.put("drainTimeout", "10");
        d.put("maxActiveSessions", "-1"); // ManagerBase's: no limit
        d.put("processExpiresFrequency", "6"); // ManagerBase's: expiry checked every 6th background run
        d.put("notifyListenersOnReplication", "true");
        d.put("sessionAttributeNameFilter", "");
        d.put("sessionAttributeValueClassNameFilter", "");
        d.put("allowedClasses", "");
        d.put("allowApplicationClasses", "false"); // a translated stock block: true
        d.put("onUnserializable", "fail");
        d.put("mutationDetection", "off");
        d.put("failRequestOnReplicationError", "true");
        // Security (docs/security.md): at most one secret source; PKCS12 or PEM files for mutual TLS.
        for (String name : SECRET_ATTRIBUTES) {
            d.put(name, "");
        }
        for (String name : TLS_ATTRIBUTES) {
            d.put(name, "");
        }
        DEFAULTS = Collections.unmodifiableMap(d);
    }

    private static final Pattern ESCAPED_NAME = Pattern.compile("[A-Za-z_$][A-Za-z0-9_$]*(\\\\\\.[A-Za-z_$][A-Za-z0-9_$]*)*");

    final Map<String, String> effective;
    final String clusterName;
    final boolean multicast;
    final MulticastMembershipConfig multicastConfig;
    final StaticMembershipConfig staticConfig;
    /** Non-null with {@code membership="dns"}. */
    final DnsMembershipConfig dnsConfig;
    /** Non-null with {@code membership="kubernetes"}. */
    final KubernetesMembershipConfig kubernetesConfig;
    final NettyTransportConfig transport;
    final String domain;
    final Duration timeout;
    /**
     * How long a request for a replica waits for the verdict on its owner: the timeout, or longer when the
     * membership's verification of a hung owner (each probe runs out {@code connectTimeout}) can take longer.
     */
    final Duration ownerVerification;
    /** How long a starting node waits for a first other member before its web applications start. */
    final Duration dropTime;
    final int maxRetryAttempts;
    /** {@link NodeConfig#waitSpin()}: {@code waitSpinMicros}. */
    final Duration waitSpin;
    final Delivery delivery;
    final Duration stateTransferTimeout;
    /** Who holds a copy of each session: {@code mode} and {@code backups}. */
    final Placement placement;
    /** How long a stopping web application hands its sessions to their next owners; zero: it does not. */
    final Duration drainTimeout;
    /** Given to every {@link FlotillaManager} the cluster creates, as stock's {@code <Manager>} template does. */
    final int maxActiveSessions;
    final int processExpiresFrequency;
    final boolean notifyListenersOnReplication;
    final Pattern attributeNameFilter;
    final List<String> allowedClasses;
    /** Whether each web application's own classes (WEB-INF/classes) are allowed too ({@link ApplicationClasses}). */
    final boolean allowApplicationClasses;
    final ReplicationConfig.OnUnserializable onUnserializable;
    final ReplicationConfig.MutationDetection mutationDetection;
    final boolean failRequestOnReplicationError;
    /** Null when no secret is configured. */
    final ClusterSecret secret;

    /** The attributes of {@code membership="dns"} only. */
    static final List<String> DNS_ONLY = CloudSettings.DNS_ONLY;
    /** The attributes of {@code membership="kubernetes"} only. */
    static final List<String> KUBERNETES_ONLY = CloudSettings.KUBERNETES_ONLY;
    private static final List<String> ONLY_DNS_OR_KUBERNETES = Stream.concat(DNS_ONLY.stream(),
            KUBERNETES_ONLY.stream()).toList();
    /** The environment variable stock's DNS membership provider reads the name from. */
    static final String DNS_NAME_VARIABLE = CloudSettings.DNS_NAME_VARIABLE;

    private ClusterSettings(Map<String, String> v, List<String> problems, Map<String, String> environment) {
        this.effective = v;
        clusterName = v.get("clusterName");
        String m = v.get("membership").trim().toLowerCase(Locale.ROOT);
        if (!List.of("multicast", "static", "dns", "kubernetes").contains(m)) {
            problems.add(ConfigurationException.invalid("membership", v.get("membership"), "multicast, static, dns or "
                    + "kubernetes").getMessage());
        }
        boolean dns = m.equals("dns");
        boolean kubernetes = m.equals("kubernetes");
        multicast = !m.equals("static") && !dns && !kubernetes;
        Duration frequency = check(problems, () -> millis(v, "frequency", 10, 60_000), Duration.ofMillis(500));
        dropTime = check(problems, () -> millis(v, "dropTime", 20, 3_600_000), Duration.ofMillis(3000));
        if (dropTime.compareTo(frequency) <= 0) {
            problems.add(ConfigurationException.invalid("dropTime", v.get("dropTime"),
                    "more than frequency (" + frequency.toMillis() + " ms)").getMessage());
        }
        domain = v.get("membershipDomain");
        List<String> members = list(v.get("staticMembers"));
        MulticastMembershipConfig mc = null;
        StaticMembershipConfig sc = null;
        if (multicast) {
            int port = check(problems, () -> integer(v, "port", 1, 65535), 45564);
            int ttl = check(problems, () -> integer(v, "ttl", 0, 255), 1);
            mc = check(problems, () -> MulticastMembershipConfig.builder().address(v.get("address")).port(port)
                    .frequency(frequency).dropTime(dropTime).ttl(ttl).bind(v.get("bind").trim()).build(), null);
            if (!members.isEmpty()) {
                problems.add(ConfigurationException.invalid("staticMembers", v.get("staticMembers"),
                        "empty with membership=multicast; set membership=\"static\" to use a member list").getMessage());
            }
        } else if (dns || kubernetes) {
            if (!members.isEmpty()) {
                problems.add(ConfigurationException.invalid("staticMembers", v.get("staticMembers"),
                        "empty with membership=" + m + ": " + (dns ? "DNS" : "the API server") + " lists the members")
                        .getMessage());
            }
        } else if (members.isEmpty()) {
            problems.add(ConfigurationException.invalid("staticMembers", v.get("staticMembers"),
                    "a list of host:port with membership=static, e.g. \"10.0.0.1:4000,10.0.0.2:4000\"").getMessage());
        } else {
            String bad = members.stream().filter(s -> !s.matches("[^:\\s]+:\\d{1,5}")).findFirst().orElse(null);
            if (bad != null) {
                problems.add(ConfigurationException.invalid("staticMembers", v.get("staticMembers"),
                        "host:port entries separated by commas; '" + bad + "' is not one").getMessage());
            } else {
                sc = check(problems, () -> StaticMembershipConfig.builder().members(members).frequency(frequency)
                        .dropTime(dropTime).build(), null);
            }
        }
        multicastConfig = mc;
        staticConfig = sc;
        secret = check(problems, () -> secret(v), null);
        int receiverPort = check(problems, () -> integer(v, "receiverPort", 0, 65535), 4000);
        dnsConfig = dns ? check(problems, () -> CloudSettings.dns(v, frequency, dropTime, receiverPort, environment), null) : null;
        kubernetesConfig = kubernetes ? check(problems, () -> CloudSettings.kubernetes(v, frequency, dropTime, receiverPort,
                environment), null) : null;
        for (String name : dns ? KUBERNETES_ONLY : kubernetes ? DNS_ONLY : ONLY_DNS_OR_KUBERNETES) {
            if (!v.get(name).equals(DEFAULTS.get(name))) {
                problems.add(ConfigurationException.invalid(name, v.get(name), "only with membership=\""
                        + (DNS_ONLY.contains(name) ? "dns" : "kubernetes") + "\"").getMessage());
            }
        }
        // With a static list the others reach this node only at the port their list names: never move elsewhere.
        int autoBind = check(problems, () -> integer(v, "autoBind", 0, 65535), 100);
        int poolSize = check(problems, () -> integer(v, "poolSize", 1, 64), 2);
        Duration selectorTimeout = check(problems, () -> millis(v, "selectorTimeout", 1, 600_000),
                Duration.ofSeconds(5));
        TransportTls tls = check(problems, () -> tls(v), null);
        // NIO by default (request threads write their synchronous replication themselves); nativeTransport="true":
        // Netty's epoll where it loads (Linux x86_64: the drop-in jar carries its library under the relocated name).
        boolean nativeTransport = check(problems, () -> bool(v, "nativeTransport"), false);
        int lanes = check(problems, () -> integer(v, "lanes", 0, 64), 0);
        Duration ioSpin = Duration.ofNanos(1000L * check(problems, () -> integer(v, "ioSpinMicros", 0,
                (int) (NettyTransportConfig.MAX_IO_SPIN.toNanos() / 1000)), 50));
        transport = check(problems, () -> NettyTransportConfig.builder().address(v.get("receiverAddress").trim())
                .port(receiverPort).autoBind(multicast ? autoBind : 0).poolSize(poolSize)
                .selectorTimeout(selectorTimeout).nativeTransport(nativeTransport).tls(tls).lanes(lanes)
                .ioSpin(ioSpin).build(), null);
        timeout = check(problems, () -> millis(v, "timeout", 1, 3_600_000), Duration.ofSeconds(3));
        // The longest a hung owner's verification takes: its probes, each running out connectTimeout, and a beat.
        Duration probes = mc != null ? mc.connectTimeout().multipliedBy(mc.probeAttempts())
                : sc != null ? sc.connectTimeout().multipliedBy(sc.probeAttempts())
                : dnsConfig != null ? dnsConfig.connectTimeout().multipliedBy(dnsConfig.probeAttempts())
                : kubernetesConfig != null ? kubernetesConfig.connectTimeout().multipliedBy(
                        kubernetesConfig.probeAttempts()) : Duration.ZERO;
        ownerVerification = probes.plus(frequency).compareTo(timeout) > 0 ? probes.plus(frequency) : timeout;
        maxRetryAttempts = check(problems, () -> integer(v, "maxRetryAttempts", 0, 100), 1);
        waitSpin = Duration.ofNanos(1000L * check(problems, () -> integer(v, "waitSpinMicros", 0,
                (int) (NodeConfig.MAX_WAIT_SPIN.toNanos() / 1000)), 20));
        delivery = check(problems, () -> delivery(v.get("channelSendOptions")), Delivery.ASYNC);
        stateTransferTimeout = Duration.ofSeconds(check(problems, () -> integer(v, "stateTransferTimeout", 1, 86_400),
                60));
        int backups = check(problems, () -> integer(v, "backups", 1, 16), 1);
        placement = check(problems, () -> switch (v.get("mode").trim().toLowerCase(Locale.ROOT)) {
            case "all" -> Placement.ALL;
            case "backup" -> Placement.backups(backups);
            default -> throw ConfigurationException.invalid("mode", v.get("mode"),
                    "all (every member holds every session) or backup (a primary and `backups` copies)");
        }, Placement.ALL);
        drainTimeout = Duration.ofSeconds(check(problems, () -> integer(v, "drainTimeout", 0, 3_600), 10));
        maxActiveSessions = check(problems, () -> integer(v, "maxActiveSessions", -1, Integer.MAX_VALUE), -1);
        processExpiresFrequency = check(problems, () -> integer(v, "processExpiresFrequency", 1, 10_000), 6);
        notifyListenersOnReplication = check(problems, () -> bool(v, "notifyListenersOnReplication"), true);
        String nameFilter = v.get("sessionAttributeNameFilter");
        attributeNameFilter = check(problems, () -> {
            try {
                return nameFilter.isEmpty() ? null : Pattern.compile(nameFilter);
            } catch (PatternSyntaxException e) {
                throw ConfigurationException.invalid("sessionAttributeNameFilter", nameFilter,
                        "a Java regular expression (" + e.getDescription() + ")");
            }
        }, null);
        List<String> allowed = new ArrayList<>(list(v.get("allowedClasses")));
        allowed.addAll(check(problems, () -> classFilterToAllowlist(v.get("sessionAttributeValueClassNameFilter")),
                List.of()));
        for (String p : allowed) {
            check(problems, () -> {
                try {
                    ClassAllowlist.of(List.of(p));
                } catch (ConfigurationException e) {
                    throw ConfigurationException.invalid("allowedClasses", p, "a class name (com.example.Cart), a "
                            + "package (com.example.*) or a package tree (com.example.**)");
                }
                GadgetClasses.checkPattern(p);
                return null;
            }, null);
        }
        allowedClasses = List.copyOf(allowed);
        allowApplicationClasses = check(problems, () -> bool(v, "allowApplicationClasses"), false);
        onUnserializable = check(problems, () -> switch (v.get("onUnserializable").trim().toLowerCase(Locale.ROOT)) {
            case "fail" -> ReplicationConfig.OnUnserializable.FAIL;
            case "skip" -> ReplicationConfig.OnUnserializable.SKIP;
            default -> throw ConfigurationException.invalid("onUnserializable", v.get("onUnserializable"),
                    "fail or skip");
        }, ReplicationConfig.OnUnserializable.FAIL);
        mutationDetection = check(problems, () -> switch (v.get("mutationDetection").trim().toLowerCase(Locale.ROOT)) {
            case "off" -> ReplicationConfig.MutationDetection.OFF;
            case "mutable_types", "mutable" -> ReplicationConfig.MutationDetection.MUTABLE_TYPES;
            case "always" -> ReplicationConfig.MutationDetection.ALWAYS;
            default -> throw ConfigurationException.invalid("mutationDetection", v.get("mutationDetection"),
                    "off, mutable_types or always");
        }, ReplicationConfig.MutationDetection.OFF);
        failRequestOnReplicationError = check(problems, () -> bool(v, "failRequestOnReplicationError"), true);
    }

    /** The value {@code parse} computes, or {@code fallback} with its refusal added to {@code problems}. */
    static <T> T check(List<String> problems, Supplier<T> parse, T fallback) {
        try {
            return parse.get();
        } catch (ConfigurationException | IllegalArgumentException e) {
            problems.add(e.getMessage());
            return fallback;
        }
    }

    /**
     * Tomcat's documented {@code channelSendOptions}: 8 ({@code async}), 2 ({@code use_ack}) and 6 ({@code
     * use_ack,synchronized_ack}). Other numbers are bit sets whose extra bits (Tribes' {@code byte_message},
     * {@code secure}, {@code udp}, ...) would be ignored silently, so they are refused.
     */
    static Delivery delivery(String value) {
        String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        String names = String.join(",", new TreeSet<>(list(v)));
        if (!Set.of("8", "2", "6", "async", "use_ack", "synchronized_ack,use_ack").contains(v.matches("\\d+") ? v
                : names)) {
            throw ConfigurationException.invalid("channelSendOptions", value,
                    "8 (or async), 2 (or use_ack) or 6 (or use_ack,synchronized_ack)");
        }
        return Delivery.fromTomcatSendOptions(v);
    }

    /**
     * Checks the raw attribute values over the defaults.
     *
     * @throws ConfigurationException naming the first bad attribute, its value and what is allowed
     */
    static ClusterSettings parse(Map<String, String> raw) {
        List<String> problems = new ArrayList<>();
        ClusterSettings s = parse(raw, problems);
        if (s == null) {
            throw new ConfigurationException(problems.size() == 1 ? problems.get(0)
                    : problems.size() + " attributes are invalid: " + String.join("; ", problems));
        }
        return s;
    }

    /** As {@link #parse(Map)}, adding every refusal to {@code problems}; null when there is one. */
    static ClusterSettings parse(Map<String, String> raw, List<String> problems) {
        return parse(raw, problems, System.getenv());
    }

    /** As {@link #parse(Map, List)} with {@code environment} instead of the process's (for tests). */
    static ClusterSettings parse(Map<String, String> raw, List<String> problems, Map<String, String> environment) {
        int before = problems.size();
        Map<String, String> v = new LinkedHashMap<>(DEFAULTS);
        for (Map.Entry<String, String> e : raw.entrySet()) {
            if (!DEFAULTS.containsKey(e.getKey())) {
                problems.add(ConfigurationException.invalid(e.getKey(), e.getValue(), unknown(e.getKey()))
                        .getMessage());
            } else {
                v.put(e.getKey(), e.getValue() == null ? "" : e.getValue());
            }
        }
        ClusterSettings s = new ClusterSettings(Collections.unmodifiableMap(v), problems, environment);
        return problems.size() == before ? s : null;
    }

    /** What an unknown attribute's message says: the closest known name when one is close. */
    static String unknown(String name) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String known : DEFAULTS.keySet()) {
            int d = distance(name.toLowerCase(Locale.ROOT), known.toLowerCase(Locale.ROOT));
            if (d < bestDistance) {
                best = known;
                bestDistance = d;
            }
        }
        boolean close = best != null && bestDistance <= Math.max(2, Math.min(name.length(), best.length()) / 3);
        return "not a FlotillaCluster attribute" + (close ? "; did you mean " + best + "?" : "");
    }

    /** Levenshtein distance. */
    private static int distance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                current[j] = Math.min(Math.min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            int[] t = previous;
            previous = current;
            current = t;
        }
        return previous[b.length()];
    }

    /** The cluster secret from {@code secret}, {@code secretFile} or {@code secretEnv} (at most one), or null. */
    private static ClusterSecret secret(Map<String, String> v) {
        List<String> set = SECRET_ATTRIBUTES.stream().filter(a -> !v.get(a).isEmpty()).toList();
        if (set.size() > 1) {
            throw ConfigurationException.invalid(set.get(1), "(set)", "only one of secret, secretFile and secretEnv;"
                    + " prefer secretFile or secretEnv so the secret stays out of server.xml");
        }
        if (set.isEmpty()) {
            return null;
        }
        String value = v.get(set.get(0)).trim();
        return switch (set.get(0)) {
            case "secretFile" -> ClusterSecret.fromFile(Path.of(value));
            case "secretEnv" -> ClusterSecret.fromEnvironment(value);
            default -> ClusterSecret.fromString(value);
        };
    }

    /** Mutual TLS from PKCS12 stores or PEM files (all of one set, none of the other), or null. */
    private static TransportTls tls(Map<String, String> v) {
        boolean pkcs12 = PKCS12_ATTRIBUTES.stream().anyMatch(a -> !v.get(a).isEmpty());
        boolean pem = PEM_ATTRIBUTES.stream().anyMatch(a -> !v.get(a).isEmpty());
        if (pkcs12 && pem) {
            throw ConfigurationException.invalid("tlsCertificate", v.get("tlsCertificate"),
                    "either the PKCS12 attributes (tlsKeyStore...) or the PEM ones (tlsCertificate...), not both");
        }
        List<String> needed = pkcs12 ? PKCS12_ATTRIBUTES : pem ? PEM_ATTRIBUTES : List.of();
        for (String a : needed) {
            if (v.get(a).isEmpty()) {
                throw ConfigurationException.invalid(a, "", "set together with " + String.join(", ", needed));
            }
        }
        if (pkcs12) {
            return TransportTls.pkcs12(Path.of(v.get("tlsKeyStore").trim()), v.get("tlsKeyStorePassword"),
                    Path.of(v.get("tlsTrustStore").trim()), v.get("tlsTrustStorePassword"));
        }
        return pem ? TransportTls.pem(Path.of(v.get("tlsCertificate").trim()), Path.of(v.get("tlsKey").trim()),
                Path.of(v.get("tlsTrustedCertificates").trim())) : null;
    }

    MembershipFactory membershipFactory() {
        return multicast ? MulticastMembership.factory(multicastConfig)
                : dnsConfig != null ? DnsMembership.factory(dnsConfig)
                : kubernetesConfig != null ? KubernetesMembership.factory(kubernetesConfig)
                : StaticMembership.factory(staticConfig);
    }

    /** The engine settings of one web application: its namespace, class loader and the cluster's registry. */
    ReplicationConfig replicationConfig(String namespace, ClassLoader loader,
            MeterRegistry registry) {
        List<String> allowed = new ArrayList<>(allowedClasses);
        if (allowApplicationClasses) {
            allowed.addAll(ApplicationClasses.patterns(loader));
        }
        return ReplicationConfig.builder().namespace(namespace).classLoader(loader).delivery(delivery)
                .placement(placement)
                .codec(CodecConfig.builder().allow(allowed)
                        .allowlistSetting("<Cluster allowedClasses=\"{patterns}\">").build())
                .onUnserializable(onUnserializable)
                .mutationDetection(mutationDetection).stateTransferTimeout(stateTransferTimeout).departureWait(timeout)
                .meterRegistry(registry).build();
    }

    /** One line: every attribute and its effective value, for the start-up log. */
    String describe() {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, String> e : effective.entrySet()) {
            boolean irrelevant = (multicast ? e.getKey().equals("staticMembers")
                    : Arrays.asList("address", "port", "ttl", "bind", "autoBind").contains(e.getKey()))
                    || (dnsConfig == null ? DNS_ONLY.contains(e.getKey()) : e.getKey().equals("staticMembers"))
                    || (kubernetesConfig == null ? KUBERNETES_ONLY.contains(e.getKey())
                            : e.getKey().equals("staticMembers"));
            if (irrelevant || (e.getValue().isEmpty() && (SECRET_ATTRIBUTES.contains(e.getKey())
                    || TLS_ATTRIBUTES.contains(e.getKey())))) {
                continue;
            }
            String value = SENSITIVE.contains(e.getKey()) ? "(set)" : e.getValue();
            sb.append(sb.length() == 0 ? "" : ", ").append(e.getKey()).append('=').append(value);
        }
        return sb.append(", delivery=").append(delivery).toString();
    }

    /**
     * Tomcat's {@code sessionAttributeValueClassNameFilter} is a regular expression over class names; Flotilla's
     * allowlist takes class, package and package-tree patterns. Each {@code |} alternative of the form
     * {@code com\.example\.Cart}, {@code com\.example\..*} or {@code com\.example\.[^.]*} maps to one pattern;
     * anything else is refused with a pointer to {@code allowedClasses}.
     */
    static List<String> classFilterToAllowlist(String regex) {
        if (regex == null || regex.isBlank()) {
            return List.of();
        }
        String r = regex.trim();
        if (r.startsWith("^")) {
            r = r.substring(1);
        }
        if (r.endsWith("$")) {
            r = r.substring(0, r.length() - 1);
        }
        if (r.startsWith("(?:") && r.endsWith(")") || r.startsWith("(") && r.endsWith(")")) {
            r = r.substring(r.startsWith("(?:") ? 3 : 1, r.length() - 1);
        }
        List<String> out = new ArrayList<>();
        for (String alt : r.split("\\|")) {
            String a = alt.trim();
            String pattern = null;
            if (a.endsWith("\\..*") && ESCAPED_NAME.matcher(a.substring(0, a.length() - 4)).matches()) {
                pattern = a.substring(0, a.length() - 4).replace("\\.", ".") + ".**";
            } else if (a.endsWith("\\.[^.]*") && ESCAPED_NAME.matcher(a.substring(0, a.length() - 7)).matches()) {
                pattern = a.substring(0, a.length() - 7).replace("\\.", ".") + ".*";
            } else if (ESCAPED_NAME.matcher(a).matches()) {
                pattern = a.replace("\\.", ".");
            }
            if (pattern == null) {
                throw ConfigurationException.invalid("sessionAttributeValueClassNameFilter", regex,
                        "alternatives separated by | of the forms com\\.example\\.Cart, com\\.example\\..* or "
                                + "com\\.example\\.[^.]* ('" + a + "' is none of them); or list the classes in "
                                + "allowedClasses (com.example.Cart, com.example.*, com.example.**)");
            }
            out.add(pattern);
        }
        return out;
    }

    private static List<String> list(String s) {
        List<String> out = new ArrayList<>();
        for (String part : s.split("[,\\s]+")) {
            if (!part.isBlank()) {
                out.add(part.trim());
            }
        }
        return out;
    }

    static int integer(Map<String, String> v, String name, int min, int max) {
        String s = v.get(name).trim();
        try {
            int i = Integer.parseInt(s);
            if (i >= min && i <= max) {
                return i;
            }
        } catch (NumberFormatException e) {
            // reported below with the allowed range
        }
        throw ConfigurationException.invalid(name, v.get(name), "a whole number from " + min + " to " + max);
    }

    private static Duration millis(Map<String, String> v, String name, int min, int max) {
        String s = v.get(name).trim();
        try {
            long i = Long.parseLong(s);
            if (i >= min && i <= max) {
                return Duration.ofMillis(i);
            }
        } catch (NumberFormatException e) {
            // reported below with the allowed range
        }
        throw ConfigurationException.invalid(name, v.get(name), "milliseconds from " + min + " to " + max);
    }

    static boolean bool(Map<String, String> v, String name) {
        String s = v.get(name).trim().toLowerCase(Locale.ROOT);
        if (s.equals("true") || s.equals("false")) {
            return Boolean.parseBoolean(s);
        }
        throw ConfigurationException.invalid(name, v.get(name), "true or false");
    }
}
