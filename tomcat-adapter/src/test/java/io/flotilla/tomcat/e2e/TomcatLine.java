package io.flotilla.tomcat.e2e;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The Tomcat distributions the end-to-end tests run on, unpacked by Maven ({@code maven-dependency-plugin}, phase
 * {@code pre-integration-test}) from {@code org.apache.tomcat:tomcat:<version>:tar.gz} into
 * {@code tomcat-adapter/target/tomcat-<line>}, which is used as {@code CATALINA_HOME}.
 *
 * <p>Threading: immutable.
 */
public enum TomcatLine {
    TOMCAT_10_1("10.1", "e2e.tomcat10.home"),
    TOMCAT_11_0("11.0", "e2e.tomcat11.home");

    private final String line;
    private final String homeProperty;

    TomcatLine(String line, String homeProperty) {
        this.line = line;
        this.homeProperty = homeProperty;
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
