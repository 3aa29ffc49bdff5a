package io.flotilla.tomcat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.ConfigurationException;
import io.flotilla.Delivery;
import io.flotilla.replication.AttributeCodec;
import io.flotilla.replication.AttributeCodecException;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ClusterSettingsTest {
    private static String refusal(Map<String, String> raw) {
        return assertThrows(ConfigurationException.class, () -> ClusterSettings.parse(raw)).getMessage();
    }

    @Test
    void defaultsAreTomcatsMulticastBlock() {
        ClusterSettings s = ClusterSettings.parse(Map.of());
        assertTrue(s.multicast);
        assertEquals("228.0.0.4", s.multicastConfig.address().getHostAddress()); // the default only: no socket (loopback rules)
        assertEquals(45564, s.multicastConfig.port());
        assertEquals(Duration.ofMillis(500), s.multicastConfig.frequency());
        assertEquals(Duration.ofMillis(3000), s.multicastConfig.dropTime());
        assertEquals(4000, s.transport.port());
        assertEquals(100, s.transport.autoBind());
        assertEquals(Delivery.ASYNC, s.delivery);
        assertEquals(Duration.ofSeconds(60), s.stateTransferTimeout);
        assertTrue(s.failRequestOnReplicationError);
        assertTrue(s.describe().contains("channelSendOptions=8"), s.describe());
        assertEquals(Duration.ofNanos(20_000), s.waitSpin);
    }

    @Test
    void lanesAreOffByDefaultAndCheckedAgainstTheConnectionLimit() {
        assertEquals(0, ClusterSettings.parse(Map.of()).transport.lanes());
        assertEquals(8, ClusterSettings.parse(Map.of("lanes", "8")).transport.lanes());
        assertEquals("lanes=65 is invalid: a whole number from 0 to 64", refusal(Map.of("lanes", "65")));
    }

    @Test
    void theWaitSpinIsInMicrosecondsAndZeroTurnsItOff() {
        assertEquals(Duration.ZERO, ClusterSettings.parse(Map.of("waitSpinMicros", "0")).waitSpin);
        assertEquals(Duration.ofNanos(150_000), ClusterSettings.parse(Map.of("waitSpinMicros", "150")).waitSpin);
        assertEquals("waitSpinMicros=5000 is invalid: a whole number from 0 to 1000",
                refusal(Map.of("waitSpinMicros", "5000")));
    }

    @Test
    void theIoSpinIsInMicrosecondsAndZeroTurnsItOff() {
        assertEquals(Duration.ofNanos(50_000), ClusterSettings.parse(Map.of()).transport.ioSpin());
        assertEquals(Duration.ZERO, ClusterSettings.parse(Map.of("ioSpinMicros", "0")).transport.ioSpin());
        assertEquals("ioSpinMicros=1001 is invalid: a whole number from 0 to 1000",
                refusal(Map.of("ioSpinMicros", "1001")));
    }

    /** A request on a replica waits for its owner's verdict as long as a hung owner's probes can take. */
    @Test
    void theWaitForAnOwnersVerdictCoversTheMembershipsVerificationOfAHungOwner() {
        // three probes of 1.5 s and a heartbeat period: longer than the default timeout of 3 s
        assertEquals(Duration.ofMillis(5000), ClusterSettings.parse(Map.of()).ownerVerification);
        assertEquals(Duration.ofMillis(8000), ClusterSettings.parse(Map.of("timeout", "8000")).ownerVerification);
        assertEquals(Duration.ofMillis(4600), ClusterSettings.parse(Map.of("membership", "static",
                "staticMembers", "127.0.0.1:4000,127.0.0.1:4001", "frequency", "100")).ownerVerification);
    }

    @Test
    void aRefusedClassNamesTheClusterAttributeWithTheNarrowestPatternThatAdmitsIt() {
        ClusterSettings s = ClusterSettings.parse(Map.of("allowedClasses", "sessions.*"));
        AttributeCodec codec = new AttributeCodec(
                s.replicationConfig("/examples", getClass().getClassLoader(), null).codec());
        AttributeCodecException e = assertThrows(
                AttributeCodecException.class,
                () -> codec.encode("cart", new File("cart")));
        assertTrue(e.getMessage().contains("<Cluster allowedClasses=\"sessions.*,java.io.File\">"), e.getMessage());
    }

    @Test
    void eachBadValueNamesTheAttributeTheValueAndWhatIsAllowed() {
        assertEquals("receiverPort=70000 is invalid: a whole number from 0 to 65535",
                refusal(Map.of("receiverPort", "70000")));
        assertEquals("membership=consul is invalid: multicast, static, dns or kubernetes",
                refusal(Map.of("membership", "consul")));
        assertTrue(refusal(Map.of("channelSendOptions", "7x")).startsWith("channelSendOptions=7x is invalid"));
        assertTrue(refusal(Map.of("dropTime", "400")).contains("more than frequency (500 ms)"));
        assertTrue(refusal(Map.of("membership", "static")).contains("staticMembers= is invalid"));
        assertTrue(refusal(Map.of("membership", "static", "staticMembers", "a:1,b")).contains("'b' is not one"));
        assertEquals("onUnserializable=drop is invalid: fail or skip", refusal(Map.of("onUnserializable", "drop")));
        assertEquals("notifyListenersOnReplication=yes is invalid: true or false",
                refusal(Map.of("notifyListenersOnReplication", "yes")));
        assertTrue(refusal(Map.of("sessionAttributeNameFilter", "(")).startsWith("sessionAttributeNameFilter=( is"));
        assertTrue(refusal(Map.of("allowedClasses", "com.example.Cart, not valid!")).startsWith("allowedClasses="));
        assertEquals("frobnicate=1 is invalid: not a FlotillaCluster attribute", refusal(Map.of("frobnicate", "1")));
    }

    @Test
    void everyBadAttributeIsReportedAtOnceAndAnUnknownOneWithTheClosestName() {
        String msg = refusal(Map.of("dropTim", "3000", "receiverPort", "70000", "channelSendOptions", "7"));
        assertTrue(msg.startsWith("3 attributes are invalid: "), msg);
        assertTrue(msg.contains("dropTim=3000 is invalid: not a FlotillaCluster attribute; did you mean dropTime?"),
                msg);
        assertTrue(msg.contains("receiverPort=70000 is invalid"), msg);
        assertTrue(msg.contains("channelSendOptions=7 is invalid: 8 (or async), 2 (or use_ack) or 6"), msg);
        assertTrue(refusal(Map.of("zzzzqqq", "1")).endsWith("not a FlotillaCluster attribute"), "nothing is close");
    }

    @Test
    void channelSendOptionsTakesTheDocumentedValuesOnly() {
        for (String ok : List.of("8", "async", "2", "use_ack", "6", "use_ack,synchronized_ack",
                "synchronized_ack, use_ack")) {
            ClusterSettings.parse(Map.of("channelSendOptions", ok));
        }
        assertEquals(Delivery.PROCESSED, ClusterSettings.parse(Map.of("channelSendOptions", "6")).delivery);
        for (String bad : List.of("7", "4", "10", "14", "synchronized_ack", "async,use_ack", "byte_message")) {
            assertTrue(refusal(Map.of("channelSendOptions", bad)).startsWith("channelSendOptions=" + bad), bad);
        }
    }

    @Test
    void anAllowlistPatternCoveringAGadgetPackageIsRefused() {
        assertTrue(refusal(Map.of("allowedClasses", "org.apache.**")).contains("deserialization"));
        assertTrue(refusal(Map.of("allowedClasses", "org.apache.commons.collections.functors.*"))
                .contains("deserialization"));
        ClusterSettings.parse(Map.of("allowedClasses", "org.apache.shop.**, com.example.Cart"));
        assertTrue(GadgetClasses.isGadget("org.apache.commons.collections.functors.InvokerTransformer"));
        assertFalse(GadgetClasses.isGadget("sessions.DummyCart"), "an application's class found in WEB-INF/classes");
    }

    @Test
    void withStaticMembershipTheReceiverNeverMovesToAnotherPort() {
        ClusterSettings s = ClusterSettings.parse(Map.of("membership", "static", "staticMembers", "a:4000",
                "autoBind", "100"));
        assertEquals(0, s.transport.autoBind());
        assertEquals(100, ClusterSettings.parse(Map.of()).transport.autoBind());
    }

    @Test
    void staticMembershipAndSynchronousReplicationParse() {
        ClusterSettings s = ClusterSettings.parse(Map.of("membership", "static", "staticMembers",
                "10.0.0.1:4000, 10.0.0.2:4000", "channelSendOptions", "use_ack,synchronized_ack", "timeout", "5000"));
        assertFalse(s.multicast);
        assertEquals(List.of("10.0.0.1:4000", "10.0.0.2:4000"), s.staticConfig.members());
        assertEquals(Delivery.PROCESSED, s.delivery);
        assertEquals(Duration.ofSeconds(5), s.timeout);
    }

    @Test
    void tomcatsClassNameFilterBecomesAllowlistPatterns() {
        assertEquals(List.of("com.example.**", "java.lang.String", "org.shop.*"),
                ClusterSettings.classFilterToAllowlist("^(?:com\\.example\\..*|java\\.lang\\.String|org\\.shop\\.[^.]*)$"));
        String msg = assertThrows(ConfigurationException.class,
                () -> ClusterSettings.classFilterToAllowlist("com\\.ex.+Cart")).getMessage();
        assertTrue(msg.contains("'com\\.ex.+Cart' is none of them") && msg.contains("allowedClasses"), msg);
    }

    @Test
    void theClusterSecretComesFromOneSourceAndIsNeverInTheLoggedConfiguration() throws Exception {
        String value = "k7#Qv9!mZ2@xL5$w";
        ClusterSettings direct = ClusterSettings.parse(Map.of("secret", value));
        assertTrue(direct.secret != null);
        assertTrue(!direct.describe().contains(value) && direct.describe().contains("secret=(set)"),
                direct.describe());

        Path file = Files.createTempFile("flotilla", ".secret");
        try {
            Files.writeString(file, value + "\n");
            assertTrue(ClusterSettings.parse(Map.of("secretFile", file.toString())).secret != null);
        } finally {
            Files.delete(file);
        }
        assertTrue(refusal(Map.of("secret", value, "secretEnv", "X")).contains("only one of secret, secretFile"),
                "two sources");
        String missing = "FLOTILLA_TEST_SECRET_THAT_IS_NOT_SET_" + System.nanoTime();
        assertTrue(refusal(Map.of("secretEnv", missing)).contains(missing), "names the variable");
        assertTrue(ClusterSettings.parse(Map.of()).secret == null, "no secret by default");
    }

    @Test
    void tlsNeedsAWholeSetOfFilesAndOnlyOneKind() {
        assertTrue(refusal(Map.of("tlsKeyStore", "/k.p12")).startsWith("tlsKeyStorePassword= is invalid: set together"),
                refusal(Map.of("tlsKeyStore", "/k.p12")));
        assertTrue(refusal(Map.of("tlsKeyStore", "/k.p12", "tlsCertificate", "/c.pem")).contains("not both"));
        assertTrue(!ClusterSettings.parse(Map.of()).describe().contains("tls"), "unset TLS attributes are not listed");
    }
}
