package io.flotilla.tomcat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The drop-in jar holds Flotilla's own classes and its dependencies relocated under {@code io.flotilla.shaded}, and
 * nothing else: no class, service file or class-name string that could clash with what a webapp or Tomcat brings.
 */
class ShadedJarIT {
    private static final Pattern UNRELOCATED = Pattern.compile(
            "\\[*L?(io[./]netty|com[./]esotericsoftware|org[./]objenesis|io[./]micrometer|org[./]HdrHistogram"
                    + "|org[./]LatencyUtils)[./]");

    /** The jar under test: the drop-in jar for Tomcat 10.1 and 11 (Tomcat9ShadedJarIT: the Tomcat 9 one). */
    Path path() {
        return Path.of(System.getProperty("flotilla.jar", "target/flotilla-tomcat.jar"));
    }

    Path jarPath() {
        Path path = path();
        assertTrue(Files.isRegularFile(path), "the drop-in jar exists: " + path);
        return path;
    }

    JarFile jar() throws IOException {
        return new JarFile(jarPath().toFile());
    }

    @Test
    void everyClassIsFlotillasOwnOrRelocated() throws IOException {
        List<String> stray = new ArrayList<>();
        int relocated = 0;
        try (JarFile jar = jar()) {
            for (JarEntry e : Collections.list(jar.entries())) {
                String name = e.getName().replaceFirst("^META-INF/versions/\\d+/", "");
                if (!name.endsWith(".class")) {
                    continue;
                }
                if (name.startsWith("io/flotilla/shaded/")) {
                    relocated++;
                } else if (!name.startsWith("io/flotilla/")) {
                    stray.add(e.getName());
                }
            }
        }
        assertTrue(stray.isEmpty(), "classes outside io/flotilla: " + stray.subList(0, Math.min(20, stray.size())));
        assertTrue(relocated > 1000, "Netty, Kryo and Micrometer are inside, relocated: " + relocated + " classes");
    }

    @Test
    void noClassOrServiceFileStillNamesAnUnrelocatedPackage() throws IOException {
        List<String> offenders = new ArrayList<>();
        try (JarFile jar = jar()) {
            for (JarEntry e : Collections.list(jar.entries())) {
                if (e.isDirectory()) {
                    continue;
                }
                if (e.getName().startsWith("META-INF/services/")) {
                    String service = e.getName().substring("META-INF/services/".length());
                    try (InputStream in = jar.getInputStream(e)) {
                        String body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                        if (names(service) || body.lines().map(String::trim).anyMatch(ShadedJarIT::names)) {
                            offenders.add(e.getName());
                        }
                    }
                } else if (e.getName().endsWith(".class")) {
                    try (InputStream in = jar.getInputStream(e)) {
                        for (String constant : utf8Constants(in.readAllBytes())) {
                            if (references(constant)) {
                                offenders.add(e.getName() + " -> " + constant);
                            }
                        }
                    }
                }
            }
        }
        assertEquals(List.of(), offenders.subList(0, Math.min(20, offenders.size())),
                offenders.size() + " entries reference an unrelocated package");
    }

    /** A whole name of an unrelocated class or package, dotted or slashed. */
    private static boolean names(String s) {
        return UNRELOCATED.matcher(s).lookingAt() && !s.contains(" ");
    }

    /**
     * A constant that refers to an unrelocated class: a name, a descriptor or signature naming one ({@code
     * Lio/netty/...;}), or a dotted class name used reflectively. Prose (log messages that mention a system
     * property) is not a reference.
     */
    private static boolean references(String constant) {
        return names(constant) || DESCRIPTOR.matcher(constant).find();
    }

    private static final Pattern DESCRIPTOR = Pattern.compile(
            "L(io/netty|com/esotericsoftware|org/objenesis|io/micrometer|org/HdrHistogram|org/LatencyUtils)/");

    /** The UTF-8 entries of a class file's constant pool. */
    static List<String> utf8Constants(byte[] classFile) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(classFile));
        if (in.readInt() != 0xCAFEBABE) {
            throw new IOException("not a class file");
        }
        in.readUnsignedShort();
        in.readUnsignedShort();
        int count = in.readUnsignedShort();
        List<String> out = new ArrayList<>();
        for (int i = 1; i < count; i++) {
            int tag = in.readUnsignedByte();
            switch (tag) {
                case 1 -> out.add(in.readUTF());
                case 7, 8, 16, 19, 20 -> in.skipBytes(2);
                case 15 -> in.skipBytes(3);
                case 3, 4, 9, 10, 11, 12, 17, 18 -> in.skipBytes(4);
                case 5, 6 -> {
                    in.skipBytes(8);
                    i++;
                }
                default -> throw new IOException("unknown constant pool tag " + tag);
            }
        }
        return out;
    }

    @Test
    void tomcatItselfIsNotInside() throws IOException {
        try (JarFile jar = jar()) {
            assertTrue(jar.stream().noneMatch(e -> e.getName().startsWith("org/apache/")), "no Tomcat classes");
        }
    }

    @Test
    @Timeout(60)
    void theMigrateCommandRunsFromTheJarAloneWithoutTomcat() throws Exception {
        Path xml = Path.of(ShadedJarIT.class.getResource("/stock/cluster-howto-10.1.xml").toURI());
        Path javaBin = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(javaBin.toString(), "-jar", jarPath().toString(), "migrate", xml.toString())
                .redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the command ends");
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.contains("<Cluster className=\"io.flotilla.tomcat.FlotillaCluster\""), out);
            assertTrue(out.contains("<Valve className=\"io.flotilla.tomcat.ReplicationValve\" filter=\"\"/>"), out);
        } finally {
            p.destroyForcibly(); // by this object, the process it started; a no-op once it ended
        }
    }
}
