package io.flotilla.membership;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.ConfigurationException;
import io.flotilla.MemberId;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Defaults are Tomcat's, and every bad value is refused with a message naming the attribute and the value. */
class ConfigTest {

    @Test
    void multicastDefaultsAreTomcatsExceptTheProbe() {
        MulticastMembershipConfig c = MulticastMembershipConfig.builder().build();
        assertEquals("228.0.0.4", c.address().getHostAddress()); // the default only: no socket (loopback rules)
        assertEquals(45564, c.port());
        assertEquals(Duration.ofMillis(500), c.frequency());
        assertEquals(Duration.ofMillis(3000), c.dropTime());
        // Above Linux's first SYN retransmission (1 s), so one lost SYN does not fail a probe; Tomcat has 1000 ms.
        assertEquals(Duration.ofMillis(1500), c.connectTimeout());
        assertTrue(c.connectTimeout().compareTo(Duration.ofSeconds(1)) > 0);
        assertEquals(3, c.probeAttempts());
        assertEquals(false, c.localLoopbackDisabled());
        assertEquals(new FailureDetection.DropTime(), c.failureDetection());
        assertTrue(c.fitsLargestMember(), "the largest member fits the default datagram size");
    }

    @Test
    void multicastRefusesBadValuesNamingThem() {
        assertMessage("address=127.0.0.1", () -> MulticastMembershipConfig.builder().address("127.0.0.1").build());
        assertMessage("address=some.host", () -> MulticastMembershipConfig.builder().address("some.host"));
        assertMessage("port=0", () -> MulticastMembershipConfig.builder().port(0).build());
        assertMessage("ttl=256", () -> MulticastMembershipConfig.builder().ttl(256).build());
        assertMessage("dropTime=PT0.5S", () -> MulticastMembershipConfig.builder()
                .dropTime(Duration.ofMillis(500)).build());
        assertMessage("frequency=PT0.001S", () -> MulticastMembershipConfig.builder()
                .frequency(Duration.ofMillis(1)).build());
        assertMessage("maxDatagramBytes=100", () -> MulticastMembershipConfig.builder().maxDatagramBytes(100)
                .build());
        assertMessage("probeAttempts=0", () -> MulticastMembershipConfig.builder().probeAttempts(0).build());
        assertMessage("phi.threshold=0.0", () -> FailureDetection.phiAccrual().withThreshold(0));
        assertMessage("phi.windowSize=1", () -> FailureDetection.phiAccrual().withWindowSize(1));
    }

    @Test
    void staticListParsesAddressesAndIds() {
        MemberId id = MemberId.random();
        StaticMembershipConfig c = StaticMembershipConfig.builder().member("10.0.0.1:4000", id + "@host-b:4001",
                "[::1]:4002").build();
        assertEquals(3, c.addresses().size());
        assertNull(c.addresses().get(0).id());
        assertEquals(new StaticAddress(id, "host-b", 4001), c.addresses().get(1));
        assertEquals(new StaticAddress(null, "::1", 4002), c.addresses().get(2));
        assertEquals(Duration.ofMillis(3000), c.dropTime());
        assertTrue(c.connectTimeout().compareTo(Duration.ofSeconds(1)) > 0, "above the first SYN retransmission");
        assertEquals(3, c.probeAttempts());
    }

    @Test
    void staticListRefusesBadEntries() {
        assertMessage("members=nohost", () -> StaticMembershipConfig.builder().member("nohost").build());
        assertMessage("members=h:0", () -> StaticMembershipConfig.builder().member("h:0").build());
        assertMessage("members=h:x", () -> StaticMembershipConfig.builder().member("h:x").build());
        assertMessage("members=zz@h:1", () -> StaticMembershipConfig.builder().member("zz@h:1").build());
        assertMessage("members=h:1", () -> StaticMembershipConfig.builder().member("h:1", "h:1").build());
        assertMessage("dropTime=PT0.1S", () -> StaticMembershipConfig.builder().dropTime(Duration.ofMillis(100))
                .build());
        assertMessage("probeAttempts=11", () -> StaticMembershipConfig.builder().probeAttempts(11).build());
    }

    private static void assertMessage(String start, Executable e) {
        ConfigurationException x = assertThrows(ConfigurationException.class, e);
        assertTrue(x.getMessage().startsWith(start), () -> "message: " + x.getMessage());
    }
}
