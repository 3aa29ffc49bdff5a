package io.flotilla.membership;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.flotilla.ConfigurationException;
import io.flotilla.Member;
import io.flotilla.MembershipEvent;
import io.flotilla.MembershipEvent.Joined;
import io.flotilla.membership.FakeMembershipContext.FakeNetwork;
import io.flotilla.membership.FakeMembershipContext.FakeNetwork.Mode;
import io.flotilla.testing.ManualClock;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kubernetes membership against a local HTTPS server (the JDK's {@code HttpsServer} on 127.0.0.1) that serves the
 * API's {@code PodList} ({@code src/test/resources/kubernetes}), with a test CA made by {@code keytool}: pods are
 * listed by namespace and label selector, only running or pending pods with an IP that are not being deleted count,
 * the token is read again for every request (a rotated token is used at once), and a server whose certificate the CA
 * did not sign, or that was signed for another host, is refused before the token is sent.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KubernetesPodSourceTest {
    private static final String PASSWORD = "test-password";
    private static final String PATH = "/api/v1/namespaces/shop/pods";

    @TempDir
    static Path certs;

    private final List<HttpsServer> servers = new ArrayList<>();
    private final List<String> tokensSeen = new CopyOnWriteArrayList<>();
    private final AtomicInteger requests = new AtomicInteger();
    private volatile String expectedToken = "token-1";
    private volatile String items = "";
    private Path tokenFile;

    /** A CA, a server certificate it signed for IP 127.0.0.1, one it signed for another host, and a self-signed one. */
    @BeforeAll
    static void certificates() throws Exception {
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        Assumptions.assumeTrue(Files.isExecutable(keytool), "this JVM has no keytool to make test certificates");
        String k = keytool.toString();
        keytool(k, "-genkeypair", "-alias", "ca", "-keyalg", "EC", "-groupname", "secp256r1", "-dname",
                "CN=Flotilla test CA", "-ext", "bc:c", "-validity", "2", "-keystore", store("ca"));
        keytool(k, "-exportcert", "-rfc", "-alias", "ca", "-keystore", store("ca"), "-file", file("ca.pem"));
        for (String[] server : new String[][] {{"apiserver", "ip:127.0.0.1"}, {"otherhost", "dns:other.example"}}) {
            String name = server[0];
            keytool(k, "-genkeypair", "-alias", name, "-keyalg", "EC", "-groupname", "secp256r1", "-dname",
                    "CN=" + name, "-validity", "2", "-keystore", store(name));
            keytool(k, "-certreq", "-alias", name, "-keystore", store(name), "-file", file(name + ".csr"));
            keytool(k, "-gencert", "-rfc", "-alias", "ca", "-keystore", store("ca"), "-infile", file(name + ".csr"),
                    "-outfile", file(name + ".pem"), "-ext", "san=" + server[1], "-validity", "2");
            keytool(k, "-importcert", "-noprompt", "-alias", "ca", "-file", file("ca.pem"), "-keystore", store(name));
            keytool(k, "-importcert", "-alias", name, "-file", file(name + ".pem"), "-keystore", store(name));
        }
        keytool(k, "-genkeypair", "-alias", "selfsigned", "-keyalg", "EC", "-groupname", "secp256r1", "-dname",
                "CN=selfsigned", "-ext", "san=ip:127.0.0.1", "-validity", "2", "-keystore", store("selfsigned"));
    }

    private static String store(String name) {
        return file(name + ".p12");
    }

    private static String file(String name) {
        return certs.resolve(name).toString();
    }

    private static void keytool(String... command) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(command));
        if (cmd.contains("-keystore")) {
            cmd.addAll(List.of("-storetype", "PKCS12", "-storepass", PASSWORD));
        }
        Path log = certs.resolve("keytool.log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("keytool timed out");
        }
        if (p.exitValue() != 0) {
            throw new IOException("keytool " + command[1] + " failed: " + Files.readString(log));
        }
    }

    @AfterEach
    void stop() {
        servers.forEach(s -> s.stop(0));
    }

    /** An API server on 127.0.0.1 with the certificate of keystore {@code name}; returns its base URL. */
    private String apiServer(String name) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(Path.of(store(name)))) {
            ks.load(in, PASSWORD.toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, PASSWORD.toCharArray());
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(kmf.getKeyManagers(), null, null);
        HttpsServer server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(tls));
        server.createContext("/", this::answer);
        server.start();
        servers.add(server);
        return "https://127.0.0.1:" + server.getAddress().getPort();
    }

    private void answer(HttpExchange exchange) throws IOException {
        requests.incrementAndGet();
        String auth = String.valueOf(exchange.getRequestHeaders().getFirst("Authorization"));
        tokensSeen.add(auth);
        String query = exchange.getRequestURI().getRawQuery();
        int status;
        String body;
        if (!auth.equals("Bearer " + expectedToken)) {
            status = 401;
            body = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"Unauthorized\","
                    + "\"reason\":\"Unauthorized\",\"code\":401}";
        } else if (!exchange.getRequestURI().getPath().equals(PATH) || !"labelSelector=app%3Dshop".equals(query)) {
            status = 404;
            body = "{\"kind\":\"Status\",\"code\":404}";
        } else {
            status = 200;
            body = resource("podlist.json").replace("%ITEMS%", items);
        }
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = KubernetesPodSourceTest.class.getResourceAsStream("/kubernetes/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** One pod of the PodList: {@code ip} null before one is assigned. */
    private static String pod(String name, String phase, String ip, boolean deleting) throws IOException {
        return resource("pod.json").replace("%NAME%", name).replace("%PHASE%", phase)
                .replace("%IP%", ip == null ? "" : "\"podIP\": \"" + ip + "\", \"podIPs\": [{\"ip\": \"" + ip + "\"}],")
                .replace("%DELETION%", deleting ? ",\n    \"deletionTimestamp\": \"2026-12-06T03:10:00Z\","
                        + "\n    \"deletionGracePeriodSeconds\": 30" : "");
    }

    private KubernetesMembershipConfig config(String apiServer) throws IOException {
        tokenFile = certs.resolve("token-" + System.nanoTime());
        Files.writeString(tokenFile, "token-1\n");
        return KubernetesMembershipConfig.builder().apiServer(apiServer).namespace("shop").labelSelector("app=shop")
                .port(4000).tokenFile(tokenFile).caFile(Path.of(file("ca.pem"))).requestTimeout(Duration.ofSeconds(5))
                .build();
    }

    private static List<String> hosts(List<StaticAddress> addresses) {
        return addresses.stream().map(a -> a.host() + ":" + a.port()).toList();
    }

    @Test
    void listsRunningAndPendingPodsWithAnIpThatAreNotBeingDeleted() throws Exception {
        KubernetesPodSource source = new KubernetesPodSource(config(apiServer("apiserver")));
        items = String.join(",", pod("shop-a", "Running", "10.244.1.7", false),
                pod("shop-b", "Pending", "10.244.2.9", false), pod("shop-c", "Pending", null, false),
                pod("shop-d", "Running", "10.244.3.3", true), pod("shop-e", "Failed", "10.244.1.8", false),
                pod("shop-f", "Running", "fd00::5", false), pod("shop-g", "Running", "bad.example", false));
        assertEquals(List.of("10.244.1.7:4000", "10.244.2.9:4000", "fd00:0:0:0:0:0:0:5:4000"),
                hosts(source.addresses()));
        items = "";
        assertEquals(List.of(), source.addresses(), "no pod: nobody");
    }

    @Test
    void readsTheTokenAgainForEveryRequestSoARotatedOneIsUsedAtOnce() throws Exception {
        KubernetesPodSource source = new KubernetesPodSource(config(apiServer("apiserver")));
        items = pod("shop-a", "Running", "10.244.1.7", false);
        assertEquals(1, source.addresses().size());
        expectedToken = "token-2"; // the API server now accepts only the rotated token
        IOException refused = assertThrows(IOException.class, source::addresses);
        assertTrue(refused.getMessage().contains("401") && refused.getMessage().contains("token was refused"),
                refused.getMessage());
        Files.writeString(tokenFile, "token-2\n"); // kubelet rotates the projected token
        assertEquals(1, source.addresses().size());
        assertEquals(List.of("Bearer token-1", "Bearer token-1", "Bearer token-2"), tokensSeen);
    }

    @Test
    void refusesAServerWhoseCertificateTheCaDidNotSignBeforeSendingTheToken() throws Exception {
        KubernetesPodSource selfSigned = new KubernetesPodSource(config(apiServer("selfsigned")));
        assertThrows(SSLHandshakeException.class, selfSigned::addresses);
        KubernetesPodSource otherHost = new KubernetesPodSource(config(apiServer("otherhost")));
        IOException e = assertThrows(IOException.class, otherHost::addresses, "signed by the CA, for another host");
        assertTrue(e instanceof SSLHandshakeException || String.valueOf(e.getMessage()).contains("127.0.0.1"),
                String.valueOf(e));
        assertEquals(0, requests.get(), "no request, and so no token, ever reached either server");
    }

    @Test
    void aPodThatAnswersJoinsAndAFailedRequestChangesNothing() throws Exception {
        ManualClock clock = new ManualClock();
        FakeNetwork network = new FakeNetwork();
        Member local = FakeMembershipContext.member("local", 10001, "");
        Member b = FakeMembershipContext.member("b", 4000, "");
        network.put(b, Mode.ALIVE);
        FakeMembershipContext context = new FakeMembershipContext(local, "test", clock, clock, network);
        KubernetesMembershipConfig config = config(apiServer("apiserver"));
        items = String.join(",", pod("shop-b", "Running", "127.0.0.1", false),
                pod("shop-x", "Running", "127.0.0.9", false)); // nothing answers at 127.0.0.9
        try (Discovery k = KubernetesMembership.service(config, new KubernetesPodSource(config), "test")) {
            k.start(context);
            await("b joins", Duration.ofSeconds(20), () -> k.view().contains(b.id()));
            expectedToken = "token-2"; // requests now fail
            await("the next request scheduled", Duration.ofSeconds(10),
                    () -> clock.pendingDelaysNanos().contains(config.resolveInterval().toNanos()));
            clock.advance(config.resolveInterval());
            await("a failed request", Duration.ofSeconds(10),
                    () -> context.counter("flotilla.membership.lookups", "result", "failed") == 1);
            assertEquals(2, k.view().size(), "b stays; 127.0.0.9 never joined");
            assertEquals(List.of(Joined.class), context.events().stream().<Class<?>>map(MembershipEvent::getClass)
                    .toList());
        }
    }

    @Test
    void configRefusesPlainHttpAndBadNamesNamingThem() {
        ConfigurationException e = assertThrows(ConfigurationException.class, () -> KubernetesMembershipConfig
                .builder().apiServer("http://10.96.0.1").namespace("shop").port(4000).build());
        assertTrue(e.getMessage().startsWith("apiServer=http://10.96.0.1 is invalid"), e.getMessage());
        e = assertThrows(ConfigurationException.class, () -> KubernetesMembershipConfig.builder()
                .apiServer("https://10.96.0.1").namespace("Shop_1").port(4000).build());
        assertTrue(e.getMessage().startsWith("namespace=Shop_1 is invalid"), e.getMessage());
        e = assertThrows(ConfigurationException.class, () -> KubernetesMembershipConfig.builder()
                .apiServer("https://10.96.0.1").namespace("shop").labelSelector("app=shop;drop").port(4000).build());
        assertTrue(e.getMessage().startsWith("labelSelector=app=shop;drop is invalid"), e.getMessage());
        e = assertThrows(ConfigurationException.class, () -> KubernetesMembershipConfig.builder()
                .apiServer("https://10.96.0.1").namespace("shop").build());
        assertTrue(e.getMessage().startsWith("port=0 is invalid"), e.getMessage());
        KubernetesMembershipConfig c = KubernetesMembershipConfig.builder().inCluster(Map.of(
                "KUBERNETES_SERVICE_HOST", "10.96.0.1", "KUBERNETES_SERVICE_PORT", "443")).namespace("shop").port(4000)
                .build();
        assertEquals("https://10.96.0.1:443", c.apiServer().toString());
        assertEquals(KubernetesMembershipConfig.SERVICE_ACCOUNT.resolve("token"), c.tokenFile());
        assertEquals(Duration.ofSeconds(5), c.resolveInterval());
    }
}
