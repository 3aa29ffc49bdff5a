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
 * <p>Arguments: {@code stock|flotilla} (which {@code <Cluster>}; {@code demo.sh} passes its one default), then
 * optionally {@code 10.1|11.0}. Exit status 0 when the story ran, 1 when it failed, 2 when the chosen cluster is not
 * available (the Flotilla adapter is not in the drop-in jar yet).
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
        TomcatLine line = a.contains("11.0") ? TomcatLine.TOMCAT_11_0 : TomcatLine.TOMCAT_10_1;
        ClusterConfig config = switch (which) {
            case "stock" -> ClusterConfig.stock();
            case "flotilla" -> ClusterConfig.flotilla(ClusterConfig.dropInJar(), ClusterConfig.Membership.STATIC, 6);
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
        Thread stopper = new Thread(cluster::close, "tomcat-demo-stop");
        Runtime.getRuntime().addShutdownHook(stopper);
        boolean ok = false;
        try {
            FailoverScenario.Report report = FailoverScenario.run(cluster, FailoverScenario.Settings.small(), out);
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
            out.println("stopping every Tomcat this demo started; logs stay in " + cluster.node(0).base().getParent());
            cluster.close();
            Runtime.getRuntime().removeShutdownHook(stopper);
        }
        System.exit(ok ? 0 : 1);
    }
}
