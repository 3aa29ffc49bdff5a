package io.flotilla.replication;

import io.flotilla.spi.Clock;
import java.util.concurrent.CompletionStage;

/**
 * What a {@link PrimarySession} needs of the engine, and nothing more: the codec and configuration its values are
 * encoded with, the clock of its access times, the meters it counts on, and the two calls that leave the session
 * (its replication and its rename). The session never sees the engine; the engine reaches the session only through
 * its package-private methods.
 *
 * <p>Threading: every method is safe from any thread; a session calls them holding its own lock, except {@link
 * #replicate} and {@link #rename}, which take the locks they need themselves.
 */
interface PrimaryHost {
    AttributeCodec codec();

    ReplicationConfig config();

    Clock clock();

    ReplicationMeters meters();

    /** A WARN line, at most one per {@code key} every 10 s (attribute values: one per class). */
    void warn(String key, String message);

    /** Counts and logs (rate-limited) a value not replicated ({@code onUnserializable=SKIP}). */
    void skipped(String name, AttributeCodecException e);

    /** Sends the session's changes since its last replication; see {@link ReplicationEngine#replicate(String)}. */
    CompletionStage<Void> replicate(PrimarySession ps);

    /** Renames the session here and, with its next delta, on its holders. */
    void rename(PrimarySession ps, String newId);
}
