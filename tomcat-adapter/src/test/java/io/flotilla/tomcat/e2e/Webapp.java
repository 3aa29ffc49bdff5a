package io.flotilla.tomcat.e2e;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.stream.Stream;

/**
 * Assembles the exploded test webapp ({@code io.flotilla.tomcat.e2e.app.CounterServlet} and its package, compiled with the tests) under a
 * {@code CATALINA_BASE}'s {@code webapps}: {@code WEB-INF/web.xml} marked {@code <distributable/>} and
 * {@code metadata-complete} (no annotation scan), and a {@code META-INF/context.xml} that skips the jar scan, so a node
 * starts in a second or two.
 *
 * <p>Threading: stateless.
 */
final class Webapp {
    /** By name, not by class literal: the demo runs the harness without the servlet API on its class path. */
    private static final String SERVLET_CLASS = "io.flotilla.tomcat.e2e.app.CounterServlet";
    private static final String PACKAGE_PATH = "io/flotilla/tomcat/e2e/app";
    private static final List<String> MAPPINGS = List.of("/ping", "/counter", "/get", "/set-bad");
    private static final String JAKARTA_WEB_APP = """
            <web-app xmlns="https://jakarta.ee/xml/ns/jakartaee"
                     xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                     xsi:schemaLocation="https://jakarta.ee/xml/ns/jakartaee https://jakarta.ee/xml/ns/jakartaee/web-app_6_0.xsd"
                     version="6.0" metadata-complete="true">""";
    /** Tomcat 9 implements Servlet 4.0. */
    private static final String JAVAX_WEB_APP = """
            <web-app xmlns="http://xmlns.jcp.org/xml/ns/javaee"
                     xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                     xsi:schemaLocation="http://xmlns.jcp.org/xml/ns/javaee http://xmlns.jcp.org/xml/ns/javaee/web-app_4_0.xsd"
                     version="4.0" metadata-complete="true">""";

    private Webapp() {
    }

    /**
     * Writes the webapp for {@code line} into {@code appDir} (e.g. {@code base/webapps/app}): for Tomcat 9 the javax
     * build of its classes and a Servlet 4.0 {@code web.xml}.
     */
    static void write(Path appDir, TomcatLine line) throws IOException {
        Path classes = line.javax() ? javaxClasses() : testClasses();
        Path source = classes.resolve(PACKAGE_PATH);
        if (!Files.isDirectory(source)) {
            throw new IllegalStateException("the webapp's classes are not compiled in " + source);
        }
        Path target = appDir.resolve("WEB-INF/classes").resolve(PACKAGE_PATH);
        Files.createDirectories(target);
        try (Stream<Path> files = Files.list(source)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (f.toString().endsWith(".class")) {
                    Files.copy(f, target.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        StringBuilder mappings = new StringBuilder();
        for (String m : MAPPINGS) {
            mappings.append("  <servlet-mapping><servlet-name>counter</servlet-name><url-pattern>").append(m)
                    .append("</url-pattern></servlet-mapping>\n");
        }
        Files.writeString(appDir.resolve("WEB-INF/web.xml"), """
                <?xml version="1.0" encoding="UTF-8"?>
                %s
                  <display-name>Flotilla e2e counter</display-name>
                  <distributable/>
                  <servlet><servlet-name>counter</servlet-name><servlet-class>%s</servlet-class></servlet>
                %s  <session-config><session-timeout>30</session-timeout></session-config>
                </web-app>
                """.formatted(line.javax() ? JAVAX_WEB_APP : JAKARTA_WEB_APP, SERVLET_CLASS, mappings));
        Files.createDirectories(appDir.resolve("META-INF"));
        Files.writeString(appDir.resolve("META-INF/context.xml"), """
                <?xml version="1.0" encoding="UTF-8"?>
                <Context>
                  <JarScanner scanClassPath="false" scanManifest="false"/>
                </Context>
                """);
    }

    /**
     * The javax build of the webapp's classes ({@code tomcat-adapter/tomcat9} compiles them from the same source):
     * system property {@code e2e.webapp.javax.classes}, else {@code tomcat9/target/test-classes}.
     */
    private static Path javaxClasses() {
        return Path.of(System.getProperty("e2e.webapp.javax.classes", "tomcat9/target/test-classes"));
    }

    /** Where the tests' classes are: system property {@code e2e.webapp.classes}, else where this class came from. */
    private static Path testClasses() {
        String configured = System.getProperty("e2e.webapp.classes");
        if (configured != null) {
            return Path.of(configured);
        }
        try {
            return Path.of(Webapp.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot locate the test classes", e);
        }
    }
}
