package io.flotilla.tomcat;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;

/**
 * Reads the stock objects Tomcat's digester built for the nested elements of a {@code <Cluster>} ({@code
 * ClusterRuleSet}: a Tribes {@code GroupChannel} with its membership, receiver, sender and interceptors, a {@code
 * DeltaManager}, a {@code FarmWarDeployer}, cluster listeners, stock valves) back into {@link StockElement}s for
 * {@link StockTranslation}. An attribute is a property with a public setter of a simple type and a getter; it counts
 * as set when its value differs from the one of a new instance of the same class (a value equal to stock's default
 * means what no value means). Only reflection is used, so this class loads where {@code catalina-ha} and {@code
 * catalina-tribes} are absent (then there are no such objects to read).
 *
 * <p>Threading: stateless; called on the thread that starts the cluster.
 */
final class StockObjects {
    private static final Set<Class<?>> SIMPLE = Set.of(String.class, int.class, long.class, boolean.class,
            short.class, byte.class, double.class, float.class, Integer.class, Long.class, Boolean.class);
    /** Properties that are state or JMX naming rather than configuration. */
    private static final Set<String> NOT_ATTRIBUTES = Set.of("container", "cluster", "next", "previous", "channel",
            "state", "name", "context", "jvmRoute");
    /** Where {@code domain} is a component's JMX domain, not Tribes' membership domain. */
    private static final Set<String> JMX_DOMAIN = Set.of("Valve", "Manager", "Deployer", "ClusterListener");

    private StockObjects() {
    }

    /** {@code <Channel>} with {@code Membership}, {@code Receiver}, {@code Sender} and {@code Interceptor}s. */
    static StockElement channel(Object channel) {
        List<StockElement> children = new ArrayList<>();
        Object membership = call(channel, "getMembershipService");
        if (membership != null) {
            List<StockElement> members = new ArrayList<>();
            Object list = call(membership, "getStaticMembers");
            if (list instanceof Iterable<?> it) {
                for (Object m : it) {
                    members.add(member(m));
                }
            }
            children.add(element("Membership", membership, members));
        }
        Object receiver = call(channel, "getChannelReceiver");
        if (receiver != null) {
            children.add(element("Receiver", receiver, List.of()));
        }
        Object sender = call(channel, "getChannelSender");
        if (sender != null) {
            Object transport = call(sender, "getTransport");
            children.add(element("Sender", sender, transport == null ? List.of()
                    : List.of(element("Transport", transport, List.of()))));
        }
        if (call(channel, "getInterceptors") instanceof Iterator<?> it) {
            while (it.hasNext()) {
                Object interceptor = it.next();
                List<StockElement> members = new ArrayList<>();
                if (call(interceptor, "getMembers") instanceof Object[] array) {
                    for (Object m : array) {
                        members.add(member(m));
                    }
                }
                children.add(element("Interceptor", interceptor, members));
            }
        }
        return element("Channel", channel, children);
    }

    /** A stock object with no nested elements of interest ({@code Manager}, {@code Deployer}, a valve, ...). */
    static StockElement of(String elementName, Object o) {
        return element(elementName, o, List.of());
    }

    private static StockElement member(Object m) {
        Map<String, String> a = new LinkedHashMap<>();
        a.put("host", String.valueOf(call(m, "getHostname")));
        a.put("port", String.valueOf(call(m, "getPort")));
        return new StockElement("Member", m.getClass().getName(), a, List.of());
    }

    private static StockElement element(String name, Object o, List<StockElement> children) {
        return new StockElement(name, o.getClass().getName(), attributes(name, o), children);
    }

    /**
     * The properties of {@code o} whose values differ from those of a new instance of its class. Only Tomcat's own
     * classes are read: an operator's class (a valve of its own, say) is never instantiated here, and its settings
     * are its own business.
     */
    static Map<String, String> attributes(String elementName, Object o) {
        if (!o.getClass().getName().startsWith("org.apache.catalina.")) {
            return Map.of();
        }
        Object fresh;
        try {
            fresh = o.getClass().getConstructor().newInstance();
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            fresh = null; // no default to compare with: every readable property counts as set
        }
        Map<String, String> out = new LinkedHashMap<>();
        Method[] methods;
        try {
            methods = o.getClass().getMethods();
        } catch (LinkageError e) {
            return out; // a signature names a class that is not here: nothing can be read
        }
        Arrays.sort(methods, (x, y) -> x.getName().compareTo(y.getName()));
        for (Method setter : methods) {
            String n = setter.getName();
            if (!n.startsWith("set") || n.length() < 4 || setter.getParameterCount() != 1
                    || Modifier.isStatic(setter.getModifiers()) || !SIMPLE.contains(setter.getParameterTypes()[0])) {
                continue;
            }
            String property = Character.toLowerCase(n.charAt(3)) + n.substring(4);
            if (NOT_ATTRIBUTES.contains(property) || (property.equals("domain") && JMX_DOMAIN.contains(elementName))
                    || out.containsKey(property)) {
                continue;
            }
            if (elementName.equals("Membership") && property.equals("ttl")) {
                // McastService answers 0 for a TTL never set (the socket keeps the system's 1): an explicit ttl="0",
                // the one that keeps datagrams on the host, would read as unset. Its properties say what was set.
                Object props = call(o, "getProperties");
                if (props instanceof Properties p && p.getProperty("mcastTTL") != null) {
                    out.put(property, p.getProperty("mcastTTL").trim());
                }
                continue;
            }
            if (elementName.equals("Receiver") && property.equals("address")) {
                // Tribes' getAddress() resolves "auto" in place: read the text the digester set instead
                Object value = field(o, "host");
                if (value != null && !value.equals(field(fresh, "host"))) {
                    out.put(property, value.toString());
                }
                continue;
            }
            Method getter = getter(o.getClass(), n.substring(3));
            if (getter == null) {
                continue;
            }
            Object value = text(invoke(getter, o));
            if (value != null && (fresh == null || !Objects.equals(value, text(invoke(getter, fresh))))) {
                out.put(property, value.toString());
            }
        }
        return out;
    }

    private static Method getter(Class<?> c, String suffix) {
        for (String prefix : List.of("get", "is")) {
            try {
                Method m = c.getMethod(prefix + suffix);
                if (m.getReturnType() != void.class) {
                    return m;
                }
            } catch (NoSuchMethodException e) {
                // try the next prefix
            }
        }
        return null;
    }

    /** A value as the attribute text it came from (byte arrays, such as a membership domain, as UTF-8). */
    private static Object text(Object value) {
        if (value instanceof byte[] b) {
            return b.length == 0 ? null : new String(b, StandardCharsets.UTF_8);
        }
        return value == null || SIMPLE.contains(value.getClass()) ? value : null;
    }

    private static Object invoke(Method m, Object target) {
        try {
            return m.invoke(target);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null; // a property that cannot be read is not an attribute the operator can have set
        }
    }

    /** A declared field of {@code o}'s class or a superclass, or null. */
    private static Object field(Object o, String name) {
        for (Class<?> c = o == null ? null : o.getClass(); c != null; c = c.getSuperclass()) {
            try {
                Field f = c.getDeclaredField(name);
                f.setAccessible(true);
                return f.get(o);
            } catch (NoSuchFieldException e) {
                // look in the superclass
            } catch (ReflectiveOperationException | RuntimeException e) {
                return null;
            }
        }
        return null;
    }

    private static Object call(Object target, String method) {
        try {
            return invoke(target.getClass().getMethod(method), target);
        } catch (NoSuchMethodException e) {
            return null;
        }
    }
}
