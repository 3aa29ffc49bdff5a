package io.flotilla.tomcat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The mapping of stock cluster blocks to Flotilla's settings ({@link StockTranslation}) and the {@code migrate}
 * command that prints it, on the how-to's block and a static guide's block as files (no socket is opened).
 */
class StockTranslationTest {
    private static Path resource(String name) throws URISyntaxException {
        return Path.of(StockTranslationTest.class.getResource("/stock/" + name).toURI());
    }

    private static String[] migrate(Path file) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = MigrateCommand.run(new String[] {"migrate", file.toString()}, new PrintStream(out, true,
                StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new String[] {Integer.toString(status), out.toString(StandardCharsets.UTF_8),
                err.toString(StandardCharsets.UTF_8)};
    }

    private static StockTranslation.Result translate(String xmlBody) {
        return translate("", xmlBody);
    }

    private static StockTranslation.Result translate(String clusterAttributes, String xmlBody) {
        String xml = "<Cluster className=\"org.apache.catalina.ha.tcp.SimpleTcpCluster\" " + clusterAttributes + ">"
                + xmlBody + "</Cluster>";
        try {
            var doc = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                    .parse(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)));
            return StockTranslation.translate(MigrateCommand.element(doc.getDocumentElement()));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static boolean has(StockTranslation.Result r, StockTranslation.Kind kind, String text) {
        return r.notes(kind).stream().anyMatch(n -> n.text().contains(text));
    }

    @Test
    void theHowTosBlockMapsToFlotillaAttributesAndItsValvesToFlotillasValves() throws Exception {
        String[] run = migrate(resource("cluster-howto-10.1.xml"));
        assertEquals("0", run[0], run[1] + run[2]);
        String out = run[1];
        System.out.println(out); // the report quotes it
        // The how-to's block says 228.0.0.4, its multicast default; nothing here opens a socket, only text is compared.
        String expected = Files.readString(resource("cluster-howto-10.1.flotilla.xml")).strip();
        assertTrue(out.contains(expected), out);
        assertTrue(out.contains("maxThreads=\"6\": no equivalent"), out);
        assertTrue(out.contains("<Deployer className=\"org.apache.catalina.ha.deploy.FarmWarDeployer\">: ignored"),
                out);
        assertTrue(out.contains("ClusterSessionListener\">: built in"), out);
        assertTrue(out.contains("allowApplicationClasses"), "says which session classes replicate: " + out);
        assertTrue(!out.contains("Refused") && !out.contains("behaviour differs"), "nothing to WARN about: " + out);
    }

    @Test
    void theHowTosBackupManagerBlockBecomesBackupMode() throws Exception {
        String[] run = migrate(resource("cluster-howto-10.1-backup.xml"));
        assertEquals("0", run[0], run[1] + run[2]);
        String out = run[1];
        for (String line : List.of("receiverPort=\"5000\"", "selectorTimeout=\"100\"", "channelSendOptions=\"6\"",
                "filter=\".*\\.gif|.*\\.js|.*\\.jpeg|.*\\.jpg|.*\\.png|.*\\.htm|.*\\.html|.*\\.css|.*\\.txt\"")) {
            assertTrue(out.contains(line), line + " in " + out);
        }
        assertTrue(out.contains("mode=\"backup\"") && out.contains("backups=\"1\""), out);
        assertTrue(out.contains("BackupManager\">: built in (mode=\"backup\" backups=\"1\""), out);
        assertTrue(out.contains("mapSendOptions=\"6\": no equivalent"), out);
        assertTrue(out.contains("ThroughputInterceptor\">: built in"), out);
    }

    @Test
    void aStaticGuidesBlockBecomesAStaticMemberList() throws Exception {
        String[] run = migrate(resource("static-guide.xml"));
        assertEquals("0", run[0], run[1] + run[2]);
        String out = run[1];
        assertTrue(out.contains("in <Host name=\"localhost\">"), out);
        for (String line : List.of("membership=\"static\"", "staticMembers=\"10.0.0.1:4000,10.0.0.2:4000\"",
                "frequency=\"1000\"", "dropTime=\"5000\"", "receiverAddress=\"10.0.0.1\"", "autoBind=\"0\"",
                "timeout=\"5000\"", "channelSendOptions=\"6\"")) {
            assertTrue(out.contains(line), line + " in " + out);
        }
        assertTrue(out.contains("expireSessionsOnShutdown=\"true\": ignored"), out);
        assertTrue(out.contains("maxActiveSessions=\"1000\""), "the manager template's limit carries over: " + out);
        assertTrue(out.contains("uniqueId: built in"), out);
    }

    @Test
    void multicastWithAStaticMembershipInterceptorBecomesStaticAndSaysSo() {
        StockTranslation.Result r = translate("""
                <Channel className="org.apache.catalina.tribes.group.GroupChannel">
                  <Membership className="org.apache.catalina.tribes.membership.McastService" port="45999"/>
                  <Interceptor className="org.apache.catalina.tribes.group.interceptors.StaticMembershipInterceptor">
                    <Member className="org.apache.catalina.tribes.membership.StaticMember" host="h1" port="4001"/>
                    <Member className="org.apache.catalina.tribes.membership.StaticMember" host="h2" port="4002"/>
                  </Interceptor>
                </Channel>""");
        assertEquals("static", r.attributes().get("membership"));
        assertEquals("h1:4001,h2:4002", r.attributes().get("staticMembers"));
        assertTrue(has(r, StockTranslation.Kind.DROPPED, "the multicast settings are ignored"), r.notes().toString());
    }

    @Test
    void whatCannotBeHonouredIsRefusedSayingWhatToDo() {
        StockTranslation.Result r = translate("""
                <Channel className="org.apache.catalina.tribes.group.GroupChannel">
                  <Interceptor className="org.apache.catalina.tribes.group.interceptors.EncryptInterceptor"
                               encryptionKey="cafebabe"/>
                  <Interceptor className="com.example.MyInterceptor"/>
                </Channel>
                <Deployer className="org.apache.catalina.ha.deploy.FarmWarDeployer" watchEnabled="true"/>
                <ClusterListener className="com.example.MyListener"/>
                <Manager className="com.example.MyManager"/>""");
        List<String> refused = r.notes(StockTranslation.Kind.REFUSED).stream().map(StockTranslation.Note::text).toList();
        assertEquals(5, refused.size(), refused.toString());
        assertTrue(refused.get(0).contains("EncryptInterceptor") && refused.get(0).contains("tlsCertificate"),
                refused.get(0));
        // a watching farm deployer without a cluster secret would let any host deploy a WAR on every node
        assertTrue(refused.stream().anyMatch(t -> t.contains("FarmWarDeployer") && t.contains("without a cluster secret")
                && t.contains("set secretFile") && t.contains("trustNetwork=\"true\"")), refused.toString());
    }

    @Test
    void aStockFarmWarDeployerBecomesFlotillasWithItsAttributesWhenTheClusterHasASecret() {
        String deployer = """
                <Deployer className="org.apache.catalina.ha.deploy.FarmWarDeployer" tempDir="/tmp/war-temp/"
                          deployDir="/tmp/war-deploy/" watchDir="/tmp/war-listen/" watchEnabled="true"
                          processDeployFrequency="3" maxValidTime="60"/>""";
        StockTranslation.Result r = translate("secretFile=\"/etc/flotilla.secret\"", deployer);
        assertEquals(List.of(), r.notes(StockTranslation.Kind.REFUSED));
        assertEquals(StockTranslation.FLOTILLA_DEPLOYER, r.deployer().className());
        assertEquals(Map.of("tempDir", "/tmp/war-temp/", "deployDir", "/tmp/war-deploy/", "watchDir",
                "/tmp/war-listen/", "watchEnabled", "true", "processDeployFrequency", "3", "maxValidTime", "60"),
                r.deployer().attributes());
        assertTrue(has(r, StockTranslation.Kind.BUILT_IN, "replaced by io.flotilla.tomcat.FarmDeployer"),
                r.notes().toString());
        StockTranslation.Result receiving = translate(
                "<Deployer className=\"org.apache.catalina.ha.deploy.FarmWarDeployer\" watchEnabled=\"false\"/>");
        assertEquals(null, receiving.deployer(), "no secret: a receiving deployer receives nothing");
        assertTrue(has(receiving, StockTranslation.Kind.TUNING, "set secretFile on <Cluster> to receive"),
                receiving.notes().toString());
        StockTranslation.Result flotilla = translate(
                "<Deployer className=\"io.flotilla.tomcat.FarmDeployer\" watchDir=\"farm\" trustNetwork=\"true\"/>");
        assertEquals(Map.of("watchDir", "farm", "trustNetwork", "true"), flotilla.deployer().attributes());
        assertEquals(List.of(), flotilla.notes(), "Flotilla's own element is no stock setting");
    }

    @Test
    void anAttributeOnTheClusterWinsOverTheNestedOneAndTheConflictIsNamed() {
        String xml = "<Cluster className=\"io.flotilla.tomcat.FlotillaCluster\" receiverPort=\"4100\">"
                + "<Channel className=\"org.apache.catalina.tribes.group.GroupChannel\">"
                + "<Receiver className=\"org.apache.catalina.tribes.transport.nio.NioReceiver\" port=\"4000\"/>"
                + "</Channel></Cluster>";
        StockTranslation.Result r = StockTranslation.translate(new StockElement("Cluster", "", Map.of("receiverPort",
                "4100"), List.of(new StockElement("Channel", "org.apache.catalina.tribes.group.GroupChannel", Map.of(),
                        List.of(new StockElement("Receiver", "org.apache.catalina.tribes.transport.nio.NioReceiver",
                                Map.of("port", "4000"), List.of()))))));
        assertEquals("4100", r.attributes().get("receiverPort"), xml);
        assertTrue(has(r, StockTranslation.Kind.DROPPED, "receiverPort \"4000\": ignored, <Cluster receiverPort=\"4100\">"),
                r.notes().toString());
    }

    @Test
    void migratePrintsTheFarmDeployerAStockOneBecomes(@TempDir Path dir) throws Exception {
        Path xml = dir.resolve("server.xml");
        Files.writeString(xml, """
                <Server><Service><Engine name="Catalina" defaultHost="localhost">
                  <Cluster className="org.apache.catalina.ha.tcp.SimpleTcpCluster" secretFile="/etc/c.secret">
                    <Deployer className="org.apache.catalina.ha.deploy.FarmWarDeployer" watchDir="/srv/farm"
                              watchEnabled="true"/>
                  </Cluster>
                </Engine></Service></Server>
                """);
        String[] run = migrate(xml);
        assertEquals("0", run[0], run[1] + run[2]);
        assertTrue(run[1].contains("  <Deployer className=\"io.flotilla.tomcat.FarmDeployer\" watchDir=\"/srv/farm\" "
                + "watchEnabled=\"true\"/>"), run[1]);
    }

    @Test
    void migrateFollowsAnEntityThatIncludesALocalFileAsTomcatDoes(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("cluster.xml"), "<Cluster className=\"org.apache.catalina.ha.tcp."
                + "SimpleTcpCluster\" channelSendOptions=\"6\"/>");
        Path xml = dir.resolve("server.xml");
        Files.writeString(xml, "<?xml version=\"1.0\"?>\n<!DOCTYPE server-xml [<!ENTITY cluster SYSTEM "
                + "\"cluster.xml\">]>\n<Server><Service><Engine name=\"E\">&cluster;</Engine></Service></Server>");
        String[] run = migrate(xml);
        assertEquals("0", run[0], run[1] + run[2]);
        assertTrue(run[1].contains("channelSendOptions=\"6\""), run[1]);
    }

    @Test
    void migrateRefusesUnknownAttributesAndBadUsage(@TempDir Path dir) throws Exception {
        Path xml = dir.resolve("server.xml");
        Files.writeString(xml, "<Server><Service><Engine name=\"E\"><Cluster className=\"io.flotilla.tomcat."
                + "FlotillaCluster\" dropTim=\"3000\"/></Engine></Service></Server>");
        String[] run = migrate(xml);
        assertEquals("1", run[0]);
        assertTrue(run[1].contains("dropTim=\"3000\": not a FlotillaCluster attribute; did you mean dropTime?"), run[1]);
        assertEquals(2, MigrateCommand.run(new String[0], new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(new ByteArrayOutputStream())));
        assertEquals("2", migrate(dir.resolve("missing.xml"))[0]);
    }
}
