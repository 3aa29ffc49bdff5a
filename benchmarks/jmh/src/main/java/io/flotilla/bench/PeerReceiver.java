package io.flotilla.bench;

/**
 * The receiving node of a two-node channel benchmark, run inside the receiver JVM by {@link ReceiverMain}.
 *
 * <p>An implementation listens on 127.0.0.1 only, on a port free at run time, and hands every benchmark
 * message it receives to the {@link OrderTracker}. The stock side is {@link StockTribesReceiver}; the Flotilla
 * side adds its own and names it in {@link ReceiverMain#create(String, int)}.
 *
 * <p>Threading: {@link #start} and {@link #close} are called once each, from the receiver's main thread.
 */
interface PeerReceiver {

    /**
     * Starts the node and returns its address for the sender as {@code "<port> <token>"}; the token is
     * whatever the sender needs besides the port to address this node (stock: the member's unique id in hex).
     */
    String start(OrderTracker tracker) throws Exception;

    /** Stops the node; bounded in time. */
    void close() throws Exception;
}
