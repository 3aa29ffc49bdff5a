package io.flotilla.replication;

import io.flotilla.ConfigurationException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The classes the replication codec may write and read, matched by name before any class is loaded. A pattern is
 * one of:
 * <ul>
 *   <li>{@code com.example.Cart}: exactly that class (nested classes are named {@code com.example.Cart$Item});
 *   <li>{@code com.example.*}: every class of package {@code com.example}, nested classes included, but not its
 *       sub-packages;
 *   <li>{@code com.example.**}: the package and all its sub-packages.
 * </ul>
 * An array is allowed when its element type is a primitive, {@code Object} or an allowed class; an enum when its
 * class is allowed. The {@linkplain #DEFAULT_PATTERNS defaults} (JDK value types and collections) are always included.
 *
 * <p>Threading: immutable, safe to share.
 */
public final class ClassAllowlist {
    /**
     * The JDK classes every node accepts: values, time, math, text formats, {@code URI} and {@code URL},
     * {@code Locale}, {@code Currency}, {@code UUID}, the atomics and the whole {@code java.util} and
     * {@code java.util.concurrent} collection family (wrappers, immutable collections and their serial proxies
     * and comparators included), and what Java serialization needs to describe them (their supertypes, the
     * {@code Throwable} family and its stack trace elements). Left out on purpose, so an application can only
     * let them in by name: {@code java.lang.Class}, reflection, {@code java.lang.invoke} (serialized lambdas),
     * {@code java.rmi}, {@code javax.management}, {@code javax.naming}, {@code java.beans}, {@code java.io.File},
     * XML and scripting classes, {@code java.net} other than {@code URI} and {@code URL}, and every
     * {@code sun.*} and {@code com.sun.*} class but the two calendar internals below (docs/security.md).
     */
    public static final List<String> DEFAULT_PATTERNS = List.of(
            "java.lang.Number", "java.lang.Enum",
            "java.lang.Boolean", "java.lang.Byte", "java.lang.Short", "java.lang.Character", "java.lang.Integer",
            "java.lang.Long", "java.lang.Float", "java.lang.Double", "java.lang.String",
            "java.lang.String$CaseInsensitiveComparator",
            "java.lang.Throwable", "java.lang.Exception", "java.lang.RuntimeException", "java.lang.Error",
            "java.lang.StackTraceElement", "java.lang.IllegalStateException",
            "java.lang.IllegalArgumentException", "java.lang.UnsupportedOperationException",
            "java.lang.NullPointerException", "java.lang.ArithmeticException", "java.lang.IndexOutOfBoundsException",
            "java.lang.NumberFormatException", "java.lang.ClassCastException", "java.io.IOException",
            "java.io.UncheckedIOException",
            "java.math.*",
            "java.time.**",
            "java.util.*", "java.util.concurrent.*", "java.util.concurrent.atomic.*",
            "java.util.concurrent.locks.*", "java.util.regex.Pattern",
            "java.text.*",
            "java.net.URI", "java.net.URL",
            "java.sql.Timestamp", "java.sql.Date", "java.sql.Time",
            "sun.util.calendar.ZoneInfo", "sun.util.BuddhistCalendar");
    private static final Pattern SYNTAX = Pattern.compile(
            "[A-Za-z_$][A-Za-z0-9_$]*(\\.[A-Za-z_$][A-Za-z0-9_$]*)*(\\.\\*\\*?)?");
    private static final String PRIMITIVE_CODES = "ZBCSIJFD";
    private static final int MAX_ARRAY_DIMENSIONS = 255;

    private final List<String> patterns;
    private final Set<String> exact = new HashSet<>();
    private final Set<String> packages = new HashSet<>();
    private final Set<String> packageTrees = new HashSet<>();

    private ClassAllowlist(List<String> patterns) {
        this.patterns = List.copyOf(patterns);
        for (String p : this.patterns) {
            if (p.endsWith(".**")) {
                packageTrees.add(p.substring(0, p.length() - 3));
            } else if (p.endsWith(".*")) {
                packages.add(p.substring(0, p.length() - 2));
            } else {
                exact.add(p);
            }
        }
    }

    /** The defaults only. */
    public static ClassAllowlist defaults() {
        return of(List.of());
    }

    /**
     * The defaults plus {@code applicationPatterns}.
     *
     * @throws ConfigurationException naming the first pattern that is not a valid class, package or package tree
     */
    public static ClassAllowlist of(Collection<String> applicationPatterns) {
        Set<String> all = new LinkedHashSet<>(DEFAULT_PATTERNS);
        for (String p : applicationPatterns) {
            checkPattern(p);
            all.add(p);
        }
        return new ClassAllowlist(new ArrayList<>(all));
    }

    static void checkPattern(String p) {
        if (p == null || p.length() > 1024 || !SYNTAX.matcher(p).matches()) {
            throw ConfigurationException.invalid("allowedClasses", p,
                    "a class name (com.example.Cart), a package (com.example.*) or a package tree (com.example.**)");
        }
    }

    /** Every pattern, defaults first. */
    public List<String> patterns() {
        return patterns;
    }

    /** Whether the class of this binary name ({@link Class#getName()} form) may be written and read. */
    public boolean isAllowed(String className) {
        if (className == null || className.isEmpty() || className.length() > 1024) {
            return false;
        }
        if (className.charAt(0) == '[') {
            int dims = 0;
            while (dims < className.length() && className.charAt(dims) == '[') {
                dims++;
            }
            if (dims > MAX_ARRAY_DIMENSIONS || dims == className.length()) {
                return false;
            }
            String element = className.substring(dims);
            if (element.length() == 1) {
                return PRIMITIVE_CODES.indexOf(element.charAt(0)) >= 0;
            }
            if (element.length() > 2 && element.charAt(0) == 'L' && element.charAt(element.length() - 1) == ';') {
                String name = element.substring(1, element.length() - 1);
                return name.indexOf('[') < 0 && (name.equals("java.lang.Object") || isAllowedClass(name));
            }
            return false;
        }
        return isAllowedClass(className);
    }

    private boolean isAllowedClass(String name) {
        if (exact.contains(name)) {
            return true;
        }
        int dot = name.lastIndexOf('.');
        if (dot <= 0) {
            return false;
        }
        String pkg = name.substring(0, dot);
        if (packages.contains(pkg)) {
            return true;
        }
        while (true) {
            if (packageTrees.contains(pkg)) {
                return true;
            }
            int d = pkg.lastIndexOf('.');
            if (d <= 0) {
                return false;
            }
            pkg = pkg.substring(0, d);
        }
    }

    /** The narrowest pattern that admits {@code className}: the class itself, or an array's element class. */
    static String narrowestPattern(String className) {
        String base = className;
        while (base.startsWith("[")) {
            base = base.substring(1);
        }
        if (base.startsWith("L") && base.endsWith(";")) {
            base = base.substring(1, base.length() - 1);
        }
        return base;
    }

    @Override
    public String toString() {
        return "ClassAllowlist" + patterns;
    }
}
