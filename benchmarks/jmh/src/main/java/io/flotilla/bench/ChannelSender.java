package io.flotilla.bench;

import io.flotilla.Delivery;

/**
 * The sending node of a two-node channel benchmark, run inside the JMH fork.
 *
 * <p>The abstract channel benchmarks ({@link AbstractChannelAsyncBenchmark},
 * {@link AbstractChannelSyncBenchmark}) own the receiver JVM, the payloads and the measurement; an
 * implementation only connects and sends, so stock and Flotilla run the same measurement code. The stock
 * side is {@link StockTribesSender}.
 *
 * <p>Threading: {@link #connect} and {@link #close} are called once each from JMH's setup/teardown thread;
 * {@link #send} is called from every benchmark thread at once.
 */
interface ChannelSender {

    /** The {@link ReceiverMain#create(String, int) kind} of receiver this sender talks to. */
    String receiverKind();

    /**
     * Starts the sending node on 127.0.0.1:{@code localPort} (the address the receiver was told to expect) and connects
     * it to the receiver on 127.0.0.1:{@code port}.
     */
    void connect(int port, String token, int localPort) throws Exception;

    /**
     * Sends one message to the receiver with the given guarantee: returns at once for
     * {@link Delivery#ASYNC}, after the receiver acknowledged receipt for {@link Delivery#RECEIVED}, and after
     * its listener returned for {@link Delivery#PROCESSED}. The sender owns {@code payload} afterwards.
     */
    void send(byte[] payload, Delivery delivery) throws Exception;

    /** Stops the sending node; bounded in time. */
    void close() throws Exception;
}
