package io.flotilla.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.ClusterSecret;
import io.flotilla.NodeConfig;
import io.flotilla.testing.CapturingTransport;
import io.flotilla.testing.FixedMembership;
import io.flotilla.testing.ManualClock;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** At start the node says, once, what it trusts; never the secret. */
class TrustLogTest {
    private static final String SECRET = "a-secret-never-logged-1";
    private final Logger logger = Logger.getLogger(DefaultNode.class.getName());
    private final List<LogRecord> records = new CopyOnWriteArrayList<>();
    private final Handler handler = new Handler() {
        @Override
        public void publish(LogRecord r) {
            records.add(r);
        }

        @Override
        public void flush() {
            // Records are kept in memory.
        }

        @Override
        public void close() {
            // Nothing to release.
        }
    };

    @BeforeEach
    void capture() {
        logger.addHandler(handler);
    }

    @AfterEach
    void release() {
        logger.removeHandler(handler);
    }

    private void startAndClose(NodeConfig config) {
        ManualClock clock = new ManualClock();
        DefaultNode node = new DefaultNode(config, clock, clock, new CapturingTransport(),
                new FixedMembership(), Runnable::run);
        node.start();
        node.close();
    }

    private List<String> lines(Level level, String containing) {
        return records.stream().filter(r -> r.getLevel().equals(level))
                .map(r -> String.valueOf(r.getMessage())).filter(m -> m.contains(containing)).toList();
    }

    @Test
    void withoutSecretOrTlsOneWarningSaysTheNetworkIsTrusted() {
        startAndClose(NodeConfig.builder().clusterName("t").build());
        List<String> warnings = lines(Level.WARNING, "trusts its network");
        assertEquals(1, warnings.size(), () -> "records: " + records.stream().map(LogRecord::getMessage).toList());
        assertTrue(warnings.get(0).contains("docs/security.md"));
    }

    @Test
    void withASecretNoWarningAndTheValueIsNeverLogged() {
        startAndClose(NodeConfig.builder().clusterName("t").secret(ClusterSecret.fromString(SECRET)).build());
        assertTrue(lines(Level.WARNING, "trusts its network").isEmpty());
        assertEquals(1, lines(Level.INFO, "heartbeats and connections are authenticated").size());
        assertFalse(records.stream().anyMatch(r -> String.valueOf(r.getMessage()).contains(SECRET)));
    }
}
