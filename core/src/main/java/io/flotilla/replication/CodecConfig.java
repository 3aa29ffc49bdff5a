package io.flotilla.replication;

import io.flotilla.ConfigurationException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The settings of an {@link AttributeCodec}, immutable and checked once: the compact constructor refuses a bad
 * value with a {@link ConfigurationException} naming the attribute, the value and what is allowed. Every default
 * is explained on the builder's setter.
 *
 * <p>Threading: immutable, safe to share.
 *
 * @param allowedClasses the application's allowlist patterns, added to {@link ClassAllowlist#DEFAULT_PATTERNS}
 * @param javaSerializationClasses exact names of allowlisted {@code Serializable} classes to write with Java
 *     serialization although the codec's rule would give them to Kryo (classes with {@code writeObject},
 *     {@code readResolve}, {@code Externalizable} and the like, and JDK classes, already go that way), read back
 *     under an {@code ObjectInputFilter}
 * @param maxDepth the deepest nesting of objects in one value
 * @param maxCollectionSize the most elements of one collection or entries of one map
 * @param maxArrayLength the longest array
 * @param maxStringLength the longest string, in characters
 * @param maxValueBytes the largest encoded value
 * @param allowlistSetting how the operator extends the allowlist, as error messages show it: {@code {patterns}}
 *     stands for the application's patterns plus the narrowest one that would admit the refused class, comma
 *     separated; {@code {pattern}} for that one pattern alone
 */
