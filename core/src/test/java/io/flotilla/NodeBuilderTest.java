package io.flotilla;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.flotilla.testing.Await;
import io.flotilla.testing.CapturingTransport;
import io.flotilla.testing.FixedMembership;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class NodeBuilderTest {
    @Test
    @Timeout(30)
    void aNodeThatCannotBindFailsItsStartWithTheTransportsErrorAndReleasesWhatItOpened() {
        FlotillaException refused = new FlotillaException("cannot bind the receiver: free a port");
        CapturingTransport transport = new CapturingTransport(() -> {
            throw refused;
        });
        Node.Builder b = Node.builder().config(NodeConfig.builder().clusterName("unbound").build())
                .transport(() -> transport).membership(FixedMembership::new);
        FlotillaException e = assertThrows(FlotillaException.class, b::start);
        assertSame(refused, e);
        assertEquals(1, transport.binds.get());
        assertEquals(1, transport.closes.get(), "the transport is closed");
        Await.await("the node's threads end", Duration.ofSeconds(10), () -> Thread.getAllStackTraces().keySet()
                .stream().noneMatch(t -> t.isAlive() && t.getName().startsWith("flotilla-unbound-")));
    }
}
