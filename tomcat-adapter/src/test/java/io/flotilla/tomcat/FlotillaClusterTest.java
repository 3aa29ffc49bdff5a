package io.flotilla.tomcat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.LifecycleState;
import org.apache.catalina.core.StandardEngine;
import org.apache.catalina.core.StandardHost;
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
    void aFarmDeployerWithoutAHostConfigFailsTheStartBeforeAnyNodeStarts() {
        StandardEngine engine = new StandardEngine();
        engine.setName("e");
        engine.setDefaultHost("localhost");
        StandardHost host = new StandardHost();
        host.setName("localhost");
        engine.addChild(host);
        FlotillaCluster c = new FlotillaCluster();
        c.setSecret("farm-test-secret-0123456789abcdef");
        c.setContainer(engine);
        c.setClusterDeployer(new FarmDeployer());
        LifecycleException e = assertThrows(LifecycleException.class, c::start);
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        assertEquals("<Deployer> deploys through the HostConfig of Host localhost, which has none (server.xml's Hosts "
                + "have one; an embedded Tomcat needs host.addLifecycleListener(new HostConfig()))", root.getMessage());
        assertEquals(0, c.getMemberCount(), "no node was started");
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

    @Test
    void aTakenReceiverPortWithStaticMembershipFailsTheStartInsteadOfMovingWhereNoMemberLooks() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            FlotillaCluster c = new FlotillaCluster();
            c.setMembership("static");
            c.setStaticMembers("127.0.0.1:" + port + ",127.0.0.1:" + EmbeddedNode.freePort());
            c.setReceiverAddress("127.0.0.1");
            c.setReceiverPort(Integer.toString(port));
            c.setAutoBind("100"); // a stock Receiver's default: ignored with a static list
            c.setDropTime("300");
            c.setFrequency("100");
            try {
                LifecycleException e = assertThrows(LifecycleException.class, c::start);
                assertTrue(e.getMessage().startsWith("FlotillaCluster: receiverPort=" + port + " on 127.0.0.1 is taken"),
                        e.getMessage());
                assertTrue(e.getMessage().contains("change receiverPort here and in staticMembers on every node"),
                        e.getMessage());
                assertEquals(0, c.getMemberCount());
            } finally {
                c.destroy();
            }
        }
    }
}
