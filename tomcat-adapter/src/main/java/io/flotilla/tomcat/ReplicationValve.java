package io.flotilla.tomcat;

import io.flotilla.replication.AttributeCodecException;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.ServletException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.ToDoubleFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.apache.catalina.Container;
import org.apache.catalina.Context;
import org.apache.catalina.Session;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ValveBase;
import org.apache.juli.logging.Log;
import org.apache.juli.logging.LogFactory;

/**
 * Hands the session changes of each request to the replication engine when the request completes (for an async
 * request: when its async cycle completes). Requests whose URI matches {@code filter} (by default static resources,
 * as stock) are not replicated. With {@code channelSendOptions} 2 or 6 the request waits for the replicas, bounded
 * by the cluster's {@code timeout}; a failure is logged and counted and, with {@code failRequestOnReplicationError}
 * (the default), answered with 500 while the response is not yet committed. In every mode, so is a session value that
 * cannot be encoded when the request ends ({@code onUnserializable=fail}: the value was accepted at {@code
 * setAttribute}, where only its class is checked), and a request for a session taken over here whose values do not
 * all decode ({@link SessionRestoreException}: 500 naming the attribute, whatever {@code
 * failRequestOnReplicationError} says, since serving the session without the value would lose it silently).
 *
 * <p>{@code primaryIndicator}: the request attribute {@code primaryIndicatorName} is set to whether the requested
 * session is owned here (after a failover: taken over here).
 *
 * <p>Threading: one instance serves all requests concurrently; its settings are for the configuration thread.
 */
public final class ReplicationValve extends ValveBase {
    private static final Log log = LogFactory.getLog(ReplicationValve.class);
    /** Stock's documented filter for static resources. */
    static final String DEFAULT_FILTER = ".*\\.gif|.*\\.js|.*\\.jpeg|.*\\.jpg|.*\\.png|.*\\.htm|.*\\.html|.*\\.css|.*\\.txt";

    private volatile UriFilter filter = UriFilter.of(Pattern.compile(DEFAULT_FILTER));
    private volatile boolean primaryIndicator;
    private volatile String primaryIndicatorName = "org.apache.catalina.ha.tcp.isPrimarySession";
    private final LongAdder requests = new LongAdder();
    private final LongAdder filtered = new LongAdder();
    private final LongAdder asyncRequests = new LongAdder();

    public ReplicationValve() {
        super(true);
    }

    /** Regex over the decoded request URI; matching requests are not replicated. Empty: replicate all. */
    public void setFilter(String regex) {
        if (regex == null || regex.isEmpty()) {
            filter = null;
            return;
        }
        try {
            filter = UriFilter.of(Pattern.compile(regex));
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("ReplicationValve filter=" + regex + " is invalid: a Java regular "
                    + "expression over the request URI (" + e.getDescription() + ")", e);
        }
    }

    public String getFilter() {
        UriFilter f = filter;
        return f == null ? "" : f.pattern().pattern();
    }

    public void setPrimaryIndicator(boolean v) {
        primaryIndicator = v;
    }

    public boolean getPrimaryIndicator() {
        return primaryIndicator;
    }

    public void setPrimaryIndicatorName(String v) {
        primaryIndicatorName = v;
    }

    public String getPrimaryIndicatorName() {
        return primaryIndicatorName;
    }

    public long getRequestCount() {
        return requests.sum();
    }

    public long getFilteredRequestCount() {
        return filtered.sum();
    }

    /** Requests whose session changes were handed to the engine, in the web applications below this valve. */
    public long getReplicatedRequestCount() {
        return (long) sumOverManagers(FlotillaManager::getReplications);
    }

    /** Replications that failed or timed out, in the web applications below this valve. */
    public long getFailedRequestCount() {
        return (long) sumOverManagers(FlotillaManager::getReplicationFailures);
    }

    /** The managers count these events ({@link TomcatMeters}); the valve only adds them up, never counts again. */
    private double sumOverManagers(ToDoubleFunction<FlotillaManager> figure) {
        double sum = 0;
        List<Container> todo = new ArrayList<>();
        if (getContainer() != null) {
            todo.add(getContainer());
        }
        while (!todo.isEmpty()) {
            Container c = todo.remove(todo.size() - 1);
            if (c instanceof Context ctx && ctx.getManager() instanceof FlotillaManager fm) {
                sum += figure.applyAsDouble(fm);
            }
            todo.addAll(List.of(c.findChildren()));
        }
        return sum;
    }

    public long getAsyncRequestCount() {
        return asyncRequests.sum();
    }

    @Override
    public void invoke(Request request, Response response) throws IOException, ServletException {
        FlotillaManager manager = manager(request);
        if (manager == null) {
            getNext().invoke(request, response);
            return;
        }
        requests.increment();
        boolean restored = true;
        try {
            if (primaryIndicator && request.getRequestedSessionId() != null) {
                Session s = FlotillaManager.localSession(() -> manager.findSession(request.getRequestedSessionId()));
                request.setAttribute(primaryIndicatorName, s != null ? Boolean.TRUE : Boolean.FALSE);
            }
            getNext().invoke(request, response);
        } catch (SessionRestoreException e) {
            restored = false;
            notRestored(response, e);
        } finally {
            if (restored) {
                afterRequest(manager, request, response);
            }
        }
    }

