package io.flotilla;

/**
 * Undoes a listener registration. Idempotent.
 *
 * <p>Threading: safe from any thread.
 */
@FunctionalInterface
public interface Registration extends AutoCloseable {
    @Override
    void close();
}
