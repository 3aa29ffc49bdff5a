package io.flotilla.tomcat;

import io.flotilla.ConfigurationException;
import io.flotilla.replication.ClassAllowlist;
import java.util.List;

/**
 * Classes known from deserialization gadget chains (ysoserial's and later public ones): the replication allowlist
 * never admits them, neither through an {@code allowedClasses} pattern broad enough to cover them nor as a class
 * found in a web application ({@link ApplicationClasses}).
 *
 * <p>Threading: stateless.
 */
final class GadgetClasses {
    /** Packages whose classes are gadgets or chain links; a class in one (or below) is never allowed. */
    static final List<String> PACKAGES = List.of(
            "org.apache.commons.collections.functors", "org.apache.commons.collections4.functors",
            "org.apache.commons.collections.keyvalue", "org.apache.commons.collections4.keyvalue",
            "org.apache.commons.collections.map", "org.apache.commons.collections4.map",
            "org.apache.commons.beanutils", "org.apache.commons.fileupload.disk", "org.apache.commons.io.output",
            "org.codehaus.groovy.runtime", "org.springframework.beans.factory", "org.springframework.aop",
            "org.springframework.core", "org.springframework.transaction.jta", "com.sun.org.apache.xalan",
            "org.apache.xalan", "com.mchange.v2.c3p0", "org.hibernate.engine", "org.hibernate.property",
            "org.hibernate.tuple", "com.sun.rowset", "com.sun.jndi", "javax.management", "java.rmi", "sun.rmi",
            "org.mozilla.javascript", "bsh", "clojure", "org.python.core", "com.vaadin.data", "net.sf.json",
            "org.apache.myfaces.view", "org.jboss.interceptor", "org.jboss.weld", "com.alibaba.fastjson",
            "com.fasterxml.jackson.databind.node", "com.sun.syndication", "org.apache.wicket.util",
            "java.beans", "java.lang.reflect", "java.lang.invoke", "javax.script", "javax.naming", "sun.reflect",
            "jdk.internal", "javax.xml.transform", "com.sun.corba", "org.apache.naming",
            "org.apache.catalina", "org.apache.tomcat", "org.apache.coyote");

    private GadgetClasses() {
    }

    /** Whether {@code className} lies in one of the {@link #PACKAGES}. */
    static boolean isGadget(String className) {
        for (String p : PACKAGES) {
            if (className.startsWith(p + ".")) {
                return true;
            }
        }
        return false;
    }

    /**
     * Refuses an allowlist pattern that covers a known gadget package ({@code org.apache.**} covers {@code
     * org.apache.commons.collections.functors}).
     */
    static void checkPattern(String pattern) {
        ClassAllowlist one = ClassAllowlist.of(List.of(pattern));
        for (String p : PACKAGES) {
            if (one.isAllowed(p + ".X") || pattern.startsWith(p + ".")) {
                throw ConfigurationException.invalid("allowedClasses", pattern, "it would allow " + p + ".*, "
                        + "classes known from deserialization attacks; name the application's own packages more "
                        + "narrowly (com.example.shop.**)");
            }
        }
    }
}