public record CodecConfig(
        List<String> allowedClasses,
        Set<String> javaSerializationClasses,
        int maxDepth,
        int maxCollectionSize,
        int maxArrayLength,
        int maxStringLength,
        int maxValueBytes,
        String allowlistSetting) {
    /** The default {@link #allowlistSetting()}: the builder call an embedding application makes. */
    public static final String BUILDER_SETTING = "the codec's allowedClasses: CodecConfig.builder().allow(\"{pattern}\")";

    public CodecConfig {
        if (allowedClasses == null) {
            throw ConfigurationException.invalid("allowedClasses", null, "a list of patterns, possibly empty");
        }
        allowedClasses = List.copyOf(allowedClasses);
        for (String p : allowedClasses) {
            ClassAllowlist.checkPattern(p);
        }
        if (javaSerializationClasses == null) {
            throw ConfigurationException.invalid("javaSerializationClasses", null, "a set of class names, possibly empty");
        }
        javaSerializationClasses = Set.copyOf(javaSerializationClasses);
        ClassAllowlist allowlist = ClassAllowlist.of(allowedClasses);
        for (String c : javaSerializationClasses) {
            if (c.endsWith("*") || !allowlist.isAllowed(c)) {
                throw ConfigurationException.invalid("javaSerializationClasses", c,
                        "exact class names that allowedClasses also matches");
            }
        }
        if (maxDepth < 2 || maxDepth > 1000) {
            throw ConfigurationException.invalid("maxDepth", maxDepth, "2-1000");
        }
        if (maxCollectionSize < 1 || maxCollectionSize > (1 << 28)) {
            throw ConfigurationException.invalid("maxCollectionSize", maxCollectionSize, "1-" + (1 << 28));
        }
        if (maxArrayLength < 1 || maxArrayLength > (1 << 30)) {
            throw ConfigurationException.invalid("maxArrayLength", maxArrayLength, "1-" + (1 << 30));
        }
        if (maxStringLength < 1 || maxStringLength > (1 << 30)) {
            throw ConfigurationException.invalid("maxStringLength", maxStringLength, "1-" + (1 << 30));
        }
        if (maxValueBytes < 1024 || maxValueBytes > (1 << 30)) {
            throw ConfigurationException.invalid("maxValueBytes", maxValueBytes, "1024-" + (1 << 30));
        }
        if (allowlistSetting == null || allowlistSetting.length() > 200
                || !allowlistSetting.contains("{pattern}") && !allowlistSetting.contains("{patterns}")) {
            throw ConfigurationException.invalid("allowlistSetting", allowlistSetting,
                    "a text of at most 200 characters containing {patterns} or {pattern}");
        }
    }

    /**
     * The advice a refusal of {@code className} ends with: the narrowest pattern that admits it, shown as the
     * operator sets it ({@link #allowlistSetting()}).
     */
    public String howToAllow(String className) {
        String pattern = ClassAllowlist.narrowestPattern(className);
        List<String> all = new ArrayList<>(allowedClasses);
        all.add(pattern);
        return "allow it with " + allowlistSetting.replace("{patterns}", String.join(",", all))
                .replace("{pattern}", pattern);
    }

    /** The allowlist these settings describe: defaults plus {@link #allowedClasses()}. */
    public ClassAllowlist allowlist() {
        return ClassAllowlist.of(allowedClasses);
    }

    /** A builder with every default set. */
    public static Builder builder() {
        return new Builder();
    }

    /** The defaults: JDK types only, no opted-in Java serialization. */
    public static CodecConfig defaults() {
        return builder().build();
    }

    /**
     * Builds a {@link CodecConfig}. Nothing is checked until {@link #build()}.
     *
     * <p>Threading: not thread-safe; use from one thread.
     */
    public static final class Builder {
        private final List<String> allowedClasses = new ArrayList<>();
        private final Set<String> javaSerializationClasses = new LinkedHashSet<>();
        private int maxDepth = 64;
        private int maxCollectionSize = 1 << 20;
        private int maxArrayLength = 1 << 24;
        private int maxStringLength = 1 << 22;
        private int maxValueBytes = 8 << 20;
        private String allowlistSetting = BUILDER_SETTING;

        private Builder() {
        }

        /** Default none: only JDK value types and collections. Adds patterns such as {@code com.example.**}. */
        public Builder allow(String... patterns) {
            allowedClasses.addAll(List.of(patterns));
            return this;
        }

        /** As {@link #allow(String...)}. */
        public Builder allow(Collection<String> patterns) {
            allowedClasses.addAll(patterns);
            return this;
        }

        /**
         * Default none: the codec's rule already sends classes with their own serialization contract there. Classes
         * that must go through Java serialization anyway; each must also be allowed.
         */
        public Builder javaSerialization(String... classNames) {
            javaSerializationClasses.addAll(List.of(classNames));
            return this;
        }

        /** Default 64: deeper than any sane session object, far below what overflows a thread stack. */
        public Builder maxDepth(int v) {
            maxDepth = v;
            return this;
        }

        /** Default 1,048,576 elements: more than a session should hold, small enough to bound a bad input. */
        public Builder maxCollectionSize(int v) {
            maxCollectionSize = v;
            return this;
        }

        /** Default 16,777,216 elements. */
        public Builder maxArrayLength(int v) {
            maxArrayLength = v;
            return this;
        }

        /** Default 4,194,304 characters. */
        public Builder maxStringLength(int v) {
            maxStringLength = v;
            return this;
        }

        /** Default 8 MiB: half the default frame limit, so one value always fits in a message. */
        public Builder maxValueBytes(int v) {
            maxValueBytes = v;
            return this;
        }

        /**
         * Default {@link CodecConfig#BUILDER_SETTING}. How refusal messages tell the operator to extend the
         * allowlist, in the terms of the host's configuration; the Tomcat adapter sets
         * {@code <Cluster allowedClasses="{patterns}">}.
         */
        public Builder allowlistSetting(String v) {
            allowlistSetting = v;
            return this;
        }

        /** @throws ConfigurationException naming the first bad attribute */
        public CodecConfig build() {
            return new CodecConfig(allowedClasses, javaSerializationClasses, maxDepth, maxCollectionSize,
                    maxArrayLength, maxStringLength, maxValueBytes, allowlistSetting);
        }
    }
}
