package io.flotilla.tomcat;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.catalina.loader.WebappClassLoaderBase;
import org.apache.juli.logging.Log;
import org.apache.juli.logging.LogFactory;

/**
 * With {@code allowApplicationClasses} (set by the translation of a stock block that names no {@code
 * allowedClasses}): the classes a web application defines itself, those under
 * its {@code /WEB-INF/classes}, are allowed as session attribute values by their exact names, so the application's
 * own session objects (Tomcat's {@code examples} cart, {@code sessions.DummyCart}, for one) replicate as they did
 * with stock, which replicates anything {@code Serializable}. Libraries ({@code /WEB-INF/lib}, {@code
 * $CATALINA_HOME/lib}) are not: their classes replicate only when {@code allowedClasses} names them, and classes in
 * {@linkplain GadgetClasses known gadget packages} never do. The JDK's legacy synchronized collections ({@code
 * Vector}, {@code Stack}, {@code Hashtable}), which such objects often hold, are allowed with them.
 *
 * <p>Threading: stateless; called when a web application's manager starts.
 */
final class ApplicationClasses {
    /** Legacy JDK collections application session objects commonly hold (Tomcat 9's examples cart: a Vector). */
    static final List<String> LEGACY_COLLECTIONS = List.of("java.util.Vector", "java.util.Stack",
            "java.util.Hashtable");
    private static final String CLASSES = "/WEB-INF/classes/";
    private static final Pattern NAME = Pattern.compile("[A-Za-z_$][A-Za-z0-9_$]*(\\.[A-Za-z_$][A-Za-z0-9_$]*)*");
    /** Bounds the walk of a pathological tree. */
    private static final int MAX_CLASSES = 200_000;
    private static final Log log = LogFactory.getLog(ApplicationClasses.class);

    private ApplicationClasses() {
    }

    /**
     * The allowlist patterns for the web application whose class loader is {@code loader}: its {@code
     * /WEB-INF/classes} when the loader is Tomcat's and that folder is a directory (an unpacked application, Tomcat's
     * default {@code unpackWARs}); a packed WAR's classes are not listed (name them in {@code allowedClasses}).
     */
    static List<String> patterns(ClassLoader loader) {
        List<String> out = new ArrayList<>(LEGACY_COLLECTIONS);
        if (loader instanceof WebappClassLoaderBase webapp) {
            for (URL url : webapp.getURLs()) {
                if (!url.getPath().endsWith(CLASSES)) {
                    continue; // a library jar of WEB-INF/lib: its classes only through allowedClasses
                }
                if (url.getProtocol().equals("file")) {
                    collect(url, out);
                } else {
                    log.warn("allowApplicationClasses: " + url + " is not a folder (a packed WAR?), so its classes "
                            + "are not listed; unpack the WAR (unpackWARs=\"true\", Tomcat's default) or name them in "
                            + "allowedClasses");
                }
            }
        }
        return out;
    }

    private static void collect(URL url, List<String> out) {
        Path root;
        try {
            root = Path.of(url.toURI());
        } catch (URISyntaxException | IllegalArgumentException e) {
            log.warn("allowApplicationClasses: cannot list " + url + " (" + e + "); name the classes in allowedClasses");
            return;
        }
        try (Stream<Path> files = Files.walk(root)) {
            files.filter(f -> f.getFileName().toString().endsWith(".class")).limit(MAX_CLASSES).forEach(f -> {
                String relative = root.relativize(f).toString().replace(File.separatorChar, '.');
                String name = relative.substring(0, relative.length() - ".class".length());
                if (!name.endsWith("module-info") && !name.endsWith("package-info") && !GadgetClasses.isGadget(name)
                        && NAME.matcher(name).matches()) {
                    out.add(name);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            log.warn("allowApplicationClasses: cannot list " + root + " (" + e + "); name the classes in allowedClasses");
        }
    }
}
