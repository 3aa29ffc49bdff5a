package io.flotilla.tomcat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;
import java.net.URL;
import javax.management.DynamicMBean;
import org.junit.jupiter.api.Test;

/**
 * Embedded Tomcat has neither {@code catalina-ha} nor {@code catalina-tribes}. {@link FlotillaCluster}'s setters for
 * the stock nested elements name their types, so reflecting on it fails there; its JMX view ({@link ClusterMBean})
 * must not reflect, and the class must load and configure. Checked in a class loader that hides both jars.
 */
class WithoutCatalinaHaTest {
    /** Defines everything but the JDK's own classes from the test's class path, except catalina-ha and tribes. */
    private static final class HidingLoader extends ClassLoader {
        private final ClassLoader source = WithoutCatalinaHaTest.class.getClassLoader();

        HidingLoader() {
            super(ClassLoader.getPlatformClassLoader());
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            synchronized (getClassLoadingLock(name)) {
                if (name.startsWith("org.apache.catalina.ha.") || name.startsWith("org.apache.catalina.tribes.")) {
                    throw new ClassNotFoundException(name + " (hidden: as in embedded Tomcat)");
                }
                Class<?> c = findLoadedClass(name);
                if (c == null) {
                    try {
                        return getParent().loadClass(name); // the JDK's own
                    } catch (ClassNotFoundException notJdk) {
                        // defined here, below
                    }
                    try (InputStream in = source.getResourceAsStream(name.replace('.', '/') + ".class")) {
                        if (in == null) {
                            throw new ClassNotFoundException(name);
                        }
                        byte[] b = in.readAllBytes();
                        c = defineClass(name, b, 0, b.length);
                    } catch (IOException e) {
                        throw new ClassNotFoundException(name, e);
                    }
                }
                if (resolve) {
                    resolveClass(c);
                }
                return c;
            }
        }

        @Override
        public URL getResource(String name) {
            return source.getResource(name);
        }
    }

    @Test
    void theClusterLoadsConfiguresAndAnswersJmxWithoutTheStockClusterJars() throws Throwable {
        ClassLoader loader = new HidingLoader();
        Class<?> type = loader.loadClass(FlotillaCluster.class.getName());
        Object cluster = type.getConstructor().newInstance();
        // Java code calls the setters directly (a method handle resolves one method, as a call does)
        MethodHandles.publicLookup().findVirtual(type, "setReceiverPort", MethodType.methodType(void.class,
                String.class)).invoke(cluster, "4711");
        assertThrows(NoClassDefFoundError.class, type::getMethods, "why ClusterMBean must not reflect");

        Class<?> registryType = loader.loadClass("org.apache.tomcat.util.modeler.Registry");
        Object registry = registryType.getMethod("getRegistry", Object.class).invoke(null, (Object) null);
        registryType.getMethod("loadDescriptors", String.class, ClassLoader.class).invoke(registry,
                "io.flotilla.tomcat", loader);
        Object managed = registryType.getMethod("findManagedBean", String.class).invoke(registry, type.getName());
        Method create = managed.getClass().getMethod("createMBean", Object.class);
        DynamicMBean mbean = (DynamicMBean) create.invoke(managed, cluster);
        assertEquals("4711", mbean.getAttribute("receiverPort"));
        assertEquals(0, mbean.getAttribute("memberCount"));
        assertEquals("NEW", mbean.getAttribute("stateName"));
        assertEquals(ClusterMBean.class.getName(), mbean.getMBeanInfo().getClassName());
    }
}
