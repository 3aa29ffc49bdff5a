package io.flotilla.tomcat;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Maps a stock {@code SimpleTcpCluster} configuration (its attributes and nested {@code Channel}, {@code Manager},
 * {@code Deployer}, {@code ClusterListener} and {@code Valve} elements, as {@link StockElement}s) to {@link
 * FlotillaCluster} attributes and valves. Every stock setting either maps, or is named in one {@link Note} that says
 * why it is not needed, what Flotilla does instead, or (for a {@link Kind#REFUSED} one) what to do. The same
 * translation runs inside Tomcat (from the digester's objects) and in {@link MigrateCommand} (from {@code
 * server.xml}), so both agree. No Catalina type is used here: the migrate command runs without Tomcat.
 *
 * <p>Threading: stateless; {@link #translate} may be called from any thread.
 */
final class StockTranslation {
    static final String FLOTILLA_CLUSTER = "io.flotilla.tomcat.FlotillaCluster";
    static final String FLOTILLA_REPLICATION_VALVE = "io.flotilla.tomcat.ReplicationValve";
    static final String FLOTILLA_ROUTE_VALVE = "io.flotilla.tomcat.JvmRouteBinderValve";
    static final String STOCK_REPLICATION_VALVE = "org.apache.catalina.ha.tcp.ReplicationValve";
    static final String STOCK_ROUTE_VALVE = "org.apache.catalina.ha.session.JvmRouteBinderValve";
    static final String FLOTILLA_DEPLOYER = "io.flotilla.tomcat.FarmDeployer";
    static final String STOCK_DEPLOYER = "org.apache.catalina.ha.deploy.FarmWarDeployer";
    /** Stock {@code FarmWarDeployer}'s attributes, which Flotilla's deployer takes with the same meaning. */
    private static final Set<String> DEPLOYER_ATTRIBUTES = Set.of("tempDir", "deployDir", "watchDir", "watchEnabled",
            "processDeployFrequency", "maxValidTime");
    /** What proves members: a cluster secret or mutual TLS. */
    private static final List<String> MEMBER_PROOF = List.of("secret", "secretFile", "secretEnv", "tlsKeyStore",
            "tlsCertificate");
    private static final String TRIBES = "org.apache.catalina.tribes.";
    private static final String INTERCEPTORS = TRIBES + "group.interceptors.";
    private static final String DO_DELETE = "; delete it";

    /** How a stock setting fared. */
    enum Kind {
        /** Flotilla does this anyway (or needs nothing for it): nothing is lost. */
        BUILT_IN,
        /** No equivalent, ignored (logged at INFO): what replicates and how it fails over do not change. */
        TUNING,
        /** Ignored, and the behaviour differs from stock: the note says how and what to do. */
        DROPPED,
        /** Cannot be honoured: the cluster does not start until the operator changes it. */
        REFUSED
    }

    /** One line about one stock setting. */
    record Note(Kind kind, String text) {
    }

    /**
     * The translation of one {@code <Cluster>}.
     *
     * @param attributes the {@code FlotillaCluster} attributes, in the order of docs/tomcat.md's table (unknown ones last)
     * @param valves the valves to install, stock ones replaced by Flotilla's (foreign ones kept as they are)
     * @param notes every stock setting that did not map one to one, in document order
     * @param stock whether anything stock was translated (a nested stock element or a stock attribute)
     * @param deployer the farm deployer to run ({@code FarmDeployer} with its attributes), or null for none
     */
    record Result(Map<String, String> attributes, List<StockElement> valves, List<Note> notes, boolean stock,
            StockElement deployer) {
        List<Note> notes(Kind kind) {
            return notes.stream().filter(n -> n.kind == kind).toList();
        }
    }

    /** {@code SimpleTcpCluster} attributes without an equivalent, and why. */
    private static final Map<String, String> CLUSTER_TUNING = Map.of(
            "channelStartOptions", "Flotilla starts its membership and transport together",
            "heartbeatBackgroundEnabled", "Flotilla's membership runs its own timers",
            "notifyLifecycleListenerOnFailure", "Flotilla reports membership changes in its log and over JMX",
            "doClusterLog", "Flotilla logs membership changes at INFO under io.flotilla",
            "clusterLogName", "Flotilla logs membership changes at INFO under io.flotilla");

    private final Map<String, String> out = new LinkedHashMap<>();
    private final Set<String> explicit = new LinkedHashSet<>();
    private final List<Note> notes = new ArrayList<>();
    private final Set<String> noted = new LinkedHashSet<>();
    private boolean stock;
    private StockElement deployer;

    private StockTranslation() {
    }

    /** Translates {@code cluster} (a {@code <Cluster>} element with any className) and its nested elements. */
    static Result translate(StockElement cluster) {
        StockTranslation t = new StockTranslation();
        t.run(cluster);
        return t.result(cluster);
    }

    private void run(StockElement cluster) {
        for (Map.Entry<String, String> a : cluster.attributes().entrySet()) {
            String reason = CLUSTER_TUNING.get(a.getKey());
            if (reason != null) {
                stock = true;
                note(Kind.TUNING, "<Cluster " + a.getKey() + "=\"" + a.getValue() + "\">: ignored, " + reason
                        + DO_DELETE);
            } else {
                out.put(a.getKey(), a.getValue()); // Flotilla's own, or unknown: ClusterSettings names it
                explicit.add(a.getKey());
            }
        }
        for (StockElement child : cluster.children()) {
            switch (child.name()) {
                case "Channel" -> channel(child);
                case "Manager" -> manager(child);
                case "Deployer" -> deployer(child);
                case "ClusterListener" -> clusterListener(child);
                default -> { } // Valve: see result(); Listener: a lifecycle listener, kept as it is
            }
        }
    }

    private Result result(StockElement cluster) {
        List<StockElement> valves = new ArrayList<>();
        for (StockElement v : cluster.children("Valve")) {
            valves.add(valve(v));
        }
        if (!valves.isEmpty() && valves.stream().noneMatch(v -> v.className().equals(FLOTILLA_REPLICATION_VALVE))) {
            note(Kind.DROPPED, "no ReplicationValve among the nested <Valve>s: no session replicates; add <Valve "
                    + "className=\"" + FLOTILLA_REPLICATION_VALVE + "\"/> (or remove every nested <Valve> to get "
                    + "both default valves)");
        }
        if (stock && !explicit.contains("allowedClasses") && !explicit.contains("sessionAttributeValueClassNameFilter")
                && !explicit.contains("allowApplicationClasses")) {
            out.put("allowApplicationClasses", "true"); // stock replicates any Serializable: the closest safe rule
            note(Kind.BUILT_IN, "allowApplicationClasses=\"true\" (no allowedClasses given): the web applications' "
                    + "own classes (WEB-INF/classes) replicate as with stock; library classes only when allowedClasses "
                    + "names them");
        }
        Map<String, String> ordered = new LinkedHashMap<>(); // in the order of docs/tomcat.md's table
        ClusterSettings.DEFAULTS.keySet().stream().filter(out::containsKey).forEach(k -> ordered.put(k, out.get(k)));
        out.forEach(ordered::putIfAbsent);
        return new Result(Collections.unmodifiableMap(ordered), List.copyOf(valves), List.copyOf(notes),
                stock, deployer);
    }

    // ------------------------------------------------------------------------------------------ elements

    private void channel(StockElement channel) {
        stock = true;
        if (!channel.className().equals(TRIBES + "group.GroupChannel")) {
            refuse(channel, "Flotilla has its own channel; remove the className (or use GroupChannel's children)");
            return;
        }
        tuning(channel, channel.attributes().keySet(), "Flotilla's channel has no such option");
        List<StockElement> memberships = channel.children("Membership");
        StockElement membership = memberships.isEmpty() ? null : memberships.get(0);
        List<String> staticMembers = new ArrayList<>();
        boolean staticService = false;
        if (membership != null) {
            staticService = membership(membership, staticMembers);
        }
        for (StockElement c : channel.children()) {
            switch (c.name()) {
                case "Membership" -> { } // above
                case "Receiver" -> receiver(c);
                case "Sender" -> sender(c);
                case "Interceptor" -> interceptor(c, staticMembers);
                default -> refuse(c, "Flotilla cannot run Tribes listener code; remove the element");
            }
        }
        boolean viaInterceptor = !staticService && !staticMembers.isEmpty();
        if (staticService || viaInterceptor) {
            put("membership", "static", "<Membership>");
            put("staticMembers", String.join(",", staticMembers), "<Member>");
            if (viaInterceptor && membership != null && !membership.attributes().isEmpty()) {
                note(Kind.DROPPED, membership.tag() + " with a StaticMembershipInterceptor: Flotilla runs one "
                        + "membership, the static list (membership=\"static\"); the multicast settings are ignored");
            }
        }
    }

    /** Returns whether it is a static membership service; its members are added to {@code staticMembers}. */
    private boolean membership(StockElement m, List<String> staticMembers) {
        String cls = m.className();
        if (cls.isEmpty() || cls.equals(TRIBES + "membership.McastService")) {
            for (Map.Entry<String, String> a : m.attributes().entrySet()) {
                switch (a.getKey()) {
                    case "address", "port", "frequency", "dropTime", "ttl", "bind" -> put(a.getKey(), a.getValue(), m);
                    case "mcastBindAddress" -> put("bind", a.getValue(), m);
                    case "mcastDropTime" -> put("dropTime", a.getValue(), m);
                    case "domain" -> put("membershipDomain", a.getValue(), m);
                    case "recoveryEnabled", "recoveryCounter", "recoverySleepTime" -> builtIn(m, a.getKey(),
                            "Flotilla's membership rejoins by itself after a network error");
                    default -> tuning(m, List.of(a.getKey()), "Flotilla's multicast membership has no such option");
                }
            }
            return false;
        }
        if (cls.equals(TRIBES + "membership.StaticMembershipService")) {
            for (Map.Entry<String, String> a : m.attributes().entrySet()) {
                switch (a.getKey()) {
                    case "pingInterval" -> put("frequency", a.getValue(), m);
                    case "expirationTime" -> put("dropTime", a.getValue(), m);
                    default -> tuning(m, List.of(a.getKey()), "Flotilla probes static members over its own "
                            + "connections every frequency ms");
                }
            }
            for (StockElement c : m.children()) {
                if (c.name().equals("Member")) {
                    staticMembers.add(member(c));
                } else if (c.name().equals("LocalMember")) {
                    builtIn(c, null, "a node finds its own entry by its receiver address and port");
                }
            }
            return true;
        }
        if (cls.equals(TRIBES + "membership.cloud.CloudMembershipService")) {
            cloud(m);
            return false;
        }
        refuse(m, "Flotilla's membership is multicast (McastService), static (StaticMembershipService) or cloud "
                + "(CloudMembershipService with membershipProviderClassName=\"dns\" or \"kubernetes\")");
        return false;
    }

    /**
     * Stock's cloud membership: its DNS provider maps to {@code membership="dns"}, its Kubernetes provider (stock's
     * default) to {@code membership="kubernetes"}; both read stock's environment variables, and list the members on
     * this node's receiver port, as stock.
     */
    private void cloud(StockElement m) {
        String provider = m.attributes().getOrDefault("membershipProviderClassName", "kubernetes").trim();
        boolean dns = provider.equalsIgnoreCase("dns")
                || provider.equals(TRIBES + "membership.cloud.DNSMembershipProvider");
        boolean kubernetes = provider.equalsIgnoreCase("kubernetes")
                || provider.equals(TRIBES + "membership.cloud.KubernetesMembershipProvider");
        if (!dns && !kubernetes) {
            refuse(m, "membershipProviderClassName=\"" + provider + "\": Flotilla's cloud memberships are dns and "
                    + "kubernetes; it cannot run a provider written against Tribes");
            return;
        }
        String common = "every listed address joins only after it answers a probe (and proves the cluster secret "
                + "when one is set)";
        if (dns) {
            put("membership", "dns", m);
            builtIn(m, "membershipProviderClassName", "membership=\"dns\": the name comes from the environment "
                    + "variable " + ClusterSettings.DNS_NAME_VARIABLE + " as with stock, or from dnsName; " + common
                    + ", instead of stock's admitting any address that sends a message");
        } else {
            put("membership", "kubernetes", m);
            builtIn(m, "membershipProviderClassName", "membership=\"kubernetes\": namespace, labels and API server "
                    + "from stock's environment variables (KUBERNETES_NAMESPACE, KUBERNETES_LABELS, "
                    + "KUBERNETES_SERVICE_HOST), or kubernetesNamespace, kubernetesLabels, kubernetesApiServer; the "
                    + "token is read again for every request and only the cluster CA is trusted; " + common);
        }
        for (Map.Entry<String, String> a : m.attributes().entrySet()) {
            switch (a.getKey()) {
                case "membershipProviderClassName" -> { } // above
                case "expirationTime" -> put("dropTime", a.getValue(), m);
                default -> tuning(m, List.of(a.getKey()), "Flotilla's " + (dns ? "DNS lookups time out after 2 s"
                        : "API requests time out after 5 s") + " and repeat every 10 x frequency ms");
            }
        }
    }

    private String member(StockElement member) {
        String host = member.attributes().getOrDefault("host", "");
        String port = member.attributes().getOrDefault("port", "4000");
        for (String a : member.attributes().keySet()) {
            if (!a.equals("host") && !a.equals("port")) {
                builtIn(member, a, a.equals("uniqueId") ? "Flotilla gives every start of a member its own id"
                        : "Flotilla reaches a static member at host:port only");
            }
        }
        if (host.isEmpty()) {
            refuse(member, "a <Member> needs a host; give it one");
        }
        return host + ":" + port;
    }

    private void receiver(StockElement r) {
        for (Map.Entry<String, String> a : r.attributes().entrySet()) {
            switch (a.getKey()) {
                case "address" -> put("receiverAddress", a.getValue(), r);
                case "port" -> put("receiverPort", a.getValue(), r);
                // stock's autoBind counts the ports tried, 0 and 1 meaning the given one only
                case "autoBind" -> put("autoBind", a.getValue().trim().matches("-?[01]|-\\d+") ? "0" : a.getValue(), r);
                case "selectorTimeout" -> put(a.getKey(), a.getValue(), r);
                default -> tuning(r, List.of(a.getKey()), "Flotilla's receiver runs on its own event loops and "
                        + "buffers");
            }
        }
    }

    private void sender(StockElement s) {
        tuning(s, s.attributes().keySet(), "Flotilla's sender has no such option");
        for (StockElement t : s.children("Transport")) {
            for (Map.Entry<String, String> a : t.attributes().entrySet()) {
                switch (a.getKey()) {
                    case "poolSize", "timeout", "maxRetryAttempts" -> put(a.getKey(), a.getValue(), t);
                    default -> tuning(t, List.of(a.getKey()), "Flotilla's connections batch and flush by themselves");
                }
            }
        }
    }

    private void interceptor(StockElement i, List<String> staticMembers) {
        String cls = i.className();
        String simple = cls.startsWith(INTERCEPTORS) ? i.simpleClassName() : cls;
        switch (simple) {
            case "TcpFailureDetector" -> quiet(i, "a silent member is verified over TCP before it is removed");
            case "MessageDispatchInterceptor", "MessageDispatch15Interceptor" ->
                    quiet(i, "asynchronous sends are queued per member, bounded");
            case "TcpPingInterceptor" -> quiet(i, "connections are kept alive and probed");
            case "ThroughputInterceptor" -> quiet(i, "throughput is in the JMX counters");
            case "OrderInterceptor" -> quiet(i, "each sender's messages arrive in order");
            case "FragmentationInterceptor" -> quiet(i, "large messages are framed by the transport");
            case "GzipInterceptor" -> tuning(i, List.of("className"), "Flotilla does not compress messages");
            case "DomainFilterInterceptor" -> {
                String domain = i.attributes().get("domain");
                if (domain != null) {
                    put("membershipDomain", domain, i);
                }
            }
            case "StaticMembershipInterceptor" -> {
                for (StockElement c : i.children()) {
                    if (c.name().equals("Member")) {
                        staticMembers.add(member(c));
                    } else {
                        builtIn(c, null, "a node finds its own entry by its receiver address and port");
                    }
                }
            }
            case "EncryptInterceptor" -> refuse(i, "Flotilla encrypts with mutual TLS (tlsCertificate, tlsKey, "
                    + "tlsTrustedCertificates) and authenticates members with secretFile; see docs/security.md");
            default -> refuse(i, "Flotilla cannot run Tribes interceptors; remove it");
        }
    }

    private void manager(StockElement m) {
        stock = true;
        String cls = m.className();
        boolean backup = cls.equals("org.apache.catalina.ha.session.BackupManager");
        if (!backup && !cls.equals("org.apache.catalina.ha.session.DeltaManager")) {
            refuse(m, "every <distributable/> application gets a FlotillaManager; remove the element");
            return;
        }
        if (backup) {
            put("mode", "backup", m);
            put("backups", "1", m);
            builtIn(m, null, "mode=\"backup\" backups=\"1\": each session has its owner and one backup, chosen "
                    + "by rendezvous hashing, so a create costs one message instead of stock's one per member");
        }
        String notifyListeners = m.attributes().getOrDefault("notifyListenersOnReplication", "true");
        String notifySession = m.attributes().getOrDefault("notifySessionListenersOnReplication", "true");
        if (m.attributes().containsKey("notifyListenersOnReplication")
                || m.attributes().containsKey("notifySessionListenersOnReplication")) {
            boolean both = Boolean.parseBoolean(notifyListeners.trim()) && Boolean.parseBoolean(notifySession.trim());
            put("notifyListenersOnReplication", Boolean.toString(both), m);
        }
        for (Map.Entry<String, String> a : m.attributes().entrySet()) {
            String v = a.getValue().trim();
            switch (a.getKey()) {
                case "notifyListenersOnReplication", "notifySessionListenersOnReplication" -> { } // above
                case "stateTransferTimeout", "sessionAttributeNameFilter", "sessionAttributeValueClassNameFilter",
                        "maxActiveSessions", "processExpiresFrequency" -> put(a.getKey(), a.getValue(), m);
                case "expireSessionsOnShutdown" -> {
                    if (v.equalsIgnoreCase("true")) {
                        note(Kind.DROPPED, attr(m, a) + ": ignored, a stopping Flotilla node never ends the other "
                                + "members' copies (its sessions fail over); invalidate sessions in the application "
                                + "to end them");
                    }
                }
                case "persistAuthentication" -> builtIn(m, a.getKey(), "the principal always replicates");
                case "sessionIdLength", "secureRandomClass",
                        "secureRandomAlgorithm", "secureRandomProvider", "pathname" ->
                        note(Kind.DROPPED, attr(m, a) + ": set it on each application's <Manager className=\""
                                + "io.flotilla.tomcat.FlotillaManager\"> in context.xml instead");
                default -> tuning(m, List.of(a.getKey()), "Flotilla's state transfer and statistics need no such "
                        + "option");
            }
        }
        for (StockElement c : m.children()) {
            tuning(c, List.of("className"), "Flotilla's manager uses Tomcat's default session id generator");
        }
    }

    /**
     * Flotilla's own {@code <Deployer>} is kept as it is (its attributes are checked at start). Stock's {@code
     * FarmWarDeployer} becomes Flotilla's with the same attributes when the cluster proves its members (a secret or
     * mutual TLS); without that, a watching one is refused (it would let any host deploy), and a receiving one, such
     * as the how-to's ({@code watchEnabled="false"}), is ignored: it receives nothing, as stock's does in an Engine.
     */
    private void deployer(StockElement d) {
        if (d.className().equals(FLOTILLA_DEPLOYER)) {
            deployer = d;
            return;
        }
        stock = true;
        if (!d.className().equals(STOCK_DEPLOYER)) {
            refuse(d, "Flotilla cannot run a deployer written against Tribes; use <Deployer className=\""
                    + FLOTILLA_DEPLOYER + "\"> (see docs/tomcat.md) or remove the element");
            return;
        }
        boolean proven = MEMBER_PROOF.stream().anyMatch(a -> explicit.contains(a) && !out.get(a).isBlank());
        boolean watching = Boolean.parseBoolean(d.attributes().getOrDefault("watchEnabled", "false").trim());
        if (!proven) {
            if (watching) {
                refuse(d, "its WARs would be deployed by every member, and without a cluster secret any host that "
                        + "reaches receiverPort could send one: set secretFile (or secretEnv, or mutual TLS) on "
                        + "<Cluster>, or to trust this network use <Deployer className=\"" + FLOTILLA_DEPLOYER
                        + "\" trustNetwork=\"true\" ...>");
            } else {
                // INFO, not WARN: the how-to's block carries this one, and stock's does nothing there either (a
                // FarmWarDeployer works only inside a <Host>)
                note(Kind.TUNING, d.tag() + ": ignored (watchEnabled=\"false\" and no cluster secret: Flotilla's "
                        + "farm accepts WARs only from members proven by the secret); set secretFile on <Cluster> to "
                        + "receive the farm's WARs" + DO_DELETE + " otherwise");
            }
            return;
        }
        Map<String, String> kept = new LinkedHashMap<>();
        for (Map.Entry<String, String> a : d.attributes().entrySet()) {
            if (DEPLOYER_ATTRIBUTES.contains(a.getKey())) {
                kept.put(a.getKey(), a.getValue());
            } else {
                tuning(d, List.of(a.getKey()), "Flotilla's farm deployer has no such option");
            }
        }
        deployer = new StockElement("Deployer", FLOTILLA_DEPLOYER, kept, List.of());
        builtIn(d, null, "replaced by " + FLOTILLA_DEPLOYER + ": WARs stream in 64 KiB chunks with a SHA-256 check, "
                + "only from members proven by the cluster secret, and members that join later get them too");
    }

    private void clusterListener(StockElement l) {
        stock = true;
        String simple = l.simpleClassName();
        if (l.className().startsWith("org.apache.catalina.ha.session.")
                && (simple.equals("ClusterSessionListener") || simple.equals("JvmRouteSessionIDBinderListener"))) {
            quiet(l, "session messages are handled by Flotilla's engine");
        } else {
            refuse(l, "Flotilla cannot run listeners of Tribes cluster messages; remove it");
        }
    }

    /** The valve to install for a nested {@code <Valve>}: Flotilla's for a stock cluster valve, the rest as is. */
    private StockElement valve(StockElement v) {
        String target = switch (v.className()) {
            case STOCK_REPLICATION_VALVE -> FLOTILLA_REPLICATION_VALVE;
            case STOCK_ROUTE_VALVE -> FLOTILLA_ROUTE_VALVE;
            default -> null;
        };
        if (target == null) {
            return v;
        }
        stock = true;
        builtIn(v, null, "replaced by " + target + ", with the attributes that carry over");
        Set<String> kept = target.equals(FLOTILLA_REPLICATION_VALVE)
                ? Set.of("filter", "primaryIndicator", "primaryIndicatorName", "asyncSupported")
                : Set.of("enabled", "sessionIdAttribute", "asyncSupported");
        Map<String, String> attributes = new LinkedHashMap<>();
        if (target.equals(FLOTILLA_REPLICATION_VALVE)) {
            attributes.put("filter", ""); // stock's valve has no filter unless given one (Flotilla's has stock's list)
        }
        for (Map.Entry<String, String> a : v.attributes().entrySet()) {
            if (kept.contains(a.getKey())) {
                attributes.put(a.getKey(), a.getValue());
            } else {
                tuning(v, List.of(a.getKey()), "Flotilla's valve counts its requests always (JMX)");
            }
        }
        attributes.remove("asyncSupported"); // Flotilla's valves always support async requests
        return new StockElement("Valve", target, attributes, List.of());
    }

    // ------------------------------------------------------------------------------------------ helpers

    /** Sets a Flotilla attribute from a stock one; an attribute set on the {@code <Cluster>} itself wins. */
    private void put(String attribute, String value, Object source) {
        stock = true;
        if (explicit.contains(attribute)) {
            if (!out.get(attribute).equals(value)) {
                note(Kind.DROPPED, (source instanceof StockElement e ? e.tag() : String.valueOf(source)) + " "
                        + attribute + " \"" + value + "\": ignored, <Cluster " + attribute + "=\"" + out.get(attribute)
                        + "\"> is set; remove one of them");
            }
            return;
        }
        String previous = out.get(attribute);
        if (previous != null && !previous.equals(value) && !attribute.equals("staticMembers")) {
            note(Kind.DROPPED, attribute + ": \"" + previous + "\" and \"" + value + "\" both set; \"" + value
                    + "\" is used");
        }
        out.put(attribute, value);
    }

    private void quiet(StockElement e, String instead) {
        builtIn(e, null, instead);
        for (String a : e.attributes().keySet()) {
            builtIn(e, a, instead);
        }
    }

    private void builtIn(StockElement e, String attribute, String instead) {
        note(Kind.BUILT_IN, e.tag() + (attribute == null ? "" : " " + attribute) + ": built in (" + instead + ")");
    }

    private void tuning(StockElement e, Collection<String> attributes, String why) {
        for (String a : attributes) {
            String shown = a.equals("className") ? "" : " " + a + "=\"" + e.attributes().get(a) + "\"";
            note(Kind.TUNING, e.tag() + shown + ": no equivalent, ignored (" + why + ")" + DO_DELETE);
        }
    }

    private void refuse(StockElement e, String what) {
        note(Kind.REFUSED, e.tag() + " inside a Flotilla <Cluster> is not supported: " + what);
    }

    private static String attr(StockElement e, Map.Entry<String, String> a) {
        return e.tag() + " " + a.getKey() + "=\"" + a.getValue() + "\"";
    }

    private void note(Kind kind, String text) {
        if (noted.add(kind + text)) {
            notes.add(new Note(kind, text));
        }
    }
}
