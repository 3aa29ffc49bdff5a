package io.flotilla.tomcat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import javax.management.Attribute;
import javax.management.AttributeNotFoundException;
import javax.management.DynamicMBean;
import org.apache.tomcat.util.modeler.AttributeInfo;
import org.apache.tomcat.util.modeler.ManagedBean;
import org.apache.tomcat.util.modeler.OperationInfo;
import org.apache.tomcat.util.modeler.ParameterInfo;
import org.apache.tomcat.util.modeler.Registry;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The package's {@code mbeans-descriptors.xml}, loaded by Tomcat's own registry: every attribute has a description
 * and is answered, and every getter Flotilla adds is listed (so JMX never silently loses one).
 */
class MBeanDescriptorsTest {
    private static final Map<String, Class<?>> PRIMITIVES = Map.of("int", int.class, "long", long.class, "double",
            double.class, "boolean", boolean.class);
    private static ManagedBean cluster;
    private static ManagedBean manager;

    @BeforeAll
    static void load() {
        Registry registry = Registry.getRegistry(null);
        registry.loadDescriptors("io.flotilla.tomcat", MBeanDescriptorsTest.class.getClassLoader());
        cluster = registry.findManagedBean(FlotillaCluster.class.getName());
        manager = registry.findManagedBean(FlotillaManager.class.getName());
        assertNotNull(cluster, "a descriptor for FlotillaCluster");
        assertNotNull(manager, "a descriptor for FlotillaManager");
    }

    /** Tomcat's registry adds this one to every descriptor and answers it itself. */
    private static final String MODELER_TYPE = "modelerType";

    private static Set<String> names(AttributeInfo[] attributes) {
        return Arrays.stream(attributes).map(AttributeInfo::getName).filter(n -> !n.equals(MODELER_TYPE))
                .collect(Collectors.toSet());
    }

    @Test
    void aStaticClusterShowsItsMemberListAndNoMulticastSettingsAndCountsAreWholeNumbers() throws Exception {
        FlotillaCluster c = new FlotillaCluster();
        c.setMembership("static");
        c.setStaticMembers("127.0.0.1:4000");
        DynamicMBean mbean = cluster.createMBean(c);
        Set<String> shown = Arrays.stream(mbean.getMBeanInfo().getAttributes()).map(a -> a.getName())
                .collect(Collectors.toSet());
        assertTrue(shown.contains("staticMembers") && !shown.contains("address") && !shown.contains("ttl")
                && !shown.contains("autoBind"), shown.toString());
        assertEquals("127.0.0.1:4000", mbean.getAttribute("staticMembers"));
        assertThrows(AttributeNotFoundException.class, () -> mbean.getAttribute("port"));
        assertEquals(0L, mbean.getAttribute("messagesSent"), "a count is a whole number, not 0.0");
    }

    @Test
    void everyClusterAttributeIsDescribedReadOnlyAndAnsweredWithoutReflection() throws Exception {
        assertEquals(ClusterMBean.class.getName(), cluster.getClassName());
        Set<String> expected = new HashSet<>(FlotillaCluster.JMX_RUNTIME);
        expected.addAll(FlotillaCluster.JMX_CONFIGURATION);
        assertEquals(expected, names(cluster.getAttributes()));
        for (String secret : ClusterSettings.SECURITY) {
            assertFalse(expected.contains(secret), secret + " must not be a JMX attribute");
        }
        FlotillaCluster c = new FlotillaCluster();
        c.setReceiverPort("4711");
        DynamicMBean mbean = cluster.createMBean(c);
        for (AttributeInfo a : cluster.getAttributes()) {
            if (a.getName().equals(MODELER_TYPE)) {
                assertEquals(FlotillaCluster.class.getName(), mbean.getAttribute(a.getName()));
                continue;
            }
            assertFalse(a.getDescription() == null || a.getDescription().isBlank(), a.getName());
            assertFalse(a.isWriteable(), a.getName());
            if (a.getName().equals("staticMembers") || ClusterSettings.DNS_ONLY.contains(a.getName())
                    || ClusterSettings.KUBERNETES_ONLY.contains(a.getName())) {
                assertThrows(AttributeNotFoundException.class, () -> mbean.getAttribute(a.getName()),
                        "a multicast cluster shows no static member list and no DNS settings");
                continue;
            }
            Object v = mbean.getAttribute(a.getName());
            assertNotNull(v, a.getName());
            Class<?> type = PRIMITIVES.getOrDefault(a.getType(), null);
            if (type == null) {
                assertEquals(a.getType(), v.getClass().getName(), a.getName());
            }
        }
        assertEquals("4711", mbean.getAttribute("receiverPort"));
        assertEquals(0, mbean.getAttribute("memberCount"));
        assertEquals(FlotillaCluster.class.getName(), mbean.getAttribute("className"));
        assertThrows(AttributeNotFoundException.class, () -> mbean.getAttribute("secret"));
        AttributeNotFoundException e = assertThrows(AttributeNotFoundException.class,
                () -> mbean.setAttribute(new Attribute("receiverPort", "1")));
        assertTrue(e.getMessage().contains("read-only"), e.getMessage());
    }

    @Test
    void everyManagerAttributeAndOperationHasItsMethodAndEveryFlotillaGetterIsListed() throws Exception {
        for (AttributeInfo a : manager.getAttributes()) {
            if (a.getName().equals(MODELER_TYPE)) {
                continue;
            }
            assertFalse(a.getDescription() == null || a.getDescription().isBlank(), a.getName());
            Method getter = FlotillaManager.class.getMethod(a.getGetMethod());
            Class<?> type = PRIMITIVES.containsKey(a.getType()) ? PRIMITIVES.get(a.getType()) : Class.forName(a.getType());
            assertEquals(type, getter.getReturnType(), a.getName());
            if (a.isWriteable()) {
                assertNotNull(FlotillaManager.class.getMethod(a.getSetMethod(), type), a.getName());
            }
        }
        for (OperationInfo o : manager.getOperations()) {
            Class<?>[] params = Arrays.stream(o.getSignature()).map(ParameterInfo::getType).map(t -> String.class)
                    .toArray(Class<?>[]::new);
            Method m = FlotillaManager.class.getMethod(o.getName(), params);
            assertEquals(o.getReturnType(), m.getReturnType().getName(), o.getName());
        }
        Set<String> listed = names(manager.getAttributes());
        for (Method m : FlotillaManager.class.getDeclaredMethods()) {
            String n = m.getName();
            boolean getter = Modifier.isPublic(m.getModifiers()) && m.getParameterCount() == 0
                    && (n.startsWith("get") || n.startsWith("is"));
            if (getter) {
                String attribute = Character.toLowerCase(n.charAt(n.startsWith("is") ? 2 : 3))
                        + n.substring(n.startsWith("is") ? 3 : 4);
                assertTrue(listed.contains(attribute), attribute + " is a FlotillaManager getter missing in the descriptor");
            }
        }
    }
}
