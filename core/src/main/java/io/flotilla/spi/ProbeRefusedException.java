package io.flotilla.spi;

import io.flotilla.FlotillaException;

/**
 * How a {@link Transport#probe} fails when the probed address refused the connection: the host answered at once that
 * nothing listens on that port (a TCP reset to the connection request), so the member's receiver is gone. Unlike a
 * probe that timed out, a refusal cannot be a lost packet or a busy member, so one refusal is conclusive: a membership
 * service removes a suspect on it without further attempts. A transport uses it for a refused connection only, never
 * for a timeout, a reset after the connection was accepted, or an unreachable host.
 *
 * <p>Threading: immutable, safe to share.
 */
public final class ProbeRefusedException extends FlotillaException {
    private static final long serialVersionUID = 1L;

    public ProbeRefusedException(String message, Throwable cause) {
        super(message, cause);
    }

    /** True when {@code error} is, or was caused by, a refusal. */
    public static boolean isRefusal(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof ProbeRefusedException) {
                return true;
            }
        }
        return false;
    }
}
