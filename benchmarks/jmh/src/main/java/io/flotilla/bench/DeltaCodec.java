package io.flotilla.bench;

import java.util.Map;

/**
 * How one implementation turns a session change into bytes on the wire and back, for the delta codec
 * benchmarks ({@link AbstractDeltaCodecBenchmark}) and {@link WireSizes}.
 *
 * <p>Threading: an instance is used by one thread at a time.
 */
interface DeltaCodec {

    /** {@code stock} or {@code flotilla}: the column of the results table. */
    String impl();

    /**
     * Records that the given attributes were set in session {@link DeltaCase#SESSION_ID} and returns the bytes
     * the node would write to the socket for it, framing included.
     */
    byte[] encode(Map<String, Object> attributes) throws Exception;

    /**
     * Decodes bytes from {@link #encode} as the receiving node would, up to the decoded change ready to
     * apply to the session (not applied). Returns the count of attribute changes found.
     */
    int decode(byte[] wire) throws Exception;
}
