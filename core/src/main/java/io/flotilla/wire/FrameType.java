package io.flotilla.wire;

/**
 * The kinds of frame on a Flotilla connection, with their wire codes.
 */
public enum FrameType {
    /** Opens a connection: payload is the cluster name, the sender's member and, with a secret, its nonce. */
    HELLO(1),
    /** Accepts a {@link #HELLO}: payload is the receiver's member (and its nonce and proof with a secret). */
    HELLO_ACK(2),
    /** Refuses a connection (wrong cluster, bad frame): payload is the reason as UTF-8; the sender then closes. */
    REFUSE(3),
    /** A message: id is the per-destination sequence number, window how far back the oldest unacked one is. */
    DATA(4),
    /** Cumulative receipt: id is the highest sequence number up to which everything was received. */
    ACK(5),
    /**
     * The outcome of a {@code PROCESSED} message: id is its sequence number, payload a status byte + error. Sent once
     * the message was delivered, so it also acknowledges receipt of everything up to that number, as an {@link #ACK}.
     */
    RESULT(6),
    /** The sender gave up on messages: id is the lowest sequence number it may still send (its low-water mark). */
    SYNC(7),
    /** Liveness check: id is a nonce the {@link #PONG} echoes. */
    PING(8),
    PONG(9),
    /** A clean close of the connection; with {@link Frame#FLAG_LEAVING} the peer leaves the cluster. */
    GOODBYE(10),
    /**
     * The connecting side's proof of the cluster secret, the last step of an authenticated handshake: payload is
     * its HMAC over the handshake transcript (see {@link Handshake}). Nothing else is accepted before it.
     */
    AUTH(11);

    private static final FrameType[] BY_CODE = new FrameType[12];

    static {
        for (FrameType t : values()) {
            BY_CODE[t.code] = t;
        }
    }

    private final int code;

    FrameType(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    /** The type for a wire code, or null when the code is unknown. */
    static FrameType ofCode(int code) {
        return code > 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
