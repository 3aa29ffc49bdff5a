package io.flotilla.tomcat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.ConfigurationException;
import io.flotilla.membership.DnsMembershipConfig;
import io.flotilla.membership.KubernetesMembershipConfig;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.apache.catalina.Engine;
import org.apache.catalina.Server;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.w3c.dom.Element;

/**
 * {@code <Cluster membership="dns">} and {@code membership="kubernetes"}: their attributes, their defaults (stock's
 * environment variables, the members on this node's receiver port), every bad value named; and stock's
 * {@code CloudMembershipService} with either provider translated the same way from {@code server.xml} (migrate) and
 * from the digester's objects.
 */
class CloudMembershipSettingsTest {
    private static final Map<String, String> NO_ENV = Map.of();

    private static ClusterSettings parse(Map<String, String> raw, Map<String, String> env) {
        List<String> problems = new ArrayList<>();
        ClusterSettings s = ClusterSettings.parse(raw, problems, env);
        if (s == null) {
            throw new ConfigurationException(String.join("; ", problems));
        }
        return s;
    }

    private static String problems(Map<String, String> raw) {
        return assertThrows(ConfigurationException.class, () -> parse(raw, NO_ENV)).getMessage();
    }

    @Test
    void aRecordsOnTheReceiverPortByDefaultAndTheNameFromStocksVariable() {
        ClusterSettings s = parse(Map.of("membership", "dns", "receiverPort", "4100", "frequency", "200"),
                Map.of(ClusterSettings.DNS_NAME_VARIABLE, "tomcat.shop.svc.cluster.local"));
        DnsMembershipConfig c = s.dnsConfig;
        assertEquals("tomcat.shop.svc.cluster.local", c.name());
        assertEquals(DnsMembershipConfig.RecordType.A, c.recordType());
        assertEquals(4100, c.port());
        assertEquals("", c.server());
        assertEquals(Duration.ofSeconds(2), c.resolveInterval(), "10 x frequency");
        assertEquals(0, s.transport.autoBind(), "the others look for this node at its receiverPort only");
        assertEquals(Duration.ofMillis(4700), s.ownerVerification, "a hung owner's three probes of 1.5 s, a beat");
        assertEquals("dns membership of DNS tomcat.shop.svc.cluster.local", s.membershipFactory().create().toString());
        assertTrue(s.describe().contains("dnsName=, dnsRecordType=A"), s.describe());
        assertTrue(!s.describe().contains("staticMembers") && !s.describe().contains("ttl="), s.describe());
    }

    @Test
    void srvRecordsAndAServer() {
        ClusterSettings s = parse(Map.of("membership", "DNS", "dnsName", "_flotilla._tcp.tomcat.shop",
                "dnsRecordType", "srv", "dnsServer", "10.96.0.10"), NO_ENV);
        assertEquals(DnsMembershipConfig.RecordType.SRV, s.dnsConfig.recordType());
        assertEquals("10.96.0.10", s.dnsConfig.server());
        assertEquals(0, s.dnsConfig.port());
        assertNull(parse(Map.of(), NO_ENV).dnsConfig);
    }

    @Test
    void everyBadValueIsNamed() {
        assertTrue(problems(Map.of("membership", "dns")).startsWith("dnsName= is invalid"), "no name, no variable");
        String all = problems(Map.of("membership", "dns", "dnsName", "bad name", "staticMembers", "h:1"));
        assertTrue(all.contains("dnsName=bad name is invalid") && all.contains("staticMembers=h:1 is invalid: empty "
                + "with membership=dns"), all);
        assertTrue(problems(Map.of("membership", "dns", "dnsName", "t", "dnsRecordType", "MX"))
                .startsWith("dnsRecordType=MX is invalid"));
        assertTrue(problems(Map.of("membership", "dns", "dnsName", "t", "dnsPort", "70000")).contains("dnsPort"));
        assertTrue(problems(Map.of("membership", "dns", "dnsName", "t", "dnsRecordType", "SRV", "dnsPort", "4000"))
                .startsWith("dnsPort=4000 is invalid: empty with dnsRecordType=SRV"));
        assertTrue(problems(Map.of("membership", "dns", "dnsName", "t", "dnsServer", "x:y"))
                .startsWith("dnsServer=x:y is invalid"));
        assertTrue(problems(Map.of("membership", "dns", "dnsName", "t", "receiverPort", "0"))
                .startsWith("dnsPort= is invalid"));
        assertTrue(problems(Map.of("dnsName", "t")).startsWith("dnsName=t is invalid: only with membership=\"dns\""));
        assertTrue(problems(Map.of("membership", "consul")).startsWith("membership=consul is invalid: multicast, "
                + "static, dns or kubernetes"));
    }

