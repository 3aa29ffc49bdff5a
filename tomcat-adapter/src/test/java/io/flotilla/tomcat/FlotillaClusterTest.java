package io.flotilla.tomcat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.catalina.LifecycleException;
import org.apache.catalina.LifecycleState;
import org.junit.jupiter.api.Test;

class FlotillaClusterTest {
    @Test
    void aBadAttributeFailsTheStartNamingAttributeValueAndWhatIsAllowed() {
        FlotillaCluster c = new FlotillaCluster();
        c.setReceiverPort("four thousand");
        LifecycleException e = assertThrows(LifecycleException.class, c::start);
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        assertEquals("receiverPort=four thousand is invalid: a whole number from 0 to 65535", root.getMessage());
        assertTrue(c.getState() == LifecycleState.FAILED || c.getState() == LifecycleState.STOPPED, c.getStateName());
    }

    @Test
    void settersOnlyStoreTextAndGettersShowDefaults() {
        FlotillaCluster c = new FlotillaCluster();
        assertEquals("228.0.0.4", c.getAddress()); // the default only: no socket (loopback rules)
        assertEquals("8", c.getChannelSendOptions());
        c.setChannelSendOptions("not checked yet");
        assertEquals("not checked yet", c.getChannelSendOptions());
        assertTrue(c.createManager("/app") instanceof FlotillaManager);
    }
}
