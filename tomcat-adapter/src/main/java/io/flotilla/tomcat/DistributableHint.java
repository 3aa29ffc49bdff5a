package io.flotilla.tomcat;

import java.util.ArrayList;
import java.util.List;
import org.apache.catalina.Container;
import org.apache.catalina.ContainerEvent;
import org.apache.catalina.ContainerListener;
import org.apache.catalina.Context;
import org.apache.catalina.Lifecycle;
import org.apache.catalina.LifecycleEvent;
import org.apache.catalina.LifecycleListener;
import org.apache.juli.logging.Log;
import org.apache.juli.logging.LogFactory;

/**
 * Tells the operator, once per web application, that an application started under a cluster is not {@code
 * <distributable/>} and so replicates nothing: Tomcat gives such an application its own manager, and without this
 * line the cluster looks configured while that application's sessions die with their node.
 *
 * <p>It listens to the cluster's container and every container below it (a Host deploying later adds its contexts
 * as children), and to each context's start, where its {@code web.xml} has been read.
 *
 * <p>Threading: Tomcat calls the listeners on its deployment threads; {@link #close} is for the cluster's stop.
 */
final class DistributableHint implements ContainerListener, LifecycleListener {
    private static final Log log = LogFactory.getLog(DistributableHint.class);

    private final String clusterName;
    private final List<Container> watched = new ArrayList<>();

    private DistributableHint(String clusterName) {
        this.clusterName = clusterName;
    }

    /** Starts watching {@code root} and what is below it. */
    static DistributableHint watch(Container root, String clusterName) {
        DistributableHint h = new DistributableHint(clusterName);
        h.add(root);
        return h;
    }

    private synchronized void add(Container c) {
        if (c instanceof Context ctx) {
            ctx.addLifecycleListener(this);
            if (ctx.getState().isAvailable()) {
                check(ctx);
            }
        } else {
            c.addContainerListener(this);
            for (Container child : c.findChildren()) {
                add(child);
            }
        }
        watched.add(c);
    }

    @Override
    public void containerEvent(ContainerEvent event) {
        if (Container.ADD_CHILD_EVENT.equals(event.getType()) && event.getData() instanceof Container child) {
            add(child);
        }
    }

    @Override
    public void lifecycleEvent(LifecycleEvent event) {
        if (Lifecycle.AFTER_START_EVENT.equals(event.getType()) && event.getLifecycle() instanceof Context ctx) {
            check(ctx);
        }
    }

    private void check(Context ctx) {
        if (!ctx.getDistributable()) {
            String path = ctx.getPath().isEmpty() ? "/" : ctx.getPath();
            log.info("FlotillaCluster " + clusterName + ": web application " + path + " is not <distributable/>, so "
                    + "its sessions are not replicated and end with this node; add <distributable/> to its "
                    + "WEB-INF/web.xml (or to conf/web.xml for every application) to replicate them");
        }
    }

    /** Stops listening (the cluster stops); idempotent. */
    synchronized void close() {
        for (Container c : watched) {
            if (c instanceof Context ctx) {
                ctx.removeLifecycleListener(this);
            } else {
                c.removeContainerListener(this);
            }
        }
        watched.clear();
    }
}