    private static final String CLOUD = "org.apache.catalina.tribes.membership.cloud.CloudMembershipService";

    private static String stockBlock(String membershipAttributes) throws Exception {
        return """
                <Cluster className="io.flotilla.tomcat.FlotillaCluster">
                  <Channel className="org.apache.catalina.tribes.group.GroupChannel">
                    <Membership className="%s" %s/>
                    <Receiver className="org.apache.catalina.tribes.transport.nio.NioReceiver" address="127.0.0.1"
                              port="%d"/>
                  </Channel>
                </Cluster>""".formatted(CLOUD, membershipAttributes, EmbeddedNode.freePort());
    }

    private static StockTranslation.Result fromXml(String cluster) throws Exception {
        Element e = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(cluster.getBytes(StandardCharsets.UTF_8))).getDocumentElement();
        return StockTranslation.translate(MigrateCommand.element(e));
    }

    private static FlotillaCluster digested(String cluster) throws Exception {
        Server server = new ServerXmlDigesterTest.Parser().parse("""
                <Server port="-1" shutdown="SHUTDOWN"><Service name="Catalina">
                  <Engine name="Catalina" defaultHost="localhost" jvmRoute="n1">%s
                    <Host name="localhost" appBase="webapps" autoDeploy="false"/>
                  </Engine></Service></Server>""".formatted(cluster));
        Engine engine = server.findServices()[0].getContainer();
        return assertInstanceOf(FlotillaCluster.class, engine.getCluster());
    }

    @Test
    void stocksDnsProviderBecomesDnsMembershipFromTheFileAndFromTheDigestersObjects() throws Exception {
        String block = stockBlock("membershipProviderClassName=\"dns\" expirationTime=\"6000\"");
        StockTranslation.Result xml = fromXml(block);
        assertEquals("dns", xml.attributes().get("membership"));
        assertEquals("6000", xml.attributes().get("dropTime"));
        assertTrue(xml.notes(StockTranslation.Kind.REFUSED).isEmpty(), xml.notes().toString());
        assertTrue(xml.notes(StockTranslation.Kind.BUILT_IN).stream().anyMatch(n -> n.text().contains(
                ClusterSettings.DNS_NAME_VARIABLE)), xml.notes().toString());
        StockTranslation.Result objects = digested(block).translate();
        assertEquals("dns", objects.attributes().get("membership"));
        assertEquals("6000", objects.attributes().get("dropTime"));
        Map<String, String> env = Map.of(ClusterSettings.DNS_NAME_VARIABLE, "tomcat.shop.svc.cluster.local");
        assertEquals(parse(xml.attributes(), env).effective, parse(objects.attributes(), env).effective);
        assertEquals("dns", fromXml(stockBlock("membershipProviderClassName=\"org.apache.catalina.tribes."
                + "membership.cloud.DNSMembershipProvider\"")).attributes().get("membership"));
    }

    @Test
    void stocksKubernetesProviderBecomesKubernetesMembershipAndAnUnknownProviderIsRefused() throws Exception {
        Map<String, String> env = Map.of("KUBERNETES_NAMESPACE", "shop", "KUBERNETES_LABELS", "app=shop",
                "KUBERNETES_SERVICE_HOST", "10.96.0.1", "KUBERNETES_SERVICE_PORT", "443");
        for (String attrs : List.of("", "membershipProviderClassName=\"kubernetes\"")) {
            String block = stockBlock(attrs);
            StockTranslation.Result xml = fromXml(block);
            assertEquals("kubernetes", xml.attributes().get("membership"));
            assertTrue(xml.notes(StockTranslation.Kind.REFUSED).isEmpty(), xml.notes().toString());
            assertEquals(parse(xml.attributes(), env).effective,
                    parse(digested(block).translate().attributes(), env).effective);
        }
        List<StockTranslation.Note> refused = fromXml(stockBlock("membershipProviderClassName=\"com.example.Mine\""))
                .notes(StockTranslation.Kind.REFUSED);
        assertEquals(1, refused.size(), refused.toString());
        assertTrue(refused.get(0).text().contains("dns and kubernetes"), refused.get(0).text());
    }

    @Test
    void kubernetesFromStocksVariablesOrAttributes() {
        Map<String, String> env = Map.of("KUBERNETES_NAMESPACE", "shop", "KUBERNETES_LABELS", "app=shop",
                "KUBERNETES_SERVICE_HOST", "10.96.0.1", "KUBERNETES_SERVICE_PORT", "443", "SA_TOKEN_FILE", "/t/token");
        ClusterSettings s = parse(Map.of("membership", "kubernetes", "receiverPort", "4100"), env);
        KubernetesMembershipConfig k = s.kubernetesConfig;
        assertEquals("shop", k.namespace());
        assertEquals("app=shop", k.labelSelector());
        assertEquals(4100, k.port());
        assertEquals("https://10.96.0.1:443", k.apiServer().toString());
        assertEquals(Path.of("/t/token"), k.tokenFile());
        assertEquals(KubernetesMembershipConfig.SERVICE_ACCOUNT.resolve("ca.crt"), k.caFile());
        assertEquals("kubernetes membership of Kubernetes GET https://10.96.0.1:443/api/v1/namespaces/shop/pods"
                + "?labelSelector=app%3Dshop", s.membershipFactory().create().toString());
        k = parse(Map.of("membership", "kubernetes", "kubernetesNamespace", "web", "kubernetesLabels", "tier=front",
                "kubernetesPort", "4200", "kubernetesApiServer", "https://api.example:6443"), env).kubernetesConfig;
        assertEquals(List.of("web", "tier=front", "4200", "https://api.example:6443"), List.of(k.namespace(),
                k.labelSelector(), String.valueOf(k.port()), k.apiServer().toString()));
        assertTrue(problems(Map.of("membership", "kubernetes", "kubernetesApiServer", "https://a"))
                .startsWith("kubernetesNamespace= is invalid"));
        assertTrue(problems(Map.of("membership", "kubernetes", "kubernetesNamespace", "shop"))
                .startsWith("kubernetesApiServer=null is invalid"), "outside a pod, no API server");
        assertTrue(problems(Map.of("membership", "kubernetes", "kubernetesNamespace", "shop", "kubernetesApiServer",
                "http://a")).startsWith("kubernetesApiServer=http://a is invalid"));
        assertTrue(problems(Map.of("membership", "kubernetes", "kubernetesNamespace", "shop", "kubernetesApiServer",
                "https://a", "kubernetesLabels", "a;b")).startsWith("kubernetesLabels=a;b is invalid"));
        assertTrue(problems(Map.of("membership", "dns", "dnsName", "t", "kubernetesLabels", "a"))
                .startsWith("kubernetesLabels=a is invalid: only with membership=\"kubernetes\""));
        String refused = assertThrows(ConfigurationException.class, () -> parse(Map.of("membership", "kubernetes"),
                Map.of("KUBERNETES_NAMESPACE", "shop", "KUBERNETES_SERVICE_HOST", "10.96.0.1",
                        "KUBERNETES_CLIENT_CERTIFICATE_FILE", "/c.pem"))).getMessage();
        assertTrue(refused.contains("KUBERNETES_CLIENT_CERTIFICATE_FILE"), refused);
    }

    @Test
    @Timeout(60)
    void aClusterWithDnsMembershipStartsAndStopsWhenTheServerDoesNotAnswer() throws Exception {
        int port = EmbeddedNode.freePort();
        FlotillaCluster c = digested("""
                <Cluster className="io.flotilla.tomcat.FlotillaCluster" membership="dns" dnsName="nobody.test"
                         dnsServer="127.0.0.1:%d" receiverAddress="127.0.0.1" receiverPort="%d"
                         frequency="100" dropTime="300"/>""".formatted(EmbeddedNode.freePort(), port));
        try {
            c.start(); // lookups fail (nothing answers there): the node runs alone
            assertEquals(1, c.getMemberCount());
            assertEquals("nobody.test", c.jmxAttribute("dnsName"));
            assertTrue(c.hasJmxAttribute("dnsServer") && !c.hasJmxAttribute("staticMembers")
                    && !c.hasJmxAttribute("ttl"));
        } finally {
            c.stop();
            c.destroy();
        }
    }
}
