package io.flotilla.tomcat;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NamedNodeMap;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.xml.sax.SAXException;

/**
 * {@code java -jar flotilla-tomcat-<version>.jar migrate conf/server.xml}: prints, for every {@code <Cluster>} of a
 * {@code server.xml}, the equivalent Flotilla {@code <Cluster>} and every stock setting it dropped and why (the same
 * {@link StockTranslation} that {@link FlotillaCluster} applies when it finds a stock block at start). Reads the
 * file with the JDK's XML parser (no Tomcat needed; an entity may include a local file, as in Tomcat, nothing else is
 * fetched) and changes nothing.
 * Exit status 0 when every cluster translates, 1 when one has a setting Flotilla refuses, 2 on a usage or read
 * error.
 *
 * <p>Threading: a command-line program; {@link #run} is for one thread.
 */
public final class MigrateCommand {
    private static final String INDENT = "         ";

    private MigrateCommand() {
    }

    /** The command line: {@code migrate <server.xml>} (or the file alone). */
    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        List<String> a = new ArrayList<>(List.of(args));
        if (!a.isEmpty() && a.get(0).equals("migrate")) {
            a.remove(0);
        }
        if (a.size() != 1 || a.get(0).startsWith("-")) {
            err.println("usage: java -jar flotilla-tomcat.jar migrate <path to server.xml>");
            err.println("prints the Flotilla <Cluster> equivalent to each stock <Cluster> and what it dropped and why");
            return 2;
        }
        Document doc;
        try {
            doc = parse(Path.of(a.get(0)));
        } catch (IOException | SAXException | ParserConfigurationException e) {
            err.println("cannot read " + a.get(0) + ": " + e.getMessage());
            return 2;
        }
        NodeList clusters = doc.getElementsByTagName("Cluster");
        if (clusters.getLength() == 0) {
            out.println("<!-- " + a.get(0) + " has no <Cluster>: nothing to migrate -->");
            return 0;
        }
        boolean refused = false;
        for (int i = 0; i < clusters.getLength(); i++) {
            refused |= migrate((Element) clusters.item(i), out);
        }
        return refused ? 1 : 0;
    }

    /** Prints one cluster's translation; returns whether something was refused. */
    private static boolean migrate(Element cluster, PrintStream out) {
        StockElement stock = element(cluster);
        StockTranslation.Result t = StockTranslation.translate(stock);
        Element parent = cluster.getParentNode() instanceof Element p ? p : null;
        out.println("<!-- " + (parent == null ? "" : "in <" + parent.getTagName()
                + (parent.hasAttribute("name") ? " name=\"" + parent.getAttribute("name") + "\"" : "") + ">, ")
                + "from <Cluster className=\"" + stock.className() + "\">"
                + " by flotilla-tomcat migrate -->");
        StringBuilder sb = new StringBuilder("<Cluster className=\"" + StockTranslation.FLOTILLA_CLUSTER + "\"");
        for (Map.Entry<String, String> e : t.attributes().entrySet()) {
            sb.append('\n').append(INDENT).append(e.getKey()).append("=\"").append(escape(e.getValue())).append('"');
        }
        List<StockElement> nested = new ArrayList<>(t.valves());
        if (t.deployer() != null) {
            nested.add(t.deployer());
        }
        nested.addAll(stock.children("Listener"));
        if (nested.isEmpty()) {
            out.println(sb.append("/>"));
        } else {
            out.println(sb.append('>'));
            for (StockElement v : nested) {
                StringBuilder line = new StringBuilder("  <" + v.name() + " className=\"" + v.className() + "\"");
                v.attributes().forEach((k, val) -> line.append(' ').append(k).append("=\"").append(escape(val))
                        .append('"'));
                out.println(line.append("/>"));
            }
            out.println("</Cluster>");
        }
        List<String> unknown = t.attributes().keySet().stream().filter(k -> !ClusterSettings.DEFAULTS.containsKey(k))
                .map(k -> k + "=\"" + t.attributes().get(k) + "\": " + ClusterSettings.unknown(k)).toList();
        section(out, "Refused: the cluster does not start until you change these", texts(t, StockTranslation.Kind.REFUSED),
                unknown);
        section(out, "Dropped: no equivalent, and the behaviour differs", texts(t, StockTranslation.Kind.DROPPED),
                List.of());
        section(out, "Ignored: no equivalent, and what replicates does not change",
                texts(t, StockTranslation.Kind.TUNING), List.of());
        section(out, "Built in: nothing to configure", texts(t, StockTranslation.Kind.BUILT_IN), List.of());
        out.println();
        return !t.notes(StockTranslation.Kind.REFUSED).isEmpty() || !unknown.isEmpty();
    }

    private static List<String> texts(StockTranslation.Result t, StockTranslation.Kind kind) {
        return t.notes(kind).stream().map(StockTranslation.Note::text).toList();
    }

    private static void section(PrintStream out, String title, List<String> lines, List<String> more) {
        if (lines.isEmpty() && more.isEmpty()) {
            return;
        }
        out.println("<!-- " + title + ":");
        for (String l : lines) {
            out.println("  - " + l.replace("--", "- -"));
        }
        for (String l : more) {
            out.println("  - " + l.replace("--", "- -"));
        }
        out.println("-->");
    }

    /** An element as the digester would see it: className apart, the other attributes, the nested elements. */
    static StockElement element(Element e) {
        Map<String, String> attributes = new LinkedHashMap<>();
        NamedNodeMap map = e.getAttributes();
        for (int i = 0; i < map.getLength(); i++) {
            Node n = map.item(i);
            // xml:base marks content the parser took from an included file; xmlns is no attribute of a component
            if (!n.getNodeName().equals("className") && !n.getNodeName().startsWith("xml")) {
                attributes.put(n.getNodeName(), n.getNodeValue());
            }
        }
        List<StockElement> children = new ArrayList<>();
        for (Node n = e.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element c) {
                children.add(element(c));
            }
        }
        return new StockElement(e.getTagName(), e.getAttribute("className"), attributes, children);
    }

    private static Document parse(Path file) throws IOException, SAXException, ParserConfigurationException {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        // Tomcat's digester resolves entities that include other local files (<!ENTITY c SYSTEM "cluster.xml">);
        // so does this, from files only: nothing is fetched over a network, and entity expansion is bounded.
        f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
        f.setAttribute(XMLConstants.ACCESS_EXTERNAL_DTD, "file");
        f.setAttribute(XMLConstants.ACCESS_EXTERNAL_SCHEMA, "");
        f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        f.setNamespaceAware(false);
        DocumentBuilder b = f.newDocumentBuilder();
        b.setErrorHandler(null);
        try (var in = Files.newInputStream(file)) {
            return b.parse(in, file.toUri().toString());
        }
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("\"", "&quot;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
