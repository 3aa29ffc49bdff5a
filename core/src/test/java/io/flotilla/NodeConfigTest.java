package io.flotilla;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class NodeConfigTest {
    @Test
    void defaultsAreTomcatsWhereTomcatHasOne() {
        NodeConfig c = NodeConfig.builder().build();
        assertEquals(Duration.ofSeconds(3), c.timeout());
        assertEquals(1, c.maxRetryAttempts());
        assertEquals("flotilla", c.clusterName());
    }

    @Test
    void eachBadValueIsNamedWithWhatIsAllowed() {
        assertMessage("clusterName=a b is invalid", () -> NodeConfig.builder().clusterName("a b").build());
        assertMessage("timeout=PT0S is invalid", () -> NodeConfig.builder().timeout(Duration.ZERO).build());
        assertMessage("maxRetryAttempts=-1 is invalid: 0-100",
                () -> NodeConfig.builder().maxRetryAttempts(-1).build());
        assertMessage("maxFrameBytes=100 is invalid", () -> NodeConfig.builder().maxFrameBytes(100).build());
        assertMessage("maxQueuedBytes=1000 is invalid: at least maxFrameBytes",
                () -> NodeConfig.builder().maxQueuedBytes(1000).build());
        assertMessage("deliveryThreads=0 is invalid", () -> NodeConfig.builder().deliveryThreads(0).build());
        assertMessage("waitSpin=PT0.002S is invalid: a duration from 0 to 1000 microseconds",
                () -> NodeConfig.builder().waitSpin(Duration.ofMillis(2)).build());
        assertMessage("waitSpin=PT-0.000001S is invalid",
                () -> NodeConfig.builder().waitSpin(Duration.ofNanos(-1000)).build());
        assertMessage("memberPayload=513 bytes is invalid",
                () -> NodeConfig.builder().memberPayload(new byte[513]).build());
    }

    @Test
    void theMemberPayloadIsCopiedInAndOut() {
        byte[] p = {1, 2};
        NodeConfig c = NodeConfig.builder().memberPayload(p).build();
        p[0] = 9;
        assertEquals(1, c.memberPayload()[0]);
        c.memberPayload()[1] = 9;
        assertEquals(2, c.memberPayload()[1]);
        assertEquals(c.timeout(), c.toBuilder().build().timeout());
    }

    @Test
    void tomcatSendOptionsMapOntoDeliveryModes() {
        assertEquals(Delivery.ASYNC, Delivery.fromTomcatSendOptions("8"));
        assertEquals(Delivery.ASYNC, Delivery.fromTomcatSendOptions("async"));
        assertEquals(Delivery.RECEIVED, Delivery.fromTomcatSendOptions("2"));
        assertEquals(Delivery.RECEIVED, Delivery.fromTomcatSendOptions("use_ack"));
        assertEquals(Delivery.PROCESSED, Delivery.fromTomcatSendOptions("6"));
        assertEquals(Delivery.PROCESSED, Delivery.fromTomcatSendOptions("use_ack, synchronized_ack"));
        assertMessage("channelSendOptions=fast is invalid", () -> Delivery.fromTomcatSendOptions("fast"));
        assertMessage("channelSendOptions=0 is invalid", () -> Delivery.fromTomcatSendOptions("0"));
    }

    private static void assertMessage(String expectedStart, Executable e) {
        ConfigurationException ex = assertThrows(ConfigurationException.class, e);
        assertTrue(ex.getMessage().startsWith(expectedStart), ex.getMessage());
    }
}
