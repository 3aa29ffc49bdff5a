package io.flotilla.tomcat;

import java.io.File;
import java.io.Serializable;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.catalina.ha.CatalinaCluster;
import org.apache.catalina.ha.ClusterDeployer;
import org.apache.catalina.tribes.Member;

/**
 * Flotilla's farm deployer, named in {@code server.xml} inside a {@code FlotillaCluster}:
 *
 * <pre>{@code
 * <Deployer className="io.flotilla.tomcat.FarmDeployer" watchDir="${catalina.base}/farm" watchEnabled="true"/>
 * }</pre>
 *
 * A WAR dropped into {@code watchDir} on one member is deployed on every member, and undeployed everywhere when
 * removed; members that join later get it too. Stock's {@code org.apache.catalina.ha.deploy.FarmWarDeployer} with
 * the same attributes is translated to this at start. The attributes (stock's names and defaults, plus {@code
 * maxWarBytes} and {@code trustNetwork}) are only stored here and checked when the cluster starts ({@link
 * FarmSettings}); the cluster runs the farm ({@link FarmDeployment}). See {@code docs/tomcat.md}, "Farm deployment".
 *
 * <p>It implements {@link ClusterDeployer} only because Tomcat's digester hands a nested {@code <Deployer>} to the
 * cluster through that type; the cluster never calls its methods, which do nothing.
 *
 * <p>Threading: setters are for the configuration thread before the cluster starts.
 */
public final class FarmDeployer implements ClusterDeployer {
    private final Map<String, String> attributes = Collections.synchronizedMap(new LinkedHashMap<>());

    /** The attributes set, by name, in the order set. */
    Map<String, String> attributes() {
        synchronized (attributes) {
            return Collections.unmodifiableMap(new LinkedHashMap<>(attributes));
        }
    }

    private void set(String name, String value) {
        if (value == null) {
            attributes.remove(name);
        } else {
            attributes.put(name, value);
        }
    }

    /** Where incoming WARs are written until checked; default {@code work/flotilla-farm} under catalina.base. */
    public void setTempDir(String v) {
        set("tempDir", v);
    }

    /** Where WARs are deployed: the Host's appBase (the default; stock requires the two to be equal). */
    public void setDeployDir(String v) {
        set("deployDir", v);
    }

    /** The folder watched for WARs to deploy on every member. */
    public void setWatchDir(String v) {
        set("watchDir", v);
    }

    /** Whether this member watches {@code watchDir}; default false (it only receives). */
    public void setWatchEnabled(String v) {
        set("watchEnabled", v);
    }

    /** {@code watchDir} is checked every this many background runs of the cluster's container; default 2. */
    public void setProcessDeployFrequency(String v) {
        set("processDeployFrequency", v);
    }

    /** Seconds after which an incomplete incoming WAR is discarded; default 300. */
    public void setMaxValidTime(String v) {
        set("maxValidTime", v);
    }

    /** The largest WAR sent or accepted, in bytes; default 536870912 (512 MiB). */
    public void setMaxWarBytes(String v) {
        set("maxWarBytes", v);
    }

    /** {@code true}: start without a cluster secret or mutual TLS, trusting every host of the network. */
    public void setTrustNetwork(String v) {
        set("trustNetwork", v);
    }

    /**
     * Any other attribute (the digester calls this): kept, so that the cluster's start names it as unknown.
     *
     * @return true (reported at start)
     */
    public boolean setProperty(String name, String value) {
        set(name, value);
        return true;
    }

    // ClusterDeployer, for the digester's type only: the FlotillaCluster runs the farm.

    @Override
    public void start() {
    }

    @Override
    public void stop() {
    }

    @Override
    public void install(String contextName, File webapp) {
    }

    @Override
    public void remove(String contextName, boolean undeploy) {
    }

    @Override
    public void backgroundProcess() {
    }

    @Override
    public CatalinaCluster getCluster() {
        return null;
    }

    @Override
    public void setCluster(CatalinaCluster cluster) {
    }

    @Override
    public void messageReceived(Serializable msg, Member sender) {
    }

    @Override
    public boolean accept(Serializable msg, Member sender) {
        return false;
    }
}
