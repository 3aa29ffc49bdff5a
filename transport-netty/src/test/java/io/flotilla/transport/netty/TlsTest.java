package io.flotilla.transport.netty;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.flotilla.ClusterSecret;
import io.flotilla.ConfigurationException;
import io.flotilla.Member;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Mutual TLS 1.3 with certificates made by keytool at test time; skipped where this JVM has no keytool. */
class TlsTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final String PW = TestCertificates.PASSWORD;

    @TempDir
    static Path dir;
    private static TestCertificates certs;
    private static TransportTls trusted;
    private static TransportTls rogue;
    private final List<TestNode> nodes = new ArrayList<>();

    @BeforeAll
    static void makeCertificates() throws Exception {
        assumeTrue(TestCertificates.keytool() != null, "no keytool in " + System.getProperty("java.home")
                + "/bin: TLS tests skipped");
        certs = new TestCertificates(dir);
        Path a = certs.keyStore("member-a");
        Path b = certs.keyStore("member-b");
        Path r = certs.keyStore("rogue");
        Path clusterTrust = certs.trustStore("cluster-trust", "member-a", "member-b");
        // The rogue trusts the cluster's certificates, so only the cluster's check of the rogue can refuse it.
        Path rogueTrust = certs.trustStore("rogue-trust", "member-a", "member-b", "rogue");
        trusted = TransportTls.pkcs12(a, PW, clusterTrust, PW);
        rogue = TransportTls.pkcs12(r, PW, rogueTrust, PW);
        // b's own keystore works with the same truststore.
        TransportTls.pkcs12(b, PW, clusterTrust, PW);
    }

    private TestNode node(String name, TransportTls tls, ClusterSecret secret) {
        TestNode n = TestNode.start("test", name, TestNode.config().tls(tls).handshakeTimeout(Duration.ofSeconds(10))
                .build(), new RecordingInbound(), secret);
        nodes.add(n);
        return n;
    }

    @AfterEach
    void close() {
        for (TestNode n : nodes) {
            n.close();
        }
    }

    @Test
    @Timeout(60)
    void trustedMembersTalkAndProbeOverTls() throws Exception {
        TestNode a = node("a", trusted, null);
        TestNode b = node("b", trusted, SecretHandshakeTest.SECRET);
        TestNode c = node("c", trusted, SecretHandshakeTest.SECRET);
        TestNode d = node("d", trusted, null);
        d.transport.send(a.member, TestNode.data(1, new byte[] {1}));
        b.transport.send(c.member, TestNode.data(2, new byte[] {2}));
        c.transport.send(b.member, TestNode.data(3, new byte[] {3}));
        await("frames over TLS", WAIT, () -> a.inbound.frameCount.get() == 1 && c.inbound.frameCount.get() == 1
                && b.inbound.frameCount.get() == 1);
        Member answered = b.transport.probe(c.address, Duration.ofSeconds(5)).toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
        assertTrue(answered.sameDescription(c.member));
        assertTrue(a.transport.authenticatesPeers());
    }

    @Test
    @Timeout(60)
    void lanesAreNeverOpenedOverTls() throws Exception {
        TestNode a = TestNode.start("test", "la", TestNode.config().tls(trusted).lanes(2)
                .handshakeTimeout(Duration.ofSeconds(10)).build(), new RecordingInbound(), null);
        nodes.add(a);
        TestNode b = node("lb", trusted, null);
        a.transport.send(b.member, TestNode.data(1, new byte[] {1}));
        await("connected over TLS", WAIT, () -> b.inbound.frameCount.get() == 1);
        assertNull(a.transport.lane(b.member), "a lane would bypass TLS");
        assertEquals(0, b.refused("tls_handshake"), "no plain connection was even tried");
    }

    @Test
    @Timeout(60)
    void aPeerWithAnUntrustedCertificateOrWithoutTlsIsRefused() throws Exception {
        TestNode member = node("member", trusted, null);
        TestNode intruder = node("intruder", rogue, null);
        TestNode plain = node("plain", null, null);
        intruder.transport.send(member.member, TestNode.data(1, new byte[] {1}));
        plain.transport.send(member.member, TestNode.data(1, new byte[] {1}));
        await("both sends failed", WAIT, () -> !intruder.inbound.sendFailures.isEmpty()
                && !plain.inbound.sendFailures.isEmpty());
        ExecutionException e = assertThrows(ExecutionException.class, () -> intruder.transport
                .probe(member.address, Duration.ofSeconds(3)).toCompletableFuture().get(10, TimeUnit.SECONDS));
        assertFalse(e.getCause().getMessage().isEmpty());
        await("TLS refusals counted", WAIT, () -> member.refused("tls_handshake") >= 3,
                () -> "tls_handshake=" + member.refused("tls_handshake"));
        assertEquals(0, member.inbound.frameCount.get());
        assertTrue(member.inbound.connected.isEmpty());
    }

    @Test
    @Timeout(60)
    void pemFilesWorkLikeTheKeystore() throws Exception {
        Path key = certs.pemKey("member-b");
        assumeTrue(key != null, "no openssl to export a PEM key: PEM test skipped");
        Path chain = certs.file("member-b.pem");
        Path trust = certs.file("member-a.pem");
        TestNode b = node("b", TransportTls.pem(chain, key, trust), null);
        TestNode a = node("a", trusted, null);
        a.transport.send(b.member, TestNode.data(1, new byte[] {1}));
        await("frame from the PKCS12 member at the PEM member", WAIT, () -> b.inbound.frameCount.get() == 1);
    }

    @Test
    void badFilesAndPasswordsAreNamed() {
        Path missing = dir.resolve("missing.p12");
        ConfigurationException noFile = assertThrows(ConfigurationException.class,
                () -> TransportTls.pkcs12(missing, PW, certs.file("cluster-trust.p12"), PW));
        assertTrue(noFile.getMessage().startsWith("tlsKeyStore=" + missing + " is invalid"), noFile.getMessage());
        ConfigurationException badPassword = assertThrows(ConfigurationException.class,
                () -> TransportTls.pkcs12(certs.file("member-a.p12"), "nope", certs.file("cluster-trust.p12"), PW));
        assertTrue(badPassword.getMessage().startsWith("tlsKeyStore="), badPassword.getMessage());
        ConfigurationException noKey = assertThrows(ConfigurationException.class, () -> TransportTls.pkcs12(
                certs.file("cluster-trust.p12"), PW, certs.file("cluster-trust.p12"), PW));
        assertTrue(noKey.getMessage().contains("private key"), noKey.getMessage());
        assertFalse(trusted.toString().contains(PW));
    }
}
