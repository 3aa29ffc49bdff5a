package io.flotilla.tomcat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.tomcat.e2e.ClusterConfig;
import io.flotilla.tomcat.e2e.TomcatLine;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The Tomcat 9 drop-in jar ({@code flotilla-tomcat9}, built by {@code tomcat-adapter/tomcat9} from this module's
 * sources): every check of {@link ShadedJarIT}, the same adapter classes as the Tomcat 10.1/11 jar, and nothing in
 * them that still names a {@code jakarta} package (a string the compiler cannot see, e.g. a class name used by
 * reflection, would fail at run time on Tomcat 9).
 */
class Tomcat9ShadedJarIT extends ShadedJarIT {

    @Override
    Path path() {
        return ClusterConfig.dropInJar(TomcatLine.TOMCAT_9_0);
    }

    @Test
    void sameAdapterClassesAsTheJakartaJarNamingJavaxNeverJakarta() throws IOException {
        List<String> jakarta = new ArrayList<>();
        boolean javax = false;
        List<String> classes;
        try (JarFile jar = jar()) {
            classes = adapterEntries(jar);
            for (String name : classes) {
                try (InputStream in = jar.getInputStream(jar.getEntry(name))) {
                    for (String constant : utf8Constants(in.readAllBytes())) {
                        if (constant.contains("jakarta/") || constant.matches("(?s).*\\bjakarta\\.[a-z].*")) {
                            jakarta.add(name + " -> " + constant);
                        }
                        javax |= constant.contains("javax/servlet/");
                    }
                }
            }
        }
        assertEquals(List.of(), jakarta, "the javax build names no jakarta package");
        assertTrue(javax, "the javax build uses javax.servlet");
        try (JarFile jakartaJar = new JarFile(ClusterConfig.dropInJar(TomcatLine.TOMCAT_10_1).toFile())) {
            assertEquals(adapterEntries(jakartaJar), classes, "both jars are built from the same sources");
        }
    }

    private static List<String> adapterEntries(JarFile jar) {
        return jar.stream().map(JarEntry::getName)
                .filter(n -> n.startsWith("io/flotilla/tomcat/") && n.endsWith(".class")).sorted()
                .collect(Collectors.toList());
    }
}
