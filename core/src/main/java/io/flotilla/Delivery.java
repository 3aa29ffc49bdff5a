package io.flotilla;

import java.util.Locale;

/**
 * What a send waits for before its {@link java.util.concurrent.CompletionStage} completes. Every mode delivers
 * a sender's messages to each target in the order they were sent, and never delivers one twice.
 *
 * <p>Tomcat's {@code channelSendOptions} map onto these: 8 ({@code async}) is {@link #ASYNC}, 2 ({@code
 * use_ack}) is {@link #RECEIVED}, 6 ({@code use_ack | synchronized_ack}) is {@link #PROCESSED}.
 */
public enum Delivery {
    /** Queued for sending; the stage completes at once. Failures later are counted and logged, not reported. */
    ASYNC,
    /** The stage completes when every target acknowledged receipt (before its listener ran). */
    RECEIVED,
    /**
     * The stage completes when every target's listener returned. A listener that throws fails the stage with a
     * {@link RemoteProcessingException} naming the member and the remote error.
     */
    PROCESSED;

    /**
     * Maps Tomcat's {@code channelSendOptions} (a number or the names Tomcat accepts, such as {@code
     * "async"} or {@code "use_ack,synchronized_ack"}) to a delivery mode.
     *
     * @throws ConfigurationException for a value Flotilla cannot honour, naming the accepted ones
     */
    public static Delivery fromTomcatSendOptions(String value) {
        String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        int bits;
        if (v.matches("\\d+")) {
            bits = Integer.parseInt(v);
        } else {
            bits = 0;
            for (String name : v.split("[,\\s]+")) {
                switch (name) {
                    case "async", "asynchronous" -> bits |= 8;
                    case "use_ack", "ack" -> bits |= 2;
                    case "synchronized_ack", "sync" -> bits |= 4;
                    case "byte_message", "byte", "secure", "udp", "multicast" -> { }
                    default -> throw ConfigurationException.invalid("channelSendOptions", value,
                            "use 8 or async, 2 or use_ack, 6 or use_ack,synchronized_ack");
                }
            }
        }
        if ((bits & 8) != 0) {
            return ASYNC;
        }
        if ((bits & 4) != 0) {
            return PROCESSED;
        }
        if ((bits & 2) != 0) {
            return RECEIVED;
        }
        throw ConfigurationException.invalid("channelSendOptions", value,
                "use 8 or async, 2 or use_ack, 6 or use_ack,synchronized_ack");
    }
}
