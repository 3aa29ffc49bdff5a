package io.flotilla.tomcat.e2e;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * {@code ./demo.sh tomcat}: three real Tomcats on 127.0.0.1 with a session-counter webapp, users clicking, one node
 * killed with {@code kill -9} under load, the sessions going on elsewhere, the node restarting and rejoining, and a
 * summary; every Tomcat it started is stopped by PID at the end (also on Ctrl-C).
 *
 * <p>The users' requests go through a real HAProxy on 127.0.0.1 ({@link HaproxyBalancer}, sticky on the
 * {@code jvmRoute}), as an operator would run it, when the {@code haproxy} program is installed ({@code demo.sh}
 * installs Debian's package when it can); otherwise, or with the argument {@code client}, through the routing client
 * in this JVM ({@link StickyBalancer}), and the demo says so.
 *
 * <p>Arguments: {@code stock|flotilla} (which {@code <Cluster>}; {@code demo.sh} passes its one default), then
 * optionally {@code 9.0|10.1|11.0} (Tomcat 9 runs the {@code flotilla-tomcat9} jar) and {@code client}. Exit status 0
 * when the story ran, 1 when it failed, 2 when the chosen cluster is not available.
 *
 * <p>Threading: a program; one main thread plus the scenario's own.
 */
public final class TomcatClusterDemo {
    private TomcatClusterDemo() {
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = System.out;
        List<String> a = List.of(args);
        String which = a.isEmpty() ? "stock" : a.get(0);
        TomcatLine line = a.stream().filter(s -> s.matches("\\d+\\.\\d+")).findFirst().map(TomcatLine::of)
                .orElse(TomcatLine.TOMCAT_10_1);
        ClusterConfig config = switch (which) {
            case "stock" -> ClusterConfig.stock();
            case "flotilla" -> ClusterConfig.flotilla(ClusterConfig.dropInJar(line), ClusterConfig.Membership.STATIC, 6);
            default -> throw new IllegalArgumentException("cluster must be stock or flotilla, not " + which);
        };
        Optional<String> unavailable = config.unavailable();
        if (unavailable.isPresent()) {
            out.println("Cannot run the " + which + " cluster: " + unavailable.get());
            System.exit(2);
        }
        out.printf("Tomcat cluster demo: %s, %s cluster, everything on 127.0.0.1%s%n", line, which,
                which.equals("stock") ? " (Tribes multicast on lo, TTL 0)" : "");
        TomcatCluster cluster = TomcatCluster.create(line, config, 3, Path.of("target", "demo"));
        Optional<Path> haproxy = a.contains("client") ? Optional.empty() : HaproxyBalancer.binary();
        if (haproxy.isEmpty() && !a.contains("client")) {
            out.println("No haproxy program is installed (demo.sh installs Debian's package when run as root with "
                    + "apt-get): the users go through the routing client in this JVM instead of a real balancer.");
        }
        Balancer[] lb = new Balancer[1];
        Thread stopper = new Thread(() -> {
            if (lb[0] != null) {
                lb[0].close();
            }
            cluster.close();
        }, "tomcat-demo-stop");
        Runtime.getRuntime().addShutdownHook(stopper);
        boolean ok = false;
        try {
            lb[0] = haproxy.<Balancer>map(bin -> HaproxyBalancer.start(cluster, bin, cluster.node(0).base().getParent()))
                    .orElseGet(() -> new StickyBalancer(cluster));
            out.println("balancer: " + lb[0].describe());
            FailoverScenario.Report report = FailoverScenario.run(cluster, lb[0], FailoverScenario.Settings.small(), out);
            out.println();
            out.println("Summary (" + which + " cluster, " + line + "):");
            report.summary().lines().forEach(l -> out.println("  " + l));
            ok = true;
        } catch (Exception | AssertionError e) {
            out.println("The demo failed: " + e);
            for (TomcatNode n : cluster.nodes()) {
                out.println(n.logTail(10));
            }
        } finally {
            out.println("stopping every process this demo started; logs stay in " + cluster.node(0).base().getParent());
            if (lb[0] != null) {
                lb[0].close();
            }
            cluster.close();
            Runtime.getRuntime().removeShutdownHook(stopper);
        }
        System.exit(ok ? 0 : 1);
    }
}
