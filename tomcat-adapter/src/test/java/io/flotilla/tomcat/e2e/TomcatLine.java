package io.flotilla.tomcat.e2e;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The Tomcat distributions the end-to-end tests run on, unpacked by Maven ({@code maven-dependency-plugin}, phase
 * {@code pre-integration-test}) from {@code org.apache.tomcat:tomcat:<version>:tar.gz} into
 * {@code tomcat-adapter/target/tomcat-<line>}, which is used as {@code CATALINA_HOME}. Tomcat 9 runs the javax build
 * of the adapter and of the test webapp ({@code tomcat-adapter/tomcat9}).
 *
 * <p>Threading: immutable.
 */
public enum TomcatLine {
    /** {@code javax.servlet}: runs the {@code flotilla-tomcat9} jar and the javax build of the test webapp. */
    TOMCAT_9_0("9.0", "e2e.tomcat9.home", true),
    TOMCAT_10_1("10.1", "e2e.tomcat10.home", false),
    TOMCAT_11_0("11.0", "e2e.tomcat11.home", false);

    private final String line;
    private final String homeProperty;
    private final boolean javax;

    TomcatLine(String line, String homeProperty, boolean javax) {
        this.line = line;
        this.homeProperty = homeProperty;
        this.javax = javax;
    }

    /** The line named {@code 9.0}, {@code 10.1} or {@code 11.0}. */
    public static TomcatLine of(String line) {
        for (TomcatLine l : values()) {
            if (l.line.equals(line)) {
                return l;
            }
        }
        throw new IllegalArgumentException("Tomcat line must be 9.0, 10.1 or 11.0, not " + line);
    }

    /** Whether its Servlet API is {@code javax.servlet} (Tomcat 9) rather than {@code jakarta.servlet}. */
    public boolean javax() {
        return javax;
    }

    /** {@code CATALINA_HOME}: the system property set by the failsafe configuration, else the module's target. */
    public Path home() {
        String configured = System.getProperty(homeProperty);
        Path home = configured != null ? Path.of(configured) : Path.of("target", "tomcat-" + line);
        return home.toAbsolutePath();
    }

    /** Fails with what to run when the distribution is not unpacked. */
    public Path requireHome() {
        Path home = home();
        if (!Files.isRegularFile(home.resolve("bin/catalina.sh")) || !Files.isRegularFile(home.resolve("lib/catalina.jar"))) {
            throw new IllegalStateException("Tomcat " + line + " is not unpacked in " + home
                    + "; run `mvn -B -pl tomcat-adapter -am verify` (phase pre-integration-test unpacks it)");
        }
        return home;
    }

    @Override
    public String toString() {
        return "Tomcat " + line;
    }
}
