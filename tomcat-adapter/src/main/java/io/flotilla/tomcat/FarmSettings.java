package io.flotilla.tomcat;

import io.flotilla.ConfigurationException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The farm deployer's settings ({@code <Deployer>} inside {@code <Cluster>}), with stock {@code FarmWarDeployer}'s
 * attribute names and defaults, checked once: every bad value is added to the cluster's list of problems, naming the
 * attribute and the value.
 *
 * <p>Threading: immutable once parsed.
 *
 * @param tempDir where incoming WARs are written until their size and SHA-256 check out; the same file system as
 *     {@code deployDir} (a complete WAR is moved into place atomically)
 * @param deployDir where WARs are deployed; null: the Host's {@code appBase} (stock requires the two to be equal)
 * @param watchDir the folder watched for WARs to deploy on every member; null when {@code watchEnabled} is false
 * @param watchEnabled whether this node watches {@code watchDir} (stock default false: it only receives)
 * @param processDeployFrequency {@code watchDir} is checked every this many background runs of the cluster's
 *     container (stock default 2; Tomcat runs them every {@code backgroundProcessorDelay}, 10 s by default)
 * @param maxValidTime an incoming WAR not complete after this long is discarded (stock's, default 300 s)
 * @param maxWarBytes a larger WAR is neither sent nor accepted (Flotilla's, default 512 MiB)
 * @param trustNetwork start without a cluster secret or mutual TLS, accepting WARs from any member (default false)
 */
record FarmSettings(Path tempDir, Path deployDir, Path watchDir, boolean watchEnabled, int processDeployFrequency,
        Duration maxValidTime, long maxWarBytes, boolean trustNetwork) {
    /** The attributes of {@code <Deployer>} and their defaults (empty: none; see the record's components). */
    static final Map<String, String> DEFAULTS;

    static {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("tempDir", "work/flotilla-farm");
        d.put("deployDir", "");
        d.put("watchDir", "");
        d.put("watchEnabled", "false");
        d.put("processDeployFrequency", "2");
        d.put("maxValidTime", "300");
        d.put("maxWarBytes", Long.toString(512L << 20));
        d.put("trustNetwork", "false");
        DEFAULTS = Collections.unmodifiableMap(d);
    }

    /** The start's problem when no member proof is configured and the network is not trusted explicitly. */
    static final String UNPROVEN = "<Deployer>: a farm deployer deploys the WARs other members send, and without a "
            + "cluster secret any host that reaches receiverPort could send one: set secretFile (or secretEnv, "
            + "secret, or mutual TLS) on <Cluster>, or trustNetwork=\"true\" on <Deployer> to trust every host of "
            + "this network";

    /**
     * The settings of the cluster's {@code <Deployer>} (null: none, or problems), added to {@code problems} with the
     * start's refusal of a farm that no secret or TLS protects unless {@code trustNetwork="true"}.
     */
    static FarmSettings of(StockElement deployer, Path base, ClusterSettings cluster, List<String> problems) {
        if (deployer == null) {
            return null;
        }
        FarmSettings s = parse(deployer.attributes(), base, problems);
        boolean trusting = "true".equalsIgnoreCase(deployer.attributes().getOrDefault("trustNetwork", "").trim());
        if (cluster != null && proof(cluster) == null && !trusting) {
            problems.add(UNPROVEN);
        }
        return s;
    }

    /** What proves the members, for the start log: "the cluster secret", "mutual TLS", or null (nothing). */
    static String proof(ClusterSettings cluster) {
        return cluster.secret != null ? "the cluster secret"
                : cluster.transport != null && cluster.transport.tls() != null ? "mutual TLS" : null;
    }

    /**
     * Parses {@code attributes} (unset ones take their defaults); relative paths are resolved against {@code base}
     * ({@code $CATALINA_BASE}, as stock does). Problems are added to {@code problems}; null is returned when there
     * was any.
     */
    static FarmSettings parse(Map<String, String> attributes, Path base, List<String> problems) {
        int before = problems.size();
        Map<String, String> v = new LinkedHashMap<>(DEFAULTS);
        for (Map.Entry<String, String> a : attributes.entrySet()) {
            if (!DEFAULTS.containsKey(a.getKey())) {
                problems.add(ConfigurationException.invalid(a.getKey(), a.getValue(), "not a <Deployer> attribute; "
                        + "the farm deployer's are " + String.join(", ", DEFAULTS.keySet())).getMessage());
            } else if (a.getValue() != null) {
                v.put(a.getKey(), a.getValue().trim());
            }
        }
        boolean watch = ClusterSettings.check(problems, () -> ClusterSettings.bool(v, "watchEnabled"), false);
        boolean trust = ClusterSettings.check(problems, () -> ClusterSettings.bool(v, "trustNetwork"), false);
        int frequency = ClusterSettings.check(problems,
                () -> ClusterSettings.integer(v, "processDeployFrequency", 1, 100_000), 1);
        int maxValid = ClusterSettings.check(problems, () -> ClusterSettings.integer(v, "maxValidTime", 1, 86_400), 1);
        long maxBytes = ClusterSettings.check(problems, () -> bytes(v), 1L);
        Path temp = path(v, "tempDir", base, problems);
        Path deploy = v.get("deployDir").isEmpty() ? null : path(v, "deployDir", base, problems);
        Path watchDir = v.get("watchDir").isEmpty() ? null : path(v, "watchDir", base, problems);
        if (watch && v.get("watchDir").isEmpty()) {
            problems.add(ConfigurationException.invalid("watchDir", "", "a folder to watch when watchEnabled=\"true\" "
                    + "(a WAR dropped there is deployed on every member)").getMessage());
        }
        if (watch && watchDir != null) {
            for (String other : List.of("tempDir", "deployDir")) {
                Path p = other.equals("tempDir") ? temp : deploy;
                if (watchDir.equals(p)) {
                    problems.add(ConfigurationException.invalid("watchDir", v.get("watchDir"), "a folder other than "
                            + other + " (" + p + "): the farm writes there itself").getMessage());
                }
            }
        }
        if (temp != null && temp.equals(deploy)) {
            problems.add(ConfigurationException.invalid("tempDir", v.get("tempDir"), "a folder other than deployDir: "
                    + "an incomplete WAR must never be where Tomcat deploys from").getMessage());
        }
        if (problems.size() > before) {
            return null;
        }
        return new FarmSettings(temp, deploy, watch ? watchDir : null, watch, frequency, Duration.ofSeconds(maxValid),
                maxBytes, trust);
    }

    private static Path path(Map<String, String> v, String name, Path base, List<String> problems) {
        try {
            Path p = Path.of(v.get(name));
            return (p.isAbsolute() ? p : base.resolve(p)).toAbsolutePath().normalize();
        } catch (IllegalArgumentException e) { // InvalidPathException included
            problems.add(ConfigurationException.invalid(name, v.get(name), "a folder path (" + e.getMessage() + ")")
                    .getMessage());
            return null;
        }
    }

    private static long bytes(Map<String, String> v) {
        String s = v.get("maxWarBytes");
        try {
            long b = Long.parseLong(s);
            if (b >= 1 && b <= (1L << 40)) {
                return b;
            }
        } catch (NumberFormatException e) {
            // reported below with the allowed range
        }
        throw ConfigurationException.invalid("maxWarBytes", s, "a whole number of bytes from 1 to " + (1L << 40));
    }

    /** One line for the start log. */
    String describe(Path effectiveDeployDir) {
        return "deployDir=" + effectiveDeployDir + ", tempDir=" + tempDir + (watchEnabled ? ", watchDir=" + watchDir
                + " (checked every " + processDeployFrequency + " background runs)" : ", watchEnabled=false")
                + ", maxWarBytes=" + maxWarBytes + ", maxValidTime=" + maxValidTime.toSeconds() + " s";
    }
}
