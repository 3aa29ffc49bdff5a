package io.flotilla.tomcat.e2e;

import java.util.ArrayDeque;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One browser: its own cookie jar (the {@code JSESSIONID}) and the last count the server acknowledged, so each
 * answer tells whether an acknowledged increment or the whole session was lost.
 *
 * <p>Threading: one thread at a time (each load thread owns its users); the counters are read after the threads
 * stopped.
 */
public final class SimulatedUser {
    private static final Pattern COUNTER = Pattern.compile("node=(\\S+) count=(\\d+) id=(\\S+)");

    private final String name;
    private final int homeNode;
    private volatile String sessionId;
    private int lastCount;
    private volatile long acked;
    private long lostIncrements;
    private int sessionsLost;
    private int errors;
    private String lastServedBy;
    private String lastError = "";
    /** The last {@link #HISTORY} answers, oldest first: a failed check shows the way there. */
    private final ArrayDeque<String> history = new ArrayDeque<>();
    private static final int HISTORY = 24;

    SimulatedUser(String name, int homeNode) {
        this.name = name;
        this.homeNode = homeNode;
    }

    public String name() {
        return name;
    }

    /** The node a new session of this user is sent to (the balancer's round robin). */
    public int homeNode() {
        return homeNode;
    }

    /** The {@code JSESSIONID} cookie, or null before the first answer. */
    public String sessionId() {
        return sessionId;
    }

    /** The route suffix of the session id ({@code node2} of {@code ABC.node2}), or null. */
    public String route() {
        if (sessionId == null) {
            return null;
        }
        int dot = sessionId.indexOf('.');
        return dot < 0 ? null : sessionId.substring(dot + 1);
    }

    void cookie(String id) {
        sessionId = id;
    }

    /** The last count this user saw acknowledged. */
    public int lastCount() {
        return lastCount;
    }

    public long acked() {
        return acked;
    }

    public long lostIncrements() {
        return lostIncrements;
    }

    public int sessionsLost() {
        return sessionsLost;
    }

    public int errors() {
        return errors;
    }

    public String lastError() {
        return lastError;
    }

    public String lastServedBy() {
        return lastServedBy;
    }

    /**
     * Books an answer of {@code /counter}: a count below the last acknowledged one plus one means acknowledged
     * increments were lost; another session (other id before the route) means the session was lost.
     */
    void counted(int status, String body) {
        Matcher m = COUNTER.matcher(body);
        if (history.size() == HISTORY) {
            history.removeFirst();
        }
        boolean ok = status == 200 && m.find();
        history.addLast(ok ? m.group(1) + ":" + m.group(2) + (m.group(3).equals(sessionId) ? "" : " id=" + m.group(3))
                : String.valueOf(status));
        if (!ok) {
            errors++;
            lastError = status + " " + body.substring(0, Math.min(200, body.length()));
            return;
        }
        String id = m.group(3);
        int count = Integer.parseInt(m.group(2));
        lastServedBy = m.group(1);
        if (lastCount > 0 && !base(id).equals(base(sessionId))) {
            sessionsLost++;
            lostIncrements += lastCount;
        } else if (count < lastCount + 1) {
            lostIncrements += lastCount + 1 - count;
        }
        sessionId = id;
        lastCount = count;
        acked++;
    }

    /** Takes {@code count} as acknowledged without booking (after increments made outside this object). */
    void resync(int count) {
        lastCount = count;
    }

    /** The session id without its {@code .route} suffix; empty for null. */
    static String base(String id) {
        if (id == null) {
            return "";
        }
        int dot = id.indexOf('.');
        return dot < 0 ? id : id.substring(0, dot);
    }

    static Matcher parse(String body) {
        Matcher m = COUNTER.matcher(body);
        return m.find() ? m : null;
    }

    @Override
    public String toString() {
        return name + "(" + sessionId + ", count " + lastCount + "; answers " + String.join(", ", history) + ")";
    }
}
