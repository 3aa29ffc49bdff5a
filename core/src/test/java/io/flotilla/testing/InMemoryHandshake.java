package io.flotilla.testing;

import io.flotilla.Member;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameType;
import io.flotilla.wire.Handshake;
import io.flotilla.wire.Handshaker;
import io.flotilla.wire.Handshaker.Outcome;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Runs the real {@link Handshaker} of a connecting (or probing) side against an accepting one, with the frames
 * passed between them in order and at once, as a reliable connection would: what a transport does around the
 * machine (write each step's frames, send {@code REFUSE} on a refusal, answer {@code PING} once the accepting side is
 * established, stop a side once it refused or failed) and nothing else. {@link InMemoryNetwork} opens its
 * connections and runs its probes through it; tests use it to check the machine end to end without sockets.
 *
 * <p>Threading: stateless; each {@link #run} uses only its arguments.
 */
public final class InMemoryHandshake {
    /** Bound on the frames one handshake exchanges (a probe with a secret needs six). */
    private static final int MAX_FRAMES = 32;

    /**
     * How a handshake ended.
     *
     * @param connecting the connecting side's last step
     * @param accepting the accepting side's last step
     * @param reached the member the connecting side reached (its claim until established)
     * @param accepted the member the accepting side accepted (its claim until established; null before a HELLO)
     * @param transcript every frame delivered, in order, as {@code "c>HELLO"} (connecting to accepting) or
     *     {@code "a>HELLO_ACK"}
     */
    public record Result(Handshaker.Step connecting, Handshaker.Step accepting, Member reached, Member accepted,
            List<String> transcript) {
        /** Both sides established: a connection is open (for a probe: the peer answered). */
        public boolean established() {
            return connecting.outcome() == Outcome.ESTABLISHED && accepting.outcome() == Outcome.ESTABLISHED;
        }

        /**
         * Why it did not establish, as the connecting side saw it (its own refusal, or its failure, which quotes the
         * peer's refusal); null when established.
         */
        public String failure() {
            if (established()) {
                return null;
            }
            Handshaker.Step s = connecting.outcome() == Outcome.ESTABLISHED ? accepting : connecting;
            return switch (s.outcome()) {
                case REFUSED -> s.reason() + ": " + s.message();
                case FAILED -> s.message();
                default -> "handshake did not complete: " + connecting.outcome() + "/" + accepting.outcome();
            };
        }
    }

    private InMemoryHandshake() {
    }

    /** Runs {@code connecting} (a connecting or probing machine) against {@code accepting} until both stop. */
    public static Result run(Handshaker connecting, Handshaker accepting) {
        Deque<Frame> toAccepting = new ArrayDeque<>();
        Deque<Frame> toConnecting = new ArrayDeque<>();
        List<String> transcript = new ArrayList<>();
        Handshaker.Step c = connecting.start();
        queue(c, toAccepting);
        Handshaker.Step a = accepting.start();
        for (int i = 0; i < MAX_FRAMES; i++) {
            if (!toAccepting.isEmpty() && !stopped(a)) {
                Frame f = toAccepting.poll();
                transcript.add("c>" + f.type());
                if (accepting.established()) {
                    // Open: the transport answers pings; nothing else concerns the handshake.
                    if (f.type() == FrameType.PING) {
                        toConnecting.add(Frame.control(FrameType.PONG, f.messageId()));
                    }
                } else {
                    a = accepting.receive(f);
                    queue(a, toConnecting);
                }
            } else if (!toConnecting.isEmpty() && !stopped(c) && !connecting.established()) {
                Frame f = toConnecting.poll();
                transcript.add("a>" + f.type());
                c = connecting.receive(f);
                queue(c, toAccepting);
            } else {
                break;
            }
        }
        return new Result(c, a, connecting.remote(), accepting.remote(), List.copyOf(transcript));
    }

    private static boolean stopped(Handshaker.Step s) {
        return s.outcome() == Outcome.REFUSED || s.outcome() == Outcome.FAILED;
    }

    private static void queue(Handshaker.Step s, Deque<Frame> to) {
        to.addAll(s.send());
        if (s.outcome() == Outcome.REFUSED) {
            to.add(Handshake.refuse(s.reason() + ": " + s.message()));
        }
    }
}