    /**
     * The requested session was taken over here but holds a value this node cannot decode: never served without it.
     * The engine counted the value once ({@code undecodableAttributes}) and logged the fix; the request gets 500
     * naming the attribute and class.
     */
    private static void notRestored(Response response, SessionRestoreException e) throws IOException {
        if (response.isCommitted()) {
            log.warn(e.getMessage() + " (the response was already committed)");
            return;
        }
        answer500(response, e.getMessage());
    }

    /**
     * A 500 with {@code text} as its plain-text body: this valve runs outside the Host's, so Tomcat's error page
     * would not be rendered.
     */
    private static void answer500(Response response, String text) throws IOException {
        response.reset();
        response.setStatus(500);
        response.setContentType("text/plain;charset=UTF-8");
        response.getWriter().print(text);
    }

    private void afterRequest(FlotillaManager manager, Request request, Response response) throws IOException {
        UriFilter f = filter;
        String uri = request.getDecodedRequestURI();
        if (f != null && uri != null && f.matches(uri)) {
            filtered.increment();
            return;
        }
        if (request.isAsync()) {
            asyncRequests.increment();
            Session s = FlotillaManager.localSession(() -> request.getSessionInternal(false));
            String id = s == null ? null : s.getIdInternal();
            request.getAsyncContext().addListener(new AsyncListener() {
                @Override
                public void onComplete(AsyncEvent event) {
                    replicateAtEndOfAsync(manager, request, id);
                }

                @Override
                public void onTimeout(AsyncEvent event) {
                    // onComplete follows
                }

                @Override
                public void onError(AsyncEvent event) {
                    // onComplete follows
                }

                @Override
                public void onStartAsync(AsyncEvent event) {
                    event.getAsyncContext().addListener(this);
                }
            });
            return;
        }
        Session session;
        try {
            session = FlotillaManager.localSession(() -> request.getSessionInternal(false));
        } catch (SessionRestoreException e) {
            return; // the request did not use the session; the next one that does is answered 500
        }
        if (session == null) {
            return;
        }
        long start = System.nanoTime();
        CompletableFuture<Void> f2 = manager.replicate(session).toCompletableFuture();
        boolean waits = manager.waitsForReplication();
        if (!waits && !f2.isCompletedExceptionally()) {
            return; // async: a value that cannot be encoded is the only failure known now
        }
        Throwable error = null;
        try {
            // The engine answers within timeout (the targets' acknowledgements) plus timeout again when a target
            // stopped answering and is being verified (it does not count once it left the view); 1 s of slack.
            f2.get(2 * manager.timeoutMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            error = e.getCause() == null ? e : e.getCause();
        } catch (TimeoutException e) {
            error = e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            error = e;
        }
        if (waits) {
            manager.waited(System.nanoTime() - start, error == null);
        }
        if (error == null) {
            return;
        }
        String msg = "replication of the session of " + request.getMethod() + " " + uri + " in "
                + manager.getNamespace() + " failed: " + error;
        if (!manager.failRequestOnReplicationError()) {
            log.warn(msg + " (the response stands: failRequestOnReplicationError=false)");
        } else if (response.isCommitted()) {
            log.warn(msg + " (the response was already committed; it stands)");
        } else {
            log.warn(msg + "; answering 500");
            answer500(response, error instanceof AttributeCodecException a
                    ? "session attribute '" + a.attributeName() + "' (" + a.className() + ") cannot be replicated"
                    : "session replication failed");
        }
    }

    private void replicateAtEndOfAsync(FlotillaManager manager, Request request, String id) {
        Session current;
        try {
            current = FlotillaManager.localSession(() -> request.getSessionInternal(false));
        } catch (IOException e) {
            current = null; // cannot happen: a local lookup does no I/O
        }
        String target = current != null ? current.getIdInternal() : id;
        manager.replicate(target).whenComplete((v, e) -> {
            if (e != null) {
                manager.replicationFailed();
                log.warn("replication at the end of an async request in " + manager.getNamespace() + " failed: " + e);
            }
        });
    }

    /**
     * The filter regex, matched against whole URIs; a regex that only lists extensions ({@code .*\.gif|.*\.js|...},
     * stock's documented form) is answered by a suffix check, which a profile of every request showed to matter.
     */
    record UriFilter(Pattern pattern, String[] suffixes) {
        private static final Pattern EXTENSION = Pattern.compile("\\.\\*\\\\\\.([A-Za-z0-9]+)");

        static UriFilter of(Pattern p) {
            String[] alternatives = p.pattern().split("\\|", -1);
            String[] suffixes = new String[alternatives.length];
            for (int i = 0; i < alternatives.length; i++) {
                Matcher m = EXTENSION.matcher(alternatives[i]);
                if (!m.matches()) {
                    return new UriFilter(p, null);
                }
                suffixes[i] = "." + m.group(1);
            }
            return new UriFilter(p, suffixes);
        }

        boolean matches(String uri) {
            if (suffixes == null || hasLineTerminator(uri)) {
                return pattern.matcher(uri).matches(); // '.' stops at line terminators; endsWith would not
            }
            for (String suffix : suffixes) {
                if (uri.endsWith(suffix)) {
                    return true;
                }
            }
            return false;
        }

        private static boolean hasLineTerminator(String s) {
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '\n' || c == '\r' || c == '\u0085' || c == '\u2028' || c == '\u2029') {
                    return true;
                }
            }
            return false;
        }
    }

    private static FlotillaManager manager(Request request) {
        Context ctx = request.getContext();
        return ctx != null && ctx.getManager() instanceof FlotillaManager fm ? fm : null;
    }
}
