package io.flotilla.bench;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A child JVM that dies before printing what the parent waits for fails the wait at once, and the failure carries
 * what the child printed on stderr: the official CI once waited six minutes for a joiner that had died at its start
 * with its cause on stderr, which CI's output did not show.
 */
class ChildJvmTest {
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aChildThatExitsFailsTheWaitAtOnceWithItsExitStatusAndStderr() {
        String missing = "io.flotilla.bench.NoSuchMainClass";
        try (ChildJvm child = ChildJvm.start("child", List.of(ChildJvm.javaBinary(), "-cp", ChildJvm.classPath(),
                missing))) {
            AssertionError e = assertThrows(AssertionError.class,
                    () -> child.await("READY", l -> l.startsWith("READY "), Duration.ofMinutes(10)));

            String m = e.getMessage();
            assertTrue(m.contains("before its output ended"), m);
            assertTrue(m.contains("exit status 1"), m);
            assertTrue(m.contains(missing), "the child's stderr (the JVM's 'could not find or load') in: " + m);
        }
    }
}
