package io.flotilla.tomcat;

import java.util.Arrays;
import javax.management.Attribute;
import javax.management.AttributeNotFoundException;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanException;
import javax.management.MBeanInfo;
import javax.management.ReflectionException;
import org.apache.tomcat.util.modeler.BaseModelMBean;

/**
 * JMX plumbing, not for applications: the model MBean Tomcat's registry creates for a {@link FlotillaCluster} (named
 * by {@code className} in this package's {@code mbeans-descriptors.xml}). It reads the attributes the descriptor
 * lists through {@link FlotillaCluster#jmxAttribute} instead of by reflection: {@code FlotillaCluster} has setters
 * typed with {@code catalina-ha} and {@code catalina-tribes} classes (so that a stock nested {@code <Channel>},
 * {@code <Manager>}, {@code <Deployer>} or {@code <ClusterListener>} gets a clear error), and reflecting on it where
 * those jars are absent (embedded Tomcat) would fail. The attributes are read-only: the configuration is read once
 * at start, from {@code server.xml}. Only the chosen membership's attributes are shown: {@code staticMembers} with
 * {@code membership="static"}, the multicast group's ({@code address}, {@code port}, {@code ttl}, {@code bind}) and
 * {@code autoBind} with multicast, the {@code dns*} ones with {@code membership="dns"}, the {@code kubernetes*} ones
 * with {@code membership="kubernetes"}.
 *
 * <p>Threading: safe from any thread, as the cluster's getters are.
 */
public final class ClusterMBean extends BaseModelMBean {
    private static final String MODELER_TYPE = "modelerType";

    /** For Tomcat's registry, which instantiates the class the descriptor names. */
    public ClusterMBean() {
    }

    @Override
    public Object getAttribute(String name) throws AttributeNotFoundException, MBeanException, ReflectionException {
        if (name != null && resource instanceof FlotillaCluster c) {
            if (MODELER_TYPE.equals(name)) {
                return getModelerType(); // the one attribute Tomcat's registry adds to every descriptor
            }
            if (!c.hasJmxAttribute(name)) {
                throw new AttributeNotFoundException("FlotillaCluster has no attribute '" + name + "'");
            }
            return c.jmxAttribute(name);
        }
        return super.getAttribute(name);
    }

    /** The descriptor's attributes without those of the membership kind not chosen (multicast's or static's). */
    @Override
    public MBeanInfo getMBeanInfo() {
        MBeanInfo info = super.getMBeanInfo();
        if (!(resource instanceof FlotillaCluster c)) {
            return info;
        }
        MBeanAttributeInfo[] shown = Arrays.stream(info.getAttributes())
                .filter(a -> a.getName().equals(MODELER_TYPE) || c.hasJmxAttribute(a.getName()))
                .toArray(MBeanAttributeInfo[]::new);
        return new MBeanInfo(info.getClassName(), info.getDescription(), shown, info.getConstructors(),
                info.getOperations(), info.getNotifications(), info.getDescriptor());
    }

    @Override
    public void setAttribute(Attribute attribute) throws AttributeNotFoundException {
        throw new AttributeNotFoundException("FlotillaCluster attribute '" + (attribute == null ? null
                : attribute.getName()) + "' is read-only: set it on <Cluster> in server.xml; it is read at start");
    }

    /** The one operation, {@code drain} ({@link FlotillaCluster#drain}), called directly like the attributes. */
    @Override
    public Object invoke(String name, Object[] params, String[] signature) throws ReflectionException {
        if ("drain".equals(name) && (params == null || params.length == 0) && resource instanceof FlotillaCluster c) {
            return c.drain();
        }
        throw new ReflectionException(new NoSuchMethodException(name), "FlotillaCluster has one JMX operation, "
                + "drain(), not '" + name + "' with " + (params == null ? 0 : params.length) + " parameter(s)");
    }
}
