package io.flotilla.tomcat;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One element of a stock cluster configuration, independent of where it was read: from {@code server.xml} by the
 * JDK's parser ({@link MigrateCommand}) or from the objects Tomcat's digester built ({@link StockObjects}). Only the
 * attributes the operator set are present ({@code className} is held apart).
 *
 * <p>Threading: immutable, safe to share.
 *
 * @param name the element name ({@code Channel}, {@code Membership}, {@code Member}, {@code Valve}, ...)
 * @param className its {@code className}, or empty
 * @param attributes its other attributes, in document order
 * @param children its nested elements, in document order
 */
record StockElement(String name, String className, Map<String, String> attributes, List<StockElement> children) {
    StockElement {
        className = className == null ? "" : className;
        attributes = Collections.unmodifiableMap(new LinkedHashMap<>(attributes));
        children = List.copyOf(children);
    }

    /** The children named {@code childName}. */
    List<StockElement> children(String childName) {
        return children.stream().filter(c -> c.name.equals(childName)).toList();
    }

    /** The simple class name, for messages. */
    String simpleClassName() {
        return className.substring(className.lastIndexOf('.') + 1);
    }

    /** {@code <Name className="...">} as an operator wrote it. */
    String tag() {
        return "<" + name + (className.isEmpty() ? "" : " className=\"" + className + "\"") + ">";
    }
}
