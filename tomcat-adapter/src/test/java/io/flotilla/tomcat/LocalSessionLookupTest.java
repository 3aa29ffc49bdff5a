package io.flotilla.tomcat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@link FlotillaManager#localSession}: the local-only mark is per thread, nests, and ends with the lookup. */
class LocalSessionLookupTest {

    @Test
    void theMarkHoldsDuringTheLookupOnlyOnItsThreadAndThroughANestedOne() throws IOException {
        assertFalse(FlotillaManager.lookingLocally());
        String inner = FlotillaManager.localSession(() -> {
            assertTrue(FlotillaManager.lookingLocally());
            boolean elsewhere = CompletableFuture.supplyAsync(FlotillaManager::lookingLocally)
                    .orTimeout(10, TimeUnit.SECONDS).join();
            assertFalse(elsewhere, "another thread is not marked");
            String nested = FlotillaManager.localSession(() -> "nested");
            assertTrue(FlotillaManager.lookingLocally(), "the outer lookup is still local after a nested one");
            return nested;
        });
        assertEquals("nested", inner);
        assertFalse(FlotillaManager.lookingLocally());
    }

    @Test
    void aLookupThatThrowsEndsTheMark() {
        assertThrows(IOException.class, () -> FlotillaManager.localSession(() -> {
            throw new IOException("store unavailable");
        }));
        assertFalse(FlotillaManager.lookingLocally());
    }
}
