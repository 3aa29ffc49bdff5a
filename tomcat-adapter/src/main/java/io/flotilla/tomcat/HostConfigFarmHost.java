package io.flotilla.tomcat;

import io.flotilla.Node;
import io.flotilla.internal.NodeThreads;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.apache.catalina.Container;
import org.apache.catalina.Engine;
import org.apache.catalina.Host;
import org.apache.catalina.Lifecycle;
import org.apache.catalina.LifecycleListener;
import org.apache.catalina.startup.HostConfig;
import org.apache.catalina.util.ContextName;
import org.apache.juli.logging.Log;
import org.apache.juli.logging.LogFactory;

/**
 * The farm's {@link FarmHost} in Tomcat: the Host's {@code appBase}, and its {@link HostConfig} (the deployer that
 * {@code server.xml}'s Host has), used as stock's {@code FarmWarDeployer} uses it: mark the application serviced
 * ({@code tryAddServiced}), change the WAR, unmark it, then {@code check(contextName)}, which deploys a new WAR,
 * redeploys a changed one and undeploys a removed one. The Host is the cluster's container, or, for a cluster in an
 * {@code <Engine>}, the Engine's default host (stock's deployer works only inside a {@code <Host>}).
 *
 * <p>Threading: {@link #apply} runs on the farm's worker thread; {@link #find}, {@link #attach} and {@link
 * Attached#close} on the cluster's start and stop thread.
 */
final class HostConfigFarmHost implements FarmHost {
    private static final Log log = LogFactory.getLog(HostConfigFarmHost.class);

    private final Host host;
    private final HostConfig config;

    private HostConfigFarmHost(Host host, HostConfig config) {
        this.host = host;
        this.config = config;
    }

    @Override
    public Path appBase() {
        return host.getAppBaseFile().toPath();
    }

    @Override
    public boolean apply(String warName, FileChange change) throws IOException {
        String context = new ContextName(warName, true).getName();
        if (!config.tryAddServiced(context)) {
            return false;
        }
        try {
            change.run();
        } finally {
            config.removeServiced(context);
        }
        config.check(context);
        return true;
    }

    /** A started farm on a Host; {@link #close} stops it. */
    record Attached(FarmDeployment farm, Host host, LifecycleListener listener) implements AutoCloseable {
        @Override
        public void close() {
            host.removeLifecycleListener(listener);
            farm.close();
        }
    }

    /**
     * The Host the cluster in {@code container} deploys into, with its HostConfig; null, with the reason added to
     * {@code problems}, when there is none (checked before the cluster's node starts).
     */
    static HostConfigFarmHost find(Container container, List<String> problems) {
        Host host = container instanceof Host h ? h : container instanceof Engine e && e.getDefaultHost() != null
                && e.findChild(e.getDefaultHost()) instanceof Host d ? d : null;
        if (host == null) {
            problems.add("<Deployer> needs a Host to deploy into: put the <Cluster> in a <Host>, or give its <Engine> "
                    + "a defaultHost");
            return null;
        }
        for (LifecycleListener l : host.findLifecycleListeners()) {
            if (l instanceof HostConfig hc) {
                return new HostConfigFarmHost(host, hc);
            }
        }
        problems.add("<Deployer> deploys through the HostConfig of Host " + host.getName() + ", which has none "
                + "(server.xml's Hosts have one; an embedded Tomcat needs host.addLifecycleListener(new HostConfig()))");
        return null;
    }

    /**
     * Creates the farm on this Host and starts it once the Host has started (its applications deployed), or at once
     * when the Host runs already.
     */
    Attached attach(Node node, FarmSettings settings, ClusterSettings cluster, MeterRegistry registry) {
        String trust = FarmSettings.proof(cluster); // null: trustNetwork="true" allowed the start without one
        Path appBase = appBase().toAbsolutePath().normalize();
        if (settings.deployDir() != null && !settings.deployDir().equals(appBase)) {
            log.warn("FarmDeployer: deployDir=" + settings.deployDir() + " ignored: WARs are deployed into the "
                    + "appBase of Host " + host.getName() + " (" + appBase + "), which stock also requires deployDir "
                    + "to be; remove deployDir");
        }
        FarmDeployment farm = new FarmDeployment(node, settings, this, new NodeThreads(cluster.clusterName),
                TomcatMeters.farm(registry), System::nanoTime);
        Runnable start = () -> {
            try {
                farm.start();
                String line = "FarmDeployer started on Host " + host.getName() + " (" + farm.describe() + "); ";
                if (trust == null) {
                    log.warn(line + "trustNetwork=\"true\" without a cluster secret or mutual TLS: any host that "
                            + "reaches receiverPort can deploy a WAR on every member; set secretFile on <Cluster>");
                } else {
                    log.info(line + "accepts WARs only from members proven by " + trust);
                }
            } catch (IOException e) {
                log.error("FarmDeployer: cannot start on Host " + host.getName() + ": " + e, e);
            }
        };
        LifecycleListener listener = event -> {
            if (Lifecycle.AFTER_START_EVENT.equals(event.getType())) {
                start.run();
            }
        };
        host.addLifecycleListener(listener);
        if (host.getState().isAvailable()) {
            start.run();
        }
        return new Attached(farm, host, listener);
    }
}
